import { createPodStorage, PodStorageError, PodTimeoutError } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialError, KubeconfigError } from './errors.js';
import { EXEC_PLUGIN_SOURCE, execKubeconfig, temporaryDirectory } from './test-support.js';
import { createUndiciTransport } from './undici-transport.js';

// A configuration that can never work must fail at once with an error that names what is wrong, never
// be retried until the operation's timeout and then reported as "timed out" (issue 9, defect 15).

// Far below the 30 s the waits are given, so a wait retried until its timeout fails; far above the
// ~50 ms it takes, so a loaded machine does not.
const FAIL_FAST_MS = 10_000;

let directory: ReturnType<typeof temporaryDirectory>;
let cluster: FakeCluster;
let server: FakeClusterServer;
beforeEach(async () => {
  directory = temporaryDirectory();
  cluster = new FakeCluster({ mode: 'manual' });
  cluster.createPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  server = await serveFakeCluster(cluster);
});
afterEach(async () => {
  await server.close();
  directory.remove();
});

/** What `waitForPhase(a, 30 s)` through createPodStorage ends with, and how long it took. */
async function waitThrough(exec: { command: string; args: string[] }) {
  const transport = createUndiciTransport({ kubeconfig: execKubeconfig(server, exec) });
  const storage = createPodStorage(transport);
  const started = performance.now();
  const error = await storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] }).then(
    (phase) => new Error(`expected the wait to fail, it returned ${phase}`),
    (reason: unknown) => reason,
  );
  const elapsedMs = performance.now() - started;
  await storage[Symbol.asyncDispose]();
  await transport.close();
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(CredentialError.isInstance(error), String(error)).toBe(true);
  expect((error as CredentialError).retryable).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
  expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
  return error as CredentialError;
}

describe('a configuration that can never work fails fast, naming what is wrong', () => {
  it('an unknown context: createUndiciTransport throws a KubeconfigError naming it and the known ones', () => {
    let error: unknown;
    try {
      createUndiciTransport({ kubeconfig: server.kubeconfig, context: 'no-such-context' });
    } catch (thrown) {
      error = thrown;
    }
    expect(KubeconfigError.isInstance(error), String(error)).toBe(true);
    expect(PodStorageError.isInstance(error) && error.retryable).toBe(false);
    expect(String(error)).toContain('"no-such-context"');
    expect(String(error)).toContain('known contexts: podstorage-fake');
  });

  it('an exec plugin that is not installed: the wait rejects at once, naming the command', async () => {
    const command = `${directory.path}/no-such-plugin`;
    const error = await waitThrough({ command, args: [] });
    expect(error.message).toContain(`command not found: ${command}`);
  }, 60_000);

  it('an exec plugin that exits non-zero: the wait rejects at once, naming it, without its stderr', async () => {
    const script = directory.write('plugin.mjs', EXEC_PLUGIN_SOURCE);
    const error = await waitThrough({ command: process.execPath, args: [script, 'fail'] });
    expect(error.message).toMatch(/exec plugin "node" of user "exec-user" exited with code 3/);
  }, 60_000);
});
