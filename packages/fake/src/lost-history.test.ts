import { KubernetesError, type Pod, type WatchEvent } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';

const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

// The expected Status, and the apiserver sources it is taken from: see tooLargeStatus in test-support.
import { collect, pod, settle, tooLargeStatus as tooLarge } from './test-support.js';

const never = () => new AbortController().signal;

/** A cluster with a snapshot at `before`, and the client's view at `after`, newer than the snapshot. */
function clusterThatWillLoseHistory() {
  const cluster = new FakeCluster({ mode: 'manual', bookmarkIntervalMs: 1_000 });
  cluster.createPod(pod('kept'));
  const snapshot = cluster.snapshot();
  const before = cluster.resourceVersion();
  cluster.createPod(pod('lost'));
  cluster.setPodPhase('default', 'kept', 'Running');
  const after = cluster.resourceVersion();
  return { cluster, snapshot, before, after };
}

async function watchEvents(cluster: FakeCluster, options: Parameters<FakeCluster['watch']>[2]) {
  const stream = collect(cluster.watch('pods', 'default', options) as AsyncIterable<WatchEvent<Pod>>);
  await settle();
  return stream;
}

describe('lost history: snapshot() and restore()', () => {
  it('puts objects and the resourceVersion counter back, forgets history, and resets open watches', async () => {
    const { cluster, snapshot, before, after } = clusterThatWillLoseHistory();
    expect(snapshot.resourceVersion).toBe(before);
    const open = await watchEvents(cluster, { resourceVersion: after, signal: never() });
    const watchers = cluster.stats().watchesOpened;

    cluster.restore(snapshot);
    await open.finished;
    expect((open.error as { code?: string }).code).toBe('ECONNRESET');
    expect(cluster.stats().activeWatches).toBe(0);
    expect(cluster.resourceVersion()).toBe(before);
    expect(
      cluster.listPods('default').items.map((item) => [item.metadata?.name, item.status?.phase]),
    ).toEqual([['kept', 'Pending']]);
    expect(cluster.getPod('default', 'lost')).toBeUndefined();
    // History before the snapshot's version is gone (410); from it, changes come as usual.
    const older = await watchEvents(cluster, {
      resourceVersion: String(Number(before) - 1),
      signal: never(),
    });
    await older.finished;
    expect(older.summary()).toEqual(['ERROR:410']);
    const controller = new AbortController();
    const fresh = await watchEvents(cluster, { resourceVersion: before, signal: controller.signal });
    cluster.createPod(pod('new'));
    await settle();
    expect(fresh.summary()).toEqual(['ADDED:new']);
    // Versions after the snapshot's are handed out again.
    expect(cluster.getPod('default', 'new')?.metadata?.resourceVersion).toBe(String(Number(before) + 1));
    controller.abort();
    expect(cluster.stats().watchesOpened).toBe(watchers + 2);
  });

  it('answers a client that resumes from a newer version with exactly the 504, on watch and list, until it relists', async () => {
    const { cluster, snapshot, before, after } = clusterThatWillLoseHistory();
    cluster.restore(snapshot);
    const transport = cluster.transport();
    for (let attempt = 0; attempt < 3; attempt++) {
      const watch = collect(
        (await transport.watch('pods', 'default', {
          signal: never(),
          resourceVersion: after,
          allowWatchBookmarks: true,
        })) as AsyncIterable<WatchEvent<Pod>>,
      );
      await watch.finished;
      expect(watch.events).toEqual([{ type: 'ERROR', object: tooLarge(after, before) }]);
      const listed = await transport
        .list('pods', 'default', { signal: never(), resourceVersion: after })
        .catch((error: unknown) => error);
      expect(KubernetesError.isInstance(listed) && listed.status).toEqual(tooLarge(after, before));
      expect(KubernetesError.isInstance(listed) && [listed.code, listed.retryAfterSeconds]).toEqual([504, 1]);
      await cluster.clock.advance(1_000);
    }
    // A streaming list from the future gets it too.
    const streaming = await watchEvents(cluster, {
      resourceVersion: after,
      sendInitialEvents: true,
      allowWatchBookmarks: true,
      resourceVersionMatch: 'NotOlderThan',
      signal: never(),
    });
    await streaming.finished;
    expect(streaming.events).toEqual([{ type: 'ERROR', object: tooLarge(after, before) }]);

    // The relist: the state as restored, at the snapshot's version, and a watch from there works.
    const list = await transport.list('pods', 'default', { signal: never() });
    expect([list.metadata.resourceVersion, list.items.map((item) => item.metadata?.name)]).toEqual([
      before,
      ['kept'],
    ]);
    const controller = new AbortController();
    const watch = collect(
      (await transport.watch('pods', 'default', {
        signal: controller.signal,
        resourceVersion: list.metadata.resourceVersion,
      })) as AsyncIterable<WatchEvent<Pod>>,
    );
    cluster.setPodPhase('default', 'kept', 'Succeeded');
    await settle();
    expect(watch.summary()).toEqual(['MODIFIED:kept']);
    controller.abort();
  });

  it('gives a version back its validity once new changes pass it, naming another state: why a client must relist', async () => {
    const { cluster, snapshot, before, after } = clusterThatWillLoseHistory();
    cluster.restore(snapshot);
    const afterRestore: string[] = [];
    while (Number(cluster.resourceVersion()) <= Number(after)) {
      afterRestore.push(cluster.createPod(pod(`p${afterRestore.length}`)).metadata?.name ?? '');
    }
    expect(afterRestore.length).toBe(Number(after) - Number(before) + 1);
    // The client still at `after` sees only the last change: those up to its version never reach it.
    const stale = await watchEvents(cluster, { resourceVersion: after, signal: AbortSignal.timeout(60_000) });
    expect(stale.summary()).toEqual([`ADDED:${afterRestore.at(-1)}`]);
  });

  it("with futureWatch: 'wait', holds a plain watch silent, as the watch cache does, until the cluster passes its version", async () => {
    const cluster = new FakeCluster({ mode: 'manual', bookmarkIntervalMs: 1_000, futureWatch: 'wait' });
    const snapshot = cluster.snapshot();
    const before = cluster.resourceVersion();
    cluster.createPod(pod('lost'));
    const after = cluster.resourceVersion();
    cluster.restore(snapshot);
    const controller = new AbortController();
    const held = await watchEvents(cluster, {
      resourceVersion: after,
      allowWatchBookmarks: true,
      signal: controller.signal,
    });
    await cluster.clock.advance(5_000);
    expect(held.events).toEqual([]);
    expect(cluster.stats().activeWatches).toBe(1);
    cluster.createPod(pod('reuses-the-version')); // its version is `after`: never sent
    await cluster.clock.advance(1_000);
    expect(cluster.resourceVersion()).toBe(after);
    cluster.createPod(pod('newer'));
    await cluster.clock.advance(1_000);
    expect(held.summary()).toEqual([`BOOKMARK:${after}`, 'ADDED:newer', `BOOKMARK:${Number(after) + 1}`]);
    controller.abort();
    // A streaming list from the future is still refused at once.
    const streaming = await watchEvents(cluster, {
      resourceVersion: String(Number(after) + 10),
      sendInitialEvents: true,
      allowWatchBookmarks: true,
      signal: never(),
    });
    await streaming.finished;
    expect(streaming.summary()).toEqual(['ERROR:504']);
    // A fresh manual cluster has made its four namespaces (default and the kube-* system ones) and its
    // node (with no kubelet, no node lease).
    expect(before).toBe(new FakeCluster({ mode: 'manual' }).resourceVersion());
  });

  it('restores the state of a freshly started fake from a new cluster, stopping the kubelet of vanished pods', async () => {
    const cluster = new FakeCluster();
    const baseline = cluster.clock.pendingTimers();
    cluster.createNamespace('team');
    cluster.createPod(pod('job'), { lifecycle: { runMs: 60_000 } });
    await cluster.clock.advance(5_000);
    expect(cluster.getPod('default', 'job')?.status?.phase).toBe('Running');
    cluster.restore(new FakeCluster().snapshot());
    expect(cluster.resourceVersion()).toBe(new FakeCluster().resourceVersion());
    expect(cluster.listNamespaces().map((namespace) => namespace.metadata?.name)).toEqual(SYSTEM_NAMESPACES);
    expect(cluster.listPods(undefined).items).toEqual([]);
    expect(cluster.clock.pendingTimers()).toBe(baseline);
  });

  it('keeps simulating restored pods with the same uid, and restores graceful deletion as it was', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('job'), { lifecycle: { runMs: 20_000 } });
    cluster.createPod(pod('victim'), { lifecycle: { runMs: 600_000 } });
    await cluster.clock.advance(5_000);
    expect(cluster.getPod('default', 'victim')?.status?.phase).toBe('Running');
    const running = cluster.snapshot();
    cluster.deletePod('default', 'victim', { gracePeriodSeconds: 30 });
    const terminating = cluster.snapshot();

    // Restored to before the delete: the pending deletion is forgotten with the history.
    cluster.restore(running);
    await cluster.clock.advance(40_000);
    const victim = cluster.getPod('default', 'victim');
    expect([victim?.status?.phase, victim?.metadata?.deletionTimestamp]).toEqual(['Running', undefined]);
    // The kubelet kept running the job, which has the same uid: it finished.
    expect(cluster.getPod('default', 'job')?.status?.phase).toBe('Succeeded');

    // Restored to during the delete (its grace period over by now): the deletion completes at once.
    cluster.restore(terminating);
    await cluster.clock.advance(0);
    expect(cluster.getPod('default', 'victim')).toBeUndefined();
  });

  it('refuses something that is not a snapshot', () => {
    expect(() => new FakeCluster().restore({ resourceVersion: '1' })).toThrow(/not a snapshot/);
  });
});
