import { readFileSync } from 'node:fs';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ExecSettings, loadClusterConfig } from './cluster-config.js';
import { CredentialError } from './errors.js';
import { ExecCredentialPlugin } from './exec-credential.js';
import { EXEC_PLUGIN_SOURCE, execKubeconfig, temporaryDirectory, waitFor } from './test-support.js';
import { createUndiciTransport } from './undici-transport.js';

let directory: ReturnType<typeof temporaryDirectory>;
let script: string;
beforeEach(() => {
  directory = temporaryDirectory();
  script = directory.write('plugin.mjs', EXEC_PLUGIN_SOURCE);
});
afterEach(() => directory.remove());

function settings(mode: string, extra: Partial<ExecSettings> = {}): ExecSettings {
  return {
    command: process.execPath,
    args: [script, mode],
    env: {},
    apiVersion: 'client.authentication.k8s.io/v1',
    installHint: undefined,
    interactiveMode: 'IfAvailable',
    cluster: undefined,
    user: 'exec-user',
    ...extra,
  };
}

function runs(): { mode: string; pid: number; args: string[]; env?: string; info: string }[] {
  try {
    return readFileSync(`${directory.path}/runs.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

const SECRETS = ['exec-secret', 'key-secret'];

async function credentialFailure(plugin: ExecCredentialPlugin): Promise<CredentialError> {
  const error = await plugin.credential().then(
    () => {
      throw new Error('expected the plugin to fail');
    },
    (reason: unknown) => reason,
  );
  expect(CredentialError.isInstance(error), `a CredentialError, got ${String(error)}`).toBe(true);
  for (const secret of SECRETS) expect((error as Error).message).not.toContain(secret);
  return error as CredentialError;
}

describe('exec credential plugins', () => {
  it('runs the command without a shell, with the args, env and KUBERNETES_EXEC_INFO of the kubeconfig', async () => {
    const plugin = new ExecCredentialPlugin(
      settings('token', {
        args: [script, 'token', 'a b', '$(echo injected)'],
        env: { PLUGIN_ENV: 'from-kubeconfig', PLUGIN_TOKEN: 'exec-secret-1' },
        cluster: { server: 'https://a.example' },
      }),
    );
    const credential = await plugin.credential();
    expect(credential.token?.reveal()).toBe('exec-secret-1');
    const [run] = runs();
    // Arguments arrive as given: no shell split or expanded them.
    expect(run?.args).toEqual(['a b', '$(echo injected)']);
    expect(run?.env).toBe('from-kubeconfig');
    expect(JSON.parse(run?.info ?? '{}')).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1',
      spec: { interactive: false, cluster: { server: 'https://a.example' } },
    });
  });

  it('interactiveMode as client-go: Always needs a terminal; with one, Always and IfAvailable tell the plugin it may prompt', async () => {
    // client-go plugin/pkg/client/auth/exec: kubectl's words when stdin is not a terminal.
    expect(
      () =>
        new ExecCredentialPlugin(settings('token', { interactiveMode: 'Always' }), {
          stdinIsTerminal: false,
        }),
    ).toThrow('exec plugin cannot support interactive mode: standard input is not a terminal');
    for (const [mode, terminal, interactive] of [
      ['Always', true, true],
      ['IfAvailable', true, true],
      ['IfAvailable', false, false],
      ['Never', true, false],
    ] as const) {
      const plugin = new ExecCredentialPlugin(settings('token', { interactiveMode: mode }), {
        stdinIsTerminal: terminal,
      });
      expect((await plugin.credential()).token?.reveal()).toBe('exec-secret-token');
      expect(JSON.parse(runs().at(-1)?.info ?? '{}').spec.interactive, `${mode}, terminal ${terminal}`).toBe(
        interactive,
      );
    }
  });

  it('caches the credential until its expirationTimestamp, and shares one run between concurrent callers', async () => {
    let now = Date.now();
    const expiry = new Date(now + 60_000).toISOString();
    const plugin = new ExecCredentialPlugin(settings('token', { env: { PLUGIN_EXPIRY: expiry } }), {
      now: () => now,
    });
    await Promise.all([plugin.credential(), plugin.credential(), plugin.credential()]);
    await plugin.credential();
    expect(plugin.runs).toBe(1);
    now += 59_000;
    await plugin.credential();
    expect(plugin.runs).toBe(1);
    now += 2_000;
    // Expired: the plugin runs again (and its fixed answer is now stale, which is refused).
    await expect(plugin.credential()).rejects.toThrow('already expired');
    expect(plugin.runs).toBe(2);
    now -= 61_000;
    await plugin.refresh();
    await plugin.credential();
    expect(plugin.runs).toBe(3);
  });

  it('a caller that aborts leaves the shared run to the others: they get its credential, not the abort', async () => {
    const plugin = new ExecCredentialPlugin(settings('token-when-released'));
    const first = new AbortController();
    const second = new AbortController();
    const leaving = plugin.credential(first.signal).catch((reason: unknown) => reason);
    const staying = plugin.credential(second.signal);
    const reason = new Error('the first caller gave up');
    first.abort(reason);
    expect(await leaving).toBe(reason);
    // Only now may the plugin answer: the run must have outlived the first caller's abort.
    directory.write('release', '');
    expect((await staying).token?.reveal()).toBe('exec-secret-released');
    expect(second.signal.aborted).toBe(false);
    expect(plugin.runs).toBe(1);
  }, 30_000);

  it('the shared run is killed once every caller waiting on it has gone, and the next caller starts afresh', async () => {
    const plugin = new ExecCredentialPlugin(settings('token-when-released'));
    const callers = [new AbortController(), new AbortController()];
    const outcomes = callers.map((caller) =>
      plugin.credential(caller.signal).catch((reason: unknown) => reason),
    );
    // A node process can take long to start on a loaded machine: the bound only bounds a failure.
    await waitFor(() => runs().length === 1, 'the plugin to start', 2_000_000);
    const pid = runs()[0]?.pid ?? 0;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const reasons = callers.map((_, index) => new Error(`caller ${index} gave up`));
    callers[0]?.abort(reasons[0]);
    expect(await outcomes[0]).toBe(reasons[0]);
    expect(alive()).toBe(true);
    callers[1]?.abort(reasons[1]);
    expect(await outcomes[1]).toBe(reasons[1]);
    await waitFor(() => !alive(), 'the abandoned plugin to be killed', 2_000_000);
    // A caller that comes after does not join the cancelled run: it gets a run of its own.
    directory.write('release', '');
    expect((await plugin.credential()).token?.reveal()).toBe('exec-secret-released');
    expect(plugin.runs).toBe(2);
  }, 30_000);

  it('through the transport: a request that aborts while the plugin runs fails no other request', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { token: 'exec-secret-released' });
    try {
      const transport = createUndiciTransport({
        kubeconfig: execKubeconfig(server, {
          command: process.execPath,
          args: [script, 'token-when-released'],
        }),
      });
      const first = new AbortController();
      const leaving = transport
        .list('pods', 'default', { signal: first.signal })
        .catch((reason: unknown) => reason);
      const staying = transport.list('pods', 'default', { signal: new AbortController().signal });
      const reason = new Error('the first request gave up');
      first.abort(reason);
      expect(await leaving).toBe(reason);
      directory.write('release', '');
      expect((await staying).items).toEqual([]);
      expect(runs()).toHaveLength(1);
      await transport.close();
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a caller whose signal has already aborted neither starts a run nor disturbs one under way', async () => {
    const plugin = new ExecCredentialPlugin(settings('token-when-released'));
    const reason = new Error('aborted before asking');
    await expect(plugin.credential(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(plugin.runs).toBe(0);
    const staying = plugin.credential(new AbortController().signal);
    await expect(plugin.credential(AbortSignal.abort(reason))).rejects.toBe(reason);
    directory.write('release', '');
    expect((await staying).token?.reveal()).toBe('exec-secret-released');
    expect(plugin.runs).toBe(1);
  }, 30_000);

  it('speaks v1beta1 too', async () => {
    const plugin = new ExecCredentialPlugin(
      settings('token', {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        env: { PLUGIN_API_VERSION: 'client.authentication.k8s.io/v1beta1' },
      }),
    );
    expect((await plugin.credential()).token?.reveal()).toBe('exec-secret-token');
  });

  it('a plugin that fails: the exit code, never its stderr', async () => {
    const error = await credentialFailure(new ExecCredentialPlugin(settings('fail')));
    expect(error.message).toContain('exited with code 3');
    expect(error.message).not.toContain('stderr');
    expect(error.user).toBe('exec-user');
  });

  it('a plugin that hangs is killed after the timeout', async () => {
    const error = await credentialFailure(new ExecCredentialPlugin(settings('hang'), { timeoutMs: 300 }));
    expect(error.message).toContain('did not finish within 300 ms');
    expect(error.retryable).toBe(true);
  });

  it('a plugin that prints bad JSON, the wrong kind, or no credentials', async () => {
    expect((await credentialFailure(new ExecCredentialPlugin(settings('bad-json')))).message).toContain(
      'not JSON',
    );
    expect((await credentialFailure(new ExecCredentialPlugin(settings('wrong-kind')))).message).toContain(
      'kind is not ExecCredential',
    );
    expect((await credentialFailure(new ExecCredentialPlugin(settings('no-credentials')))).message).toContain(
      'neither status.token',
    );
  });

  it('a plugin that answers for another apiVersion', async () => {
    const plugin = new ExecCredentialPlugin(
      settings('token', { env: { PLUGIN_API_VERSION: 'client.authentication.k8s.io/v1beta1' } }),
    );
    expect((await credentialFailure(plugin)).message).toContain(
      'but the kubeconfig asks for client.authentication.k8s.io/v1',
    );
  });

  it('a plugin that returns credentials already expired', async () => {
    expect((await credentialFailure(new ExecCredentialPlugin(settings('expired')))).message).toContain(
      'already expired',
    );
  });

  it('a command that does not exist, with the install hint', async () => {
    const plugin = new ExecCredentialPlugin(
      settings('token', {
        command: `${directory.path}/no-such-plugin`,
        installHint: 'Install it with: brew install no-such-plugin',
      }),
    );
    const error = await credentialFailure(plugin);
    expect(error.message).toContain('command not found');
    expect(error.message).toContain('brew install no-such-plugin');
  });

  it('from a kubeconfig: refreshCredentials() re-runs the plugin after a 401, and nothing secret is logged', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { tls: true, token: 'exec-secret-new' });
    directory.write('plugin-token', 'exec-secret-old');
    const lines: string[] = [];
    const log = (fields: object, message?: string) => lines.push(`${message} ${JSON.stringify(fields)}`);
    try {
      const kubeconfig = {
        clusters: [
          {
            name: 'fake',
            cluster: {
              server: server.url,
              'certificate-authority-data': Buffer.from(server.ca ?? '').toString('base64'),
            },
          },
        ],
        users: [
          {
            name: 'exec-user',
            user: {
              exec: {
                command: process.execPath,
                args: [script, 'token-from-file'],
                apiVersion: 'client.authentication.k8s.io/v1',
                interactiveMode: 'Never' as const,
              },
            },
          },
        ],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'exec-user' } }],
        'current-context': 'fake',
      };
      expect(loadClusterConfig({ kubeconfig }).auth.type).toBe('exec');
      const transport = createUndiciTransport({
        kubeconfig,
        logger: { debug: log, info: log, warn: log, error: log },
      });
      const signal = new AbortController().signal;
      const error = await transport.list('pods', 'default', { signal }).catch((reason: unknown) => reason);
      expect(error).toMatchObject({ code: 401 });
      directory.write('plugin-token', 'exec-secret-new');
      // Cached: the old credential is still used until refreshed.
      await expect(transport.list('pods', 'default', { signal })).rejects.toMatchObject({ code: 401 });
      await transport.refreshCredentials?.({ signal });
      expect((await transport.list('pods', 'default', { signal })).items).toEqual([]);
      expect(runs()).toHaveLength(2);
      await transport.close();
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) for (const secret of SECRETS) expect(line).not.toContain(secret);
      expect(String(error)).not.toContain('exec-secret');
    } finally {
      await server.close();
    }
  });
});
