import type { Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, pod, settle } from './test-support.js';

function manualCluster(options: ConstructorParameters<typeof FakeCluster>[0] = {}) {
  return new FakeCluster({ mode: 'manual', ...options });
}

describe('watch from history', () => {
  it('sends the current state as synthetic ADDED events without resourceVersion, and with "0"', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a'));
    cluster.createPod(pod('b'));
    for (const resourceVersion of [undefined, '0']) {
      const controller = new AbortController();
      const stream = collect(
        cluster.watch('pods', 'default', { resourceVersion, signal: controller.signal }),
      );
      await settle();
      expect(stream.summary()).toEqual(['ADDED:a', 'ADDED:b']);
      cluster.setPodPhase('default', 'a', 'Running');
      await settle();
      expect(stream.summary()).toEqual(['ADDED:a', 'ADDED:b', 'MODIFIED:a']);
      controller.abort();
      await stream.finished;
      cluster.deletePod('default', 'a', { gracePeriodSeconds: 0 });
      cluster.createPod(pod('a'));
    }
  });

  it('resumes from a resourceVersion with exactly the later changes, in order', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a'));
    const mark = cluster.resourceVersion();
    cluster.createPod(pod('b'));
    cluster.setPodPhase('default', 'a', 'Running');
    cluster.deletePod('default', 'b');
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', { resourceVersion: mark, signal: controller.signal }),
    );
    await settle();
    expect(stream.summary()).toEqual(['ADDED:b', 'MODIFIED:a', 'DELETED:b']);
    const versions = stream.events.map((event) => Number((event.object as Pod).metadata?.resourceVersion));
    expect(versions).toEqual([Number(mark) + 1, Number(mark) + 2, Number(mark) + 3]);
    controller.abort();
  });

  it('uses one global resourceVersion counter across pods and events', () => {
    const cluster = manualCluster();
    const before = Number(cluster.resourceVersion());
    const created = cluster.createPod(pod('a'));
    const event = cluster.recordPodEvent(
      { namespace: 'default', name: 'a' },
      { reason: 'Custom', message: 'hello' },
    );
    expect(Number(created.metadata?.resourceVersion)).toBe(before + 1);
    expect(Number(event.metadata?.resourceVersion)).toBe(before + 2);
    expect(cluster.resourceVersion()).toBe(String(before + 2));
  });

  it('answers a version older than the history window with one 410 Expired ERROR event, then ends', async () => {
    const cluster = manualCluster({ historySize: 3 });
    cluster.createPod(pod('a'));
    const old = cluster.resourceVersion();
    for (let index = 0; index < 4; index++)
      cluster.setPodPhase('default', 'a', index % 2 ? 'Pending' : 'Running');
    const stream = collect(
      cluster.watch('pods', 'default', { resourceVersion: old, signal: new AbortController().signal }),
    );
    await stream.finished;
    expect(stream.error).toBeUndefined();
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]).toEqual({
      type: 'ERROR',
      object: expect.objectContaining({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 410,
        reason: 'Expired',
        message: expect.stringMatching(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`)),
      }),
    });
    // The newest versions of the window are still served.
    const recent = String(Number(cluster.resourceVersion()) - 2);
    const controller = new AbortController();
    const fresh = collect(
      cluster.watch('pods', 'default', { resourceVersion: recent, signal: controller.signal }),
    );
    await settle();
    expect(fresh.summary()).toEqual(['MODIFIED:a', 'MODIFIED:a']);
    controller.abort();
    await fresh.finished;
    expect(cluster.stats().activeWatches).toBe(0);
  });

  it('expires every earlier version after compact()', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a'));
    const current = cluster.resourceVersion();
    const before = String(Number(current) - 1);
    cluster.faults.compact();
    const expired = collect(
      cluster.watch('pods', 'default', { resourceVersion: before, signal: new AbortController().signal }),
    );
    await expired.finished;
    expect(expired.summary()).toEqual(['ERROR:410']);
    const controller = new AbortController();
    const fine = collect(
      cluster.watch('pods', 'default', { resourceVersion: current, signal: controller.signal }),
    );
    cluster.setPodPhase('default', 'a', 'Running');
    await settle();
    expect(fine.summary()).toEqual(['MODIFIED:a']);
    controller.abort();
  });

  it('answers a version newer than the cluster with a 504 ERROR event', async () => {
    const cluster = manualCluster();
    const stream = collect(
      cluster.watch('pods', 'default', { resourceVersion: '999', signal: new AbortController().signal }),
    );
    await stream.finished;
    expect(stream.summary()).toEqual(['ERROR:504']);
  });

  it('rejects a resourceVersion that is not a number with 400', () => {
    const cluster = manualCluster();
    expect(() =>
      cluster.watch('pods', 'default', { resourceVersion: 'abc', signal: new AbortController().signal }),
    ).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('bookmarks, timeouts and streaming lists', () => {
  it('sends a BOOKMARK with the current global resourceVersion every bookmarkIntervalMs when allowed', async () => {
    const cluster = manualCluster({ bookmarkIntervalMs: 1_000 });
    cluster.createNamespace('other');
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        allowWatchBookmarks: true,
        signal: controller.signal,
      }),
    );
    const quiet = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    await cluster.clock.advance(999);
    expect(stream.events).toHaveLength(0);
    cluster.createPod(pod('elsewhere', { namespace: 'other' }));
    await cluster.clock.advance(1);
    expect(stream.events).toEqual([
      {
        type: 'BOOKMARK',
        object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: cluster.resourceVersion() } },
      },
    ]);
    await cluster.clock.advance(2_000);
    expect(stream.summary().filter((entry) => entry.startsWith('BOOKMARK'))).toHaveLength(3);
    expect(quiet.events).toHaveLength(0);
    controller.abort();
  });

  it('ends the stream cleanly after timeoutSeconds of clock time', async () => {
    const cluster = manualCluster();
    const baseline = cluster.clock.pendingTimers();
    const stream = collect(
      cluster.watch('pods', 'default', { timeoutSeconds: 5, signal: new AbortController().signal }),
    );
    await cluster.clock.advance(4_999);
    expect(stream.done).toBe(false);
    await cluster.clock.advance(1);
    await stream.finished;
    expect(stream.error).toBeUndefined();
    expect(cluster.stats().activeWatches).toBe(0);
    expect(cluster.clock.pendingTimers()).toBe(baseline);
  });

  it('ends a watch that asks for no timeout after the cluster default', async () => {
    const cluster = manualCluster({ watchTimeoutSeconds: 60 });
    const stream = collect(cluster.watch('pods', 'default', { signal: new AbortController().signal }));
    await cluster.clock.advance(60_000);
    await stream.finished;
    expect(stream.done).toBe(true);
  });

  it('with sendInitialEvents, ends the initial state with an initial-events-end BOOKMARK', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a'));
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', {
        sendInitialEvents: true,
        allowWatchBookmarks: true,
        resourceVersionMatch: 'NotOlderThan',
        signal: controller.signal,
      }),
    );
    await settle();
    expect(stream.summary()).toEqual(['ADDED:a', `BOOKMARK:${cluster.resourceVersion()}`]);
    expect(stream.events[1]?.object.metadata).toEqual({
      resourceVersion: cluster.resourceVersion(),
      annotations: { 'k8s.io/initial-events-end': 'true' },
    });
    controller.abort();
    expect(() =>
      cluster.watch('pods', 'default', { sendInitialEvents: true, signal: new AbortController().signal }),
    ).toThrow(expect.objectContaining({ code: 422 }));
  });
});

describe('watch filtering', () => {
  it('sends DELETED when an object stops matching a field selector and ADDED when it starts', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a'));
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', {
        fieldSelector: 'status.phase=Running',
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    cluster.setPodPhase('default', 'a', 'Running');
    cluster.setPodPhase('default', 'a', 'Running', { message: 'still running' });
    cluster.setPodPhase('default', 'a', 'Succeeded');
    await settle();
    expect(stream.summary()).toEqual(['ADDED:a', 'MODIFIED:a', 'DELETED:a']);
    // DELETED carries the last matching state, stamped with the change's resourceVersion.
    const deleted = stream.events[2]?.object as Pod;
    expect(deleted.status?.phase).toBe('Running');
    expect(deleted.metadata?.resourceVersion).toBe(cluster.resourceVersion());
    controller.abort();
  });

  it('applies the same transitions when replaying history', async () => {
    const cluster = manualCluster();
    cluster.createPod(pod('a', { labels: { tier: 'web' } }));
    const mark = cluster.resourceVersion();
    cluster.updatePod({
      ...cluster.getPod('default', 'a'),
      metadata: { name: 'a', namespace: 'default', labels: { tier: 'db' } },
    });
    cluster.updatePod({
      ...cluster.getPod('default', 'a'),
      metadata: { name: 'a', namespace: 'default', labels: { tier: 'web' } },
    });
    const stream = collect(
      cluster.watch('pods', 'default', {
        labelSelector: 'tier in (web)',
        resourceVersion: mark,
        signal: AbortSignal.timeout(60_000),
      }),
    );
    await settle();
    expect(stream.summary()).toEqual(['DELETED:a', 'ADDED:a']);
  });

  it('filters events by involvedObject fields and by namespace', async () => {
    const cluster = manualCluster({ namespaces: ['default', 'other'] });
    cluster.createPod(pod('a'));
    cluster.createPod(pod('b'));
    cluster.createPod(pod('a', { namespace: 'other' }));
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('events', 'default', {
        fieldSelector: { 'involvedObject.name': 'a', 'involvedObject.kind': 'Pod' },
        signal: controller.signal,
      }),
    );
    cluster.recordPodEvent({ namespace: 'default', name: 'a' }, { reason: 'R', message: 'for a' });
    cluster.recordPodEvent({ namespace: 'default', name: 'b' }, { reason: 'R', message: 'for b' });
    cluster.recordPodEvent({ namespace: 'other', name: 'a' }, { reason: 'R', message: 'for other a' });
    await settle();
    expect(stream.events.map((event) => (event.object as { message?: string }).message)).toEqual(['for a']);
    controller.abort();
  });

  it('rejects unsupported fields with the apiserver 400 naming the field', () => {
    const cluster = manualCluster();
    const signal = new AbortController().signal;
    expect(() => cluster.watch('pods', 'default', { fieldSelector: 'spec.image=x', signal })).toThrow(
      expect.objectContaining({
        code: 400,
        serverMessage: expect.stringContaining('field label not supported: spec.image'),
      }),
    );
    expect(() => cluster.listEvents('default', { fieldSelector: 'status.phase=Running' })).toThrow(
      expect.objectContaining({ code: 400 }),
    );
  });
});

describe('watch cleanup', () => {
  it('leaves no timers or watches behind after abort, return() or the end', async () => {
    const cluster = manualCluster({ bookmarkIntervalMs: 100 });
    const baseline = cluster.clock.pendingTimers();
    const controller = new AbortController();
    const aborted = collect(
      cluster.watch('pods', 'default', { allowWatchBookmarks: true, signal: controller.signal }),
    );
    const returned = cluster.watch('pods', 'default', {
      allowWatchBookmarks: true,
      signal: new AbortController().signal,
    });
    const iterator = returned[Symbol.asyncIterator]();
    expect(cluster.stats().activeWatches).toBe(2);
    expect(cluster.clock.pendingTimers()).toBe(baseline + 4);
    await cluster.clock.advance(100);
    controller.abort();
    await aborted.finished;
    expect((aborted.error as Error).name).toBe('AbortError');
    expect((await iterator.next()).value?.type).toBe('BOOKMARK');
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(cluster.stats()).toMatchObject({ activeWatches: 0, watchesOpened: 2 });
    expect(cluster.clock.pendingTimers()).toBe(baseline);
  });

  it('refuses to open a watch on an already aborted signal', () => {
    const cluster = manualCluster();
    expect(() => cluster.watch('pods', 'default', { signal: AbortSignal.abort() })).toThrow();
    expect(cluster.stats().activeWatches).toBe(0);
  });
});
