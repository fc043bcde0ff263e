import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve as resolvePath, sep } from 'node:path';
import { InvalidInputError, PodStorageError } from '@podstorage/core';
import { parse as parseYaml } from 'yaml';

/**
 * What {@link loadKubeConfig} needs of a `KubeConfig` class of `@kubernetes/client-node` 1.x or 2.x
 * (passed in, so that the copy your program uses is the one loaded).
 */
export interface LoadableKubeConfig {
  loadFromString(text: string): void;
  loadFromCluster(): void;
  setCurrentContext(name: string): void;
}

/** Options of {@link loadKubeConfig}; each one has kubectl's flag or variable of the same meaning. */
export interface LoadKubeConfigOptions {
  /** One kubeconfig file, read alone (`kubectl --kubeconfig`). Default: the files of `KUBECONFIG`, else `~/.kube/config`. */
  readonly kubeconfig?: string;
  /** The context to use instead of the files' `current-context` (`kubectl --context`). */
  readonly context?: string;
  /** The environment `KUBECONFIG` and `KUBERNETES_SERVICE_HOST` are read from. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where `~/.kube/config` is. Default: `os.homedir()`. */
  readonly homeDirectory?: string;
  /** What relative paths in `KUBECONFIG` and `kubeconfig` are relative to. Default: `process.cwd()`. */
  readonly workingDirectory?: string;
  /** Whether standard input is a terminal exec plugins may prompt through. Default: `process.stdin.isTTY`. */
  readonly stdinIsTerminal?: boolean;
}

type Entry = Record<string, unknown>;

const isRecord = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The kubeconfig files kubectl would read, in order (relative paths against the working directory). */
function kubeconfigFiles(options: LoadKubeConfigOptions, env: LoadKubeConfigOptions['env'] & {}) {
  const cwd = options.workingDirectory ?? process.cwd();
  if (options.kubeconfig !== undefined) return [resolvePath(cwd, options.kubeconfig)];
  const variable = env.KUBECONFIG;
  if (variable !== undefined && variable.trim() !== '') {
    const listed = [
      ...new Set(
        variable
          .split(delimiter)
          .filter((path) => path.trim() !== '')
          .map((path) => resolvePath(cwd, path)),
      ),
    ];
    // kubectl skips files of KUBECONFIG that do not exist (clientcmd loader.go), and so do we.
    const present = listed.filter(isFile);
    if (present.length === 0) {
      throw new InvalidInputError('KUBECONFIG', variable, `none of its files exists (${listed.join(', ')})`);
    }
    return present;
  }
  const home = join(options.homeDirectory ?? homedir(), '.kube', 'config');
  return isFile(home) ? [home] : [];
}

function readKubeconfig(file: string): Entry {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InvalidInputError(
      'kubeconfig',
      file,
      code === 'ENOENT' ? 'the file does not exist' : `it cannot be read (${code ?? 'error'})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { uniqueKeys: false });
  } catch {
    // The parser's message quotes the source line, which may hold a token: say where only.
    throw new InvalidInputError('kubeconfig', file, 'it is not valid YAML');
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed))
    throw new InvalidInputError('kubeconfig', file, 'it is not a kubeconfig (not a map)');
  return parsed;
}

const absolute = (directory: string, path: unknown): unknown =>
  typeof path === 'string' && path !== '' && !isAbsolute(path) ? join(directory, path) : path;

/**
 * Resolves an entry's relative paths against its file's directory, as client-go's ResolveLocalPaths
 * does: certificate files, `tokenFile`, and an exec command that has a directory part (a bare name is
 * looked up on PATH).
 */
function resolvePaths(list: 'clusters' | 'users' | 'contexts', value: Entry, directory: string): Entry {
  if (list === 'clusters') {
    return { ...value, 'certificate-authority': absolute(directory, value['certificate-authority']) };
  }
  if (list !== 'users') return value;
  const user: Entry = {
    ...value,
    'client-certificate': absolute(directory, value['client-certificate']),
    'client-key': absolute(directory, value['client-key']),
  };
  // kubectl's key is tokenFile; client-node reads only token-file (once, at load).
  const tokenFile = value.tokenFile ?? value['token-file'];
  if (typeof tokenFile === 'string' && tokenFile !== '' && value.token === undefined) {
    user['token-file'] = absolute(directory, tokenFile);
  }
  if (isRecord(value.exec) && typeof value.exec.command === 'string' && value.exec.command.includes(sep)) {
    user.exec = { ...value.exec, command: absolute(directory, value.exec.command) };
  }
  for (const key of Object.keys(user)) if (user[key] === undefined) delete user[key];
  return user;
}

/** The kubeconfig files merged as kubectl merges them: the first file to define a name wins. */
function mergeFiles(files: readonly string[]): Entry {
  const merged = {
    clusters: new Map<string, Entry>(),
    users: new Map<string, Entry>(),
    contexts: new Map<string, Entry>(),
  };
  const keys = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;
  let currentContext: string | undefined;
  for (const file of files) {
    const config = readKubeconfig(file);
    for (const list of ['clusters', 'users', 'contexts'] as const) {
      const entries = config[list];
      if (entries === undefined || entries === null) continue;
      if (!Array.isArray(entries))
        throw new InvalidInputError(`kubeconfig ${list}`, file, `its ${list} is not a list`);
      for (const entry of entries) {
        if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '') {
          throw new InvalidInputError(`kubeconfig ${list}`, file, `an entry of its ${list} has no name`);
        }
        if (merged[list].has(entry.name)) continue;
        const value = isRecord(entry[keys[list]]) ? (entry[keys[list]] as Entry) : {};
        merged[list].set(entry.name, {
          name: entry.name,
          [keys[list]]: resolvePaths(list, value, dirname(file)),
        });
      }
    }
    // The first file that sets a current context decides it (clientcmd loader.go merges non-map
    // fields last-file-first, so the first file's value is the one left).
    const current = config['current-context'];
    if (currentContext === undefined && typeof current === 'string' && current !== '')
      currentContext = current;
  }
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [...merged.clusters.values()],
    users: [...merged.users.values()],
    contexts: [...merged.contexts.values()],
    ...(currentContext === undefined ? {} : { 'current-context': currentContext }),
  };
}

/** The user of the merged configuration's current context. */
function currentUser(config: Entry, context: string | undefined): Entry | undefined {
  const contexts = config.contexts as Entry[];
  const chosen = contexts.find((entry) => entry.name === context);
  const userName = isRecord(chosen?.context) ? chosen.context.user : undefined;
  const user = (config.users as Entry[]).find((entry) => entry.name === userName);
  return isRecord(user?.user) ? { name: user.name, ...user.user } : undefined;
}

/**
 * Whether the user's exec plugin runs with this process's terminal, by client-go's rules
 * (plugin/pkg/client/auth/exec and clientcmd validation): a v1 plugin must say its `interactiveMode`;
 * `Always` needs a terminal; `IfAvailable` uses one when there is one. `undefined`: no exec plugin.
 */
export function execInteractivity(user: Entry | undefined, stdinIsTerminal: boolean): boolean | undefined {
  const exec = user?.exec;
  if (!isRecord(exec)) return undefined;
  const name = String(user?.name);
  const mode = exec.interactiveMode ?? undefined;
  if (mode === undefined && exec.apiVersion === 'client.authentication.k8s.io/v1') {
    throw new PodStorageError(
      `kubeconfig user ${JSON.stringify(name)}: interactiveMode must be specified for ${name} to use exec authentication plugin (Never, IfAvailable or Always)`,
    );
  }
  switch (mode ?? 'IfAvailable') {
    case 'Never':
      return false;
    case 'IfAvailable':
      return stdinIsTerminal;
    case 'Always':
      if (!stdinIsTerminal) {
        throw new PodStorageError(
          `exec plugin ${JSON.stringify(exec.command)} of user ${JSON.stringify(name)}: exec plugin cannot support interactive mode: standard input is not a terminal (its interactiveMode is Always)`,
        );
      }
      return true;
    default:
      throw new InvalidInputError(
        'kubeconfig exec interactiveMode',
        String(mode),
        `invalid interactiveMode for ${name}: use Never, IfAvailable or Always`,
      );
  }
}

type Spawn = (command: string, args: readonly string[] | undefined, options: SpawnOptions) => ChildProcess;

/** KubeConfigs this module loaded: their exec plugins were checked against the terminal it was told of. */
const loadedAsKubectl = new WeakSet<object>();

/** Whether {@link loadKubeConfig} made this KubeConfig (and so already applied kubectl's exec rules). */
export function isLoadedAsKubectl(kubeConfig: object): boolean {
  return loadedAsKubectl.has(kubeConfig);
}

/**
 * Makes client-node's exec authenticator of this KubeConfig run plugins as kubectl does: with
 * `KUBERNETES_EXEC_INFO` (client-node sets none) and, when interactive, with this process's terminal
 * for the plugin's prompt (client-node always pipes stdin). Only this KubeConfig is touched.
 */
function runPluginsAsKubectl(kubeConfig: object, apiVersion: unknown, interactive: boolean): void {
  const authenticators = (kubeConfig as { authenticators?: unknown }).authenticators;
  if (!Array.isArray(authenticators)) return;
  for (const authenticator of authenticators) {
    const exec = authenticator as { execFn?: unknown };
    if (typeof exec.execFn !== 'function') continue;
    const execInfo = JSON.stringify({
      kind: 'ExecCredential',
      apiVersion: typeof apiVersion === 'string' ? apiVersion : 'client.authentication.k8s.io/v1beta1',
      spec: { interactive },
    });
    const run: Spawn = (command, args, options) => {
      const child = spawn(command, [...(args ?? [])], {
        ...options,
        env: { ...(options.env ?? process.env), KUBERNETES_EXEC_INFO: execInfo },
        // client-node reads the plugin's stdout and stderr itself: stdin is the terminal's, and the
        // prompt the plugin writes to stderr is copied to ours.
        ...(interactive ? { stdio: ['inherit', 'pipe', 'pipe'] } : {}),
      });
      if (interactive) child.stderr?.pipe(process.stderr, { end: false });
      return child;
    };
    exec.execFn = run;
  }
}

/**
 * Loads a `@kubernetes/client-node` KubeConfig as kubectl would, for {@link createClientNodeTransport}:
 * the files of `KUBECONFIG` merged (the first file to define a cluster, user or context wins, and the
 * first to set `current-context`; missing files skipped) where client-node's `loadFromDefault` refuses a
 * name defined twice; relative certificate, token and exec command paths resolved against the file they
 * are in; exec plugins run by kubectl's `interactiveMode` rules. Inside a pod with no kubeconfig, the
 * in-cluster configuration. Throws an error naming the file, context or field when the configuration
 * cannot work.
 *
 * @example
 * ```ts
 * import { KubeConfig } from '@kubernetes/client-node';
 * import { createClientNodeTransport, loadKubeConfig } from '@podstorage/client-node';
 *
 * const transport = createClientNodeTransport({ kubeConfig: loadKubeConfig(KubeConfig) });
 * ```
 */
export function loadKubeConfig<K extends LoadableKubeConfig>(
  KubeConfig: new () => K,
  options: LoadKubeConfigOptions = {},
): K {
  const env = options.env ?? process.env;
  const kubeConfig = new KubeConfig();
  const files = kubeconfigFiles(options, env);
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST) {
      kubeConfig.loadFromCluster();
      return kubeConfig;
    }
    throw new PodStorageError(
      `no kubeconfig: KUBECONFIG is not set, ${join(options.homeDirectory ?? homedir(), '.kube', 'config')} does not exist, and this is not a pod (KUBERNETES_SERVICE_HOST is not set)`,
    );
  }
  const config = mergeFiles(files);
  const context = options.context ?? (config['current-context'] as string | undefined);
  if (context === undefined) {
    throw new PodStorageError(
      `no current context: none of ${files.join(', ')} sets current-context; pass a context`,
    );
  }
  if (!(config.contexts as Entry[]).some((entry) => entry.name === context)) {
    const known = (config.contexts as Entry[]).map((entry) => JSON.stringify(entry.name)).join(', ');
    throw new InvalidInputError(
      'kubeconfig context',
      context,
      `no such context in ${files.join(', ')} (its contexts: ${known || 'none'})`,
    );
  }
  const user = currentUser(config, context);
  const interactive = execInteractivity(user, options.stdinIsTerminal ?? process.stdin.isTTY === true);
  kubeConfig.loadFromString(JSON.stringify(config));
  kubeConfig.setCurrentContext(context);
  if (interactive !== undefined && isRecord(user?.exec))
    runPluginsAsKubectl(kubeConfig, user.exec.apiVersion, interactive);
  loadedAsKubectl.add(kubeConfig);
  return kubeConfig;
}
