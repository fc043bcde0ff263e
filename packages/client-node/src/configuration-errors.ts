import { InvalidInputError, PodStorageError } from '@podstorage/core';
import type { KubeConfigLike, UserLike } from './client-library.js';

// client-node reports a configuration that can never work as errors no different from a network
// failure's (a plain `Error`, a spawn error), which the engine would retry until the operation's
// timeout. These turn the ones that are final into errors that say so and name what is wrong.

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const quoted = (names: readonly string[]) => names.map((name) => JSON.stringify(name)).join(', ');

/**
 * Throws an {@link InvalidInputError} when the KubeConfig's current context is unknown (naming it and
 * listing the known ones) or names a cluster it does not define: client-node would fail every call with
 * `No active cluster!`. Stand-ins without `getContexts` are checked for a current cluster only.
 */
export function checkCurrentContext(kubeConfig: KubeConfigLike): void {
  const name = kubeConfig.getCurrentContext?.();
  const contexts = kubeConfig.getContexts?.();
  const argument = 'kubeConfig current context';
  if (contexts !== undefined) {
    const context = contexts.find((candidate) => candidate.name === name);
    if (context === undefined) {
      throw new InvalidInputError(
        argument,
        name,
        contexts.length === 0
          ? 'the kubeConfig has no contexts (load it first, such as with loadFromDefault())'
          : `the kubeConfig has no context of that name; its contexts: ${quoted(contexts.map((each) => each.name))}`,
      );
    }
    if (kubeConfig.getCurrentCluster() === null) {
      throw new InvalidInputError(
        argument,
        name,
        `it names cluster ${JSON.stringify(context.cluster)}, which the kubeConfig does not define`,
      );
    }
  }
  if (kubeConfig.getCurrentCluster() === null) {
    throw new InvalidInputError(argument, name, 'the kubeConfig has no cluster for it');
  }
}

/** The exec plugin client-node runs for `user`: `user.exec`, else an auth provider's `config.exec`. */
function execOf(user: UserLike | null | undefined): Record<string, unknown> | undefined {
  if (isRecord(user?.exec)) return user.exec;
  const provider = user?.authProvider;
  if (isRecord(provider) && isRecord(provider.config) && isRecord(provider.config.exec)) {
    return provider.config.exec;
  }
  return undefined;
}

/**
 * What a failure of the KubeConfig's authentication step becomes: a non-retryable `PodStorageError`
 * naming the command when the user's exec plugin is not installed, not executable, exits non-zero or
 * prints something that is not JSON; anything else as it is.
 */
export function authenticationError(error: unknown, user: UserLike | null | undefined): unknown {
  const exec = execOf(user);
  if (exec === undefined || typeof exec.command !== 'string' || !(error instanceof Error)) return error;
  const command = exec.command;
  const plugin = `exec plugin ${JSON.stringify(command)} of user ${JSON.stringify(user?.name)}`;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof syscall === 'string' && syscall.startsWith('spawn')) {
    if (code === 'ENOENT') {
      const hint =
        typeof exec.installHint === 'string' && exec.installHint !== '' ? `\n${exec.installHint}` : '';
      return new PodStorageError(`${plugin}: command not found: ${command}${hint}`, {
        cause: error,
        retryable: false,
      });
    }
    if (code === 'EACCES') {
      return new PodStorageError(`${plugin}: command is not executable: ${command}`, {
        cause: error,
        retryable: false,
      });
    }
    // Other spawn failures (EAGAIN, EMFILE: a machine out of processes or files) may pass.
    return error;
  }
  // client-node rejects with `Error(stderr)` when the plugin exits non-zero, and with JSON.parse's
  // SyntaxError (which quotes the output) when it prints no JSON: told apart from other errors by where
  // they were made, its exec_auth module. Neither message is passed on, nor kept as the cause: plugins
  // print credentials and other secrets. Where the stack does not say (a bundled client), the error is
  // left as it is.
  if (code === undefined && /exec_auth/.test(error.stack ?? '')) {
    const problem =
      error instanceof SyntaxError
        ? 'printed output that is not JSON (an ExecCredential was expected)'
        : 'exited with an error (client-node does not say which); its output is left out, as it may hold secrets: run it by hand to see it';
    return new PodStorageError(`${plugin} ${problem}`, { retryable: false });
  }
  return error;
}
