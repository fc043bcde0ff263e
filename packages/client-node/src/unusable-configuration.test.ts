import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPodStorage, InvalidInputError, PodStorageError, PodTimeoutError } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClientNodeTransport } from './client-node-transport.js';
import { type ClientMajor, kubeConfigFor, MAJORS } from './clients.test-support.js';

// A configuration that can never work must fail at once with an error that names what is wrong, never
// be retried until the operation's timeout and then reported as "timed out" (issue 9, defect 15).

// Far below the 30 s the waits are given, so a wait retried until its timeout fails; far above the
// ~50 ms it takes, so a loaded machine does not.
const FAIL_FAST_MS = 10_000;

/** An exec plugin as node runs it: `node -e SCRIPT`. */
const nodePlugin = (script: string) => ({ command: process.execPath, args: ['-e', script] });

const TOKEN = 'exec-secret-token';
const PRINTS_TOKEN = nodePlugin(
  `process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status: { token: '${TOKEN}' } }))`,
);
// Plugins print diagnostics, and sometimes credentials, on stderr: it must never reach an error.
const EXITS_3 = nodePlugin(`process.stderr.write('error: exec-secret-on-stderr'); process.exit(3)`);

let directory: string;
let cluster: FakeCluster;
let server: FakeClusterServer;
beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'podstorage-client-node-'));
  cluster = new FakeCluster({ mode: 'manual' });
  cluster.createPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  server = await serveFakeCluster(cluster, { token: TOKEN });
});
afterEach(async () => {
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

/** A KubeConfig of `major` whose one user authenticates with the exec plugin `command args`. */
function execKubeConfig(major: ClientMajor, exec: { command: string; args: string[] }) {
  const kubeConfig = new major.client.KubeConfig();
  kubeConfig.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: server.url, 'insecure-skip-tls-verify': true } }],
      users: [
        { name: 'exec-user', user: { exec: { ...exec, apiVersion: 'client.authentication.k8s.io/v1' } } },
      ],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'exec-user' } }],
      'current-context': 'fake',
    }),
  );
  return kubeConfig;
}

/** The error `run` rejects with; fails the test if it resolves. */
async function failure(run: () => Promise<unknown>): Promise<PodStorageError> {
  const error = await run().then(
    (value) => new Error(`expected a failure, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(PodStorageError.isInstance(error), String(error)).toBe(true);
  expect((error as PodStorageError).retryable, String(error)).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
  expect(String((error as Error).cause ?? '')).not.toContain('exec-secret');
  return error as PodStorageError;
}

describe.each(MAJORS)('a configuration that can never work fails fast with $name', (major) => {
  it('an unknown context: createClientNodeTransport throws an InvalidInputError naming it and the known ones', () => {
    const kubeConfig = kubeConfigFor(major, server);
    kubeConfig.setCurrentContext('no-such-context');
    let error: unknown;
    try {
      createClientNodeTransport({ kubeConfig, client: major.client });
    } catch (thrown) {
      error = thrown;
    }
    expect(InvalidInputError.isInstance(error), String(error)).toBe(true);
    expect((error as InvalidInputError).retryable).toBe(false);
    expect(String(error)).toContain('"no-such-context"');
    expect(String(error)).toContain('"podstorage-fake"');
  });

  it('a context switched to an unknown one after creation: calls and watches fail at once, naming it', async () => {
    const kubeConfig = kubeConfigFor(major, server);
    const transport = createClientNodeTransport({ kubeConfig, client: major.client });
    kubeConfig.setCurrentContext('no-such-context');
    const signal = new AbortController().signal;
    for (const call of [
      () => transport.get('pods', 'default', 'a', { signal }),
      () => transport.watch('pods', 'default', { signal }),
    ]) {
      expect((await failure(call)).message).toContain('"no-such-context"');
    }
    await transport.close();
  });

  it.each([
    ['that is not installed', () => ({ command: join(directory, 'no-such-plugin'), args: [] }), 'not found'],
    ['that exits non-zero', () => EXITS_3, 'exited with an error'],
  ])(
    'an exec plugin %s: waitForPhase rejects at once, naming the command',
    async (_, plugin, problem) => {
      const exec = plugin();
      const transport = createClientNodeTransport({
        kubeConfig: execKubeConfig(major, exec),
        client: major.client,
      });
      const storage = createPodStorage(transport);
      const started = performance.now();
      const error = await failure(() =>
        storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] }),
      );
      const elapsedMs = performance.now() - started;
      expect(error.message).toContain(`exec plugin "${exec.command}" of user "exec-user"`);
      expect(error.message).toContain(problem);
      expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
      // A watch of its own fails the same way (the client authenticates watches through another path).
      const watch = () => transport.watch('pods', 'default', { signal: new AbortController().signal });
      expect((await failure(watch)).message).toContain(`exec plugin "${exec.command}"`);
      await storage[Symbol.asyncDispose]();
      await transport.close();
      expect(server.openConnections()).toBe(0);
    },
    60_000,
  );

  it('an exec plugin that works still authenticates every call and watch', async () => {
    const transport = createClientNodeTransport({
      kubeConfig: execKubeConfig(major, PRINTS_TOKEN),
      client: major.client,
    });
    await using storage = createPodStorage(transport);
    cluster.setPodPhase('default', 'a', 'Running');
    expect(await storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] })).toBe('Running');
    const stream = await transport.watch('pods', 'default', { signal: new AbortController().signal });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value?.type).toBe('ADDED');
    await events.return?.();
    await transport.close();
  }, 60_000);
});
