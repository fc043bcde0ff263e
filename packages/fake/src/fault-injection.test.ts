import { KubernetesError, type Pod, type WatchEvent } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, pod, settle } from './test-support.js';

function setup() {
  const cluster = new FakeCluster({ mode: 'manual', namespaces: ['default', 'other'] });
  cluster.createPod(pod('web'));
  return { cluster, transport: cluster.transport() };
}

async function openWatch(
  transport: ReturnType<FakeCluster['transport']>,
  signal: AbortSignal,
  namespace = 'default',
) {
  let activity = 0;
  const stream = await transport.watch('pods', namespace, { signal, onActivity: () => activity++ });
  return { stream: collect(stream as AsyncIterable<WatchEvent<Pod>>), activity: () => activity };
}

describe('in-process transport', () => {
  it('passes label selectors and streaming-list options through to the cluster', async () => {
    const { cluster, transport } = setup();
    cluster.createPod({ ...pod('api'), metadata: { name: 'api', labels: { tier: 'backend' } } });
    const signal = new AbortController().signal;
    const list = await transport.list('pods', 'default', { signal, labelSelector: 'tier in (backend)' });
    expect(list.items.map((item) => item.metadata?.name)).toEqual(['api']);
    const controller = new AbortController();
    const stream = collect(
      (await transport.watch('pods', 'default', {
        signal: controller.signal,
        labelSelector: 'tier=backend',
        sendInitialEvents: true,
        resourceVersionMatch: 'NotOlderThan',
        allowWatchBookmarks: true,
      })) as AsyncIterable<WatchEvent<Pod>>,
    );
    await settle();
    controller.abort();
    await stream.finished;
    expect(stream.events.map((event) => event.type)).toEqual(['ADDED', 'BOOKMARK']);
    const bookmark = stream.events[1];
    expect(bookmark?.type === 'BOOKMARK' && bookmark.object.metadata.annotations).toEqual({
      'k8s.io/initial-events-end': 'true',
    });
  });

  it('gets, lists, watches and deletes, calling onActivity for each event', async () => {
    const { cluster, transport } = setup();
    const signal = new AbortController().signal;
    expect((await transport.get('pods', 'default', 'web', { signal })).metadata?.name).toBe('web');
    const list = await transport.list('pods', 'default', {
      signal,
      fieldSelector: { 'metadata.name': 'web' },
    });
    expect(list.items).toHaveLength(1);
    const controller = new AbortController();
    const { stream, activity } = await openWatch(transport, controller.signal);
    await transport.delete('pods', 'default', 'web', { signal });
    await settle();
    expect(stream.summary()).toEqual(['ADDED:web', 'DELETED:web']);
    expect(activity()).toBe(2);
    await expect(transport.get('pods', 'default', 'web', { signal })).rejects.toSatisfy(
      (error) => KubernetesError.isInstance(error) && error.code === 404,
    );
    controller.abort();
    await stream.finished;
    expect(cluster.stats()).toMatchObject({
      activeWatches: 0,
      requests: { get: 2, list: 1, watch: 1, delete: 1 },
    });
  });

  it('maps precondition failures on delete to 409', async () => {
    const { transport } = setup();
    const signal = new AbortController().signal;
    await expect(
      transport.delete('pods', 'default', 'web', { signal, preconditions: { uid: 'x' } }),
    ).rejects.toMatchObject({
      code: 409,
    });
  });
});

describe('faults through the transport', () => {
  it('resetWatches breaks open streams with an ECONNRESET error', async () => {
    const { cluster, transport } = setup();
    const controller = new AbortController();
    const mine = await openWatch(transport, controller.signal);
    const other = await openWatch(transport, controller.signal, 'other');
    expect(cluster.faults.resetWatches({ namespace: 'default' })).toBe(1);
    await mine.stream.finished;
    expect(mine.stream.error).toMatchObject({ code: 'ECONNRESET' });
    expect(other.stream.done).toBe(false);
    controller.abort();
    await other.stream.finished;
    expect(cluster.stats().activeWatches).toBe(0);
  });

  it('stallWatches delivers nothing (no events, bookmarks or end) until the client aborts', async () => {
    const cluster = new FakeCluster({ mode: 'manual', bookmarkIntervalMs: 1_000 });
    const transport = cluster.transport();
    const baseline = cluster.clock.pendingTimers();
    const controller = new AbortController();
    const stream = collect(
      await transport.watch('pods', 'default', {
        signal: controller.signal,
        allowWatchBookmarks: true,
        timeoutSeconds: 5,
      }),
    );
    expect(cluster.faults.stallWatches()).toBe(1);
    cluster.createPod(pod('late'));
    await cluster.clock.advance(60_000);
    expect(stream.events).toHaveLength(0);
    expect(stream.done).toBe(false);
    expect(cluster.stats().activeWatches).toBe(1);
    expect(cluster.clock.pendingTimers()).toBe(baseline);
    controller.abort();
    await stream.finished;
    expect((stream.error as Error).name).toBe('AbortError');
    expect(cluster.stats().activeWatches).toBe(0);
  });

  it('stallNextWatch keeps watch() from resolving until aborted, once', async () => {
    const { cluster, transport } = setup();
    cluster.faults.stallNextWatch({ resource: 'pods' });
    const controller = new AbortController();
    let settled = false;
    const pending = transport.watch('pods', 'default', { signal: controller.signal }).finally(() => {
      settled = true;
    });
    await cluster.clock.advance(600_000);
    expect(settled).toBe(false);
    expect(cluster.stats().activeWatches).toBe(0);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const next = new AbortController();
    const ok = await openWatch(transport, next.signal);
    await settle();
    expect(ok.stream.summary()).toEqual(['ADDED:web']);
    next.abort();
  });

  it('endWatches ends open streams cleanly', async () => {
    const { cluster, transport } = setup();
    const { stream } = await openWatch(transport, new AbortController().signal);
    expect(cluster.faults.endWatches()).toBe(1);
    await stream.finished;
    expect(stream.error).toBeUndefined();
    expect(stream.summary()).toEqual(['ADDED:web']);
  });

  it('cutWatchesAfter ends open streams after N more events, and with upcoming the next ones opened', async () => {
    const { cluster, transport } = setup();
    const open = await openWatch(transport, new AbortController().signal);
    await settle();
    cluster.faults.cutWatchesAfter(2);
    cluster.faults.cutWatchesAfter(1, { upcoming: 1 });
    for (const phase of ['Running', 'Succeeded', 'Failed'] as const)
      cluster.setPodPhase('default', 'web', phase);
    await open.stream.finished;
    expect(open.stream.summary()).toEqual(['ADDED:web', 'MODIFIED:web', 'MODIFIED:web']);
    const upcoming = await openWatch(transport, new AbortController().signal);
    await upcoming.stream.finished;
    expect(upcoming.stream.summary()).toEqual(['ADDED:web']);
    const controller = new AbortController();
    const unaffected = await openWatch(transport, controller.signal);
    await settle();
    expect(unaffected.stream.done).toBe(false);
    controller.abort();
  });

  it('failNext answers the next N matching calls with the Status, 429 carrying retryAfterSeconds', async () => {
    const { cluster, transport } = setup();
    const signal = new AbortController().signal;
    cluster.faults.failNext(2, { code: 429, retryAfterSeconds: 7 }, { verbs: ['list'] });
    await expect(transport.get('pods', 'default', 'web', { signal })).resolves.toBeDefined();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await transport.list('pods', 'default', { signal }).catch((caught: unknown) => caught);
      expect(KubernetesError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        code: 429,
        reason: 'TooManyRequests',
        retryAfterSeconds: 7,
        retryable: true,
      });
      expect((error as KubernetesError).status).toMatchObject({
        kind: 'Status',
        details: { retryAfterSeconds: 7 },
      });
    }
    await expect(transport.list('pods', 'default', { signal })).resolves.toBeDefined();
    cluster.faults.failNext(1, { code: 500 }, { resource: 'events' });
    cluster.faults.failNext(1, { code: 503, message: 'down' }, { resource: 'pods', verbs: ['watch'] });
    await expect(transport.list('events', 'default', { signal })).rejects.toMatchObject({
      code: 500,
      reason: 'InternalError',
    });
    await expect(transport.watch('pods', 'default', { signal })).rejects.toMatchObject({
      code: 503,
      reason: 'ServiceUnavailable',
      serverMessage: 'down',
    });
  });

  it('latency waits on the cluster clock, and abort ends the wait at once', async () => {
    const { cluster, transport } = setup();
    const baseline = cluster.clock.pendingTimers();
    cluster.faults.latency(1_000, { verbs: ['get'] });
    let done = false;
    const slow = transport
      .get('pods', 'default', 'web', { signal: new AbortController().signal })
      .then(() => {
        done = true;
      });
    await cluster.clock.advance(999);
    expect(done).toBe(false);
    await cluster.clock.advance(1);
    await slow;
    expect(done).toBe(true);
    const controller = new AbortController();
    const aborted = transport.get('pods', 'default', 'web', { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(cluster.clock.pendingTimers()).toBe(baseline);
    cluster.faults.latency(0, { verbs: ['get'] });
    await expect(
      transport.get('pods', 'default', 'web', { signal: new AbortController().signal }),
    ).resolves.toBeDefined();
  });

  it('clear() removes pending faults', async () => {
    const { cluster, transport } = setup();
    cluster.faults.failNext(5, { code: 500 });
    cluster.faults.latency(10_000);
    cluster.faults.stallNextWatch();
    cluster.faults.clear();
    const signal = new AbortController().signal;
    await expect(transport.get('pods', 'default', 'web', { signal })).resolves.toBeDefined();
    const controller = new AbortController();
    await expect(transport.watch('pods', 'default', { signal: controller.signal })).resolves.toBeDefined();
    controller.abort();
  });

  it('rejects at once on an already aborted signal', async () => {
    const { transport } = setup();
    await expect(transport.list('pods', 'default', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
