import { createPodStorage, KubernetesError, type PodTransport } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { pod, recordingLogger, waitFor } from './test-support.js';
import { DEFAULT_WATCHDOG } from './watchdog.js';

/**
 * The relist loop of issue 9: every watch answers one ERROR 410 at once and the client lists and
 * watches again with no backoff, ignoring every error. On the fake clock nothing moves, so the whole
 * loop runs in microtasks at one instant. Runs until `signal` aborts.
 */
async function hotRelistLoop(transport: PodTransport, signal: AbortSignal, errors: unknown[]): Promise<void> {
  while (!signal.aborted) {
    try {
      await transport.list('pods', 'default', { signal });
      const stream = await transport.watch('pods', 'default', { signal, resourceVersion: '1' });
      for await (const _event of stream) {
        // ERROR 410, then the end: relist at once.
      }
    } catch (error) {
      errors.push(error);
    }
  }
}

/** A cluster whose history starts after version 1, so a watch from "1" always gets ERROR 410. */
function compactedCluster(options: ConstructorParameters<typeof FakeCluster>[0] = {}) {
  const logger = recordingLogger();
  const cluster = new FakeCluster({ mode: 'manual', logger, ...options });
  cluster.createPod(pod('web'));
  cluster.faults.compact();
  return { cluster, logger };
}

describe('the hot-loop watchdog', () => {
  it('answers a client that relists without backoff with 429, then holds it, and fails its test', async () => {
    const { cluster, logger } = compactedCluster({ watchdog: { maxRequests: 100, perMs: 1_000 } });
    const controller = new AbortController();
    const errors: unknown[] = [];
    const loop = hotRelistLoop(cluster.transport(), controller.signal, errors);
    await waitFor(() => (cluster.watchdog.violations()[0]?.held ?? 0) > 0, 'the watchdog to hold the client');

    // 101 requests (the limit plus the one that crossed it) at one instant of cluster time.
    const [violation] = cluster.watchdog.violations();
    expect(violation).toMatchObject({
      at: 0,
      requests: 101,
      clusterElapsedMs: 0,
      verbs: { list: 51, watch: 50 },
      limit: { maxRequests: 100, perMs: 1_000 },
      rejected: 100,
      held: 1,
    });
    expect(cluster.watchdog.tripped).toBe(true);
    expect(cluster.stats().watchdogViolations).toBe(1);
    // The 429s say when to come back; the client ignored all of them.
    expect(errors).toHaveLength(100);
    for (const error of errors) {
      expect(KubernetesError.isInstance(error) && [error.code, error.retryAfterSeconds]).toEqual([429, 1]);
    }
    expect(() => cluster.assertNoHotLoop()).toThrow(
      /a client hot-looped: 101 requests \(list 51, watch 50\) within 0 ms of cluster-clock time \(\d+ ms of real time\), over the limit of 100 per 1000 ms/,
    );
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      expect.stringMatching(/^fake cluster watchdog: hot loop: 101 requests/),
      expect.stringMatching(/ignores 429 and Retry-After: holding its requests/),
    ]);

    // The held request ends with its signal; nothing stays open.
    controller.abort();
    await loop;
    expect(cluster.stats().activeWatches).toBe(0);
    expect(cluster.clock.pendingTimers()).toBe(0);
  });

  it('stops the loop of issue 9 at the default limit instead of letting it starve the process', async () => {
    const { cluster } = compactedCluster();
    const controller = new AbortController();
    const errors: unknown[] = [];
    const loop = hotRelistLoop(cluster.transport(), controller.signal, errors);
    // If the loop were never held, this wait would never get an event-loop turn: the test would hang.
    await waitFor(() => cluster.watchdog.tripped && cluster.watchdog.violations()[0]?.held === 1, 'the hold');
    const { maxRequests } = DEFAULT_WATCHDOG;
    expect(cluster.watchdog.violations()[0]).toMatchObject({
      requests: maxRequests + 1,
      clusterElapsedMs: 0,
      rejected: maxRequests,
    });
    const requests = cluster.stats().requests;
    // Admitted up to the limit, then 429 as many times, then the one request that is held.
    expect(requests.list + requests.watch).toBe(2 * maxRequests + 1);
    controller.abort();
    await loop;
  });

  it('lets a client that honours Retry-After back in once the window has passed, keeping the violation', async () => {
    const { cluster } = compactedCluster({ watchdog: { maxRequests: 10, perMs: 2_000 } });
    const transport = cluster.transport();
    const signal = new AbortController().signal;
    for (let index = 0; index < 10; index++) await transport.get('pods', 'default', 'web', { signal });
    const refused = await transport.get('pods', 'default', 'web', { signal }).catch((error) => error);
    expect(KubernetesError.isInstance(refused) && refused.code).toBe(429);
    // Retry-After rounds the window up to whole seconds.
    expect(KubernetesError.isInstance(refused) && refused.retryAfterSeconds).toBe(2);
    await cluster.clock.advance(1_999);
    await expect(transport.get('pods', 'default', 'web', { signal })).rejects.toMatchObject({ code: 429 });
    await cluster.clock.advance(2_000);
    expect((await transport.get('pods', 'default', 'web', { signal })).metadata?.name).toBe('web');
    expect(cluster.watchdog.tripped).toBe(false);
    expect(cluster.watchdog.violations()).toHaveLength(1);
    expect(() => cluster.assertNoHotLoop()).toThrow(
      /11 requests \(get 11\) within 0 ms of cluster-clock time/,
    );
    // A test that trips it on purpose clears it.
    cluster.watchdog.clear();
    expect(() => cluster.assertNoHotLoop()).not.toThrow();
  });

  it('is not tripped by 200 clients that retry failing requests with exponential backoff', async () => {
    const cluster = new FakeCluster({ mode: 'manual', logger: recordingLogger() });
    const transport = cluster.transport();
    cluster.faults.failNext(1_000_000, { code: 503 });
    const signal = new AbortController().signal;
    let attempts = 0;
    // The backoff of the conformance suite (500 ms doubling to 30 s), without jitter: all 200 in step,
    // the worst case for a window.
    const client = (delayMs = 500): void => {
      attempts++;
      transport.list('pods', 'default', { signal }).catch(() => {
        cluster.clock.setTimeout(() => client(Math.min(delayMs * 2, 30_000)), delayMs);
      });
    };
    for (let index = 0; index < 200; index++) client();
    for (let step = 0; step < 600; step++) await cluster.clock.advance(1_000);
    // 10 minutes: 10 backoff steps up to 30 s, then one attempt each 30 s.
    expect(attempts).toBeGreaterThanOrEqual(200 * 20);
    expect(cluster.watchdog.violations()).toEqual([]);
    expect(() => cluster.assertNoHotLoop()).not.toThrow();
  });

  it('is not tripped by PodStorage waiting through ten minutes of broken watches', async () => {
    const cluster = new FakeCluster({ mode: 'manual', logger: recordingLogger() });
    const storage = createPodStorage(cluster.transport(), {
      clock: cluster.clock,
      backoff: { initialMs: 500, maxMs: 30_000 },
    });
    const pods = Array.from({ length: 20 }, (_, index) => `job-${index}`);
    for (const name of pods) cluster.createPod(pod(name));
    const waits = pods.map((name) =>
      storage.waitForPhase(name, 'default', 3_600_000, { untilNot: ['Pending', 'Running'] }),
    );
    for (let step = 0; step < 600; step++) {
      if (step % 2 === 0) cluster.faults.resetWatches();
      if (step % 7 === 0) cluster.faults.compact();
      await cluster.clock.advance(1_000);
    }
    for (const name of pods) cluster.setPodPhase('default', name, 'Succeeded');
    let settled = false;
    const all = Promise.all(waits).finally(() => {
      settled = true;
    });
    // The watch may be in a 30 s backoff: give it time on the clock, not a fixed amount.
    for (let step = 0; step < 120 && !settled; step++) await cluster.clock.advance(1_000);
    expect(await all).toEqual(pods.map(() => 'Succeeded'));
    await storage.close();
    expect(cluster.stats().requests.watch).toBeGreaterThan(50);
    expect(() => cluster.assertNoHotLoop()).not.toThrow();
  });

  it('can be turned off, and rejects a limit that makes no sense', () => {
    expect(new FakeCluster({ watchdog: false }).watchdog.limit).toBe(false);
    expect(() => new FakeCluster({ watchdog: { maxRequests: 0, perMs: 1_000 } })).toThrow(
      /maxRequests must be an integer >= 1, got 0/,
    );
    expect(() => new FakeCluster({ watchdog: { maxRequests: 10, perMs: Number.NaN } })).toThrow(
      /perMs must be a finite number > 0, got NaN/,
    );
  });
});
