// Two watch-cache and etcd3 storage details, in process on the fake clock and over sockets:
// - an expired continue token's 410 carries a fresh inconsistent-continue token (etcd3 store.go,
//   handleCompactedErrorForPaging), which lists the rest at the latest version;
// - a watch with bookmarks gets one 2 s before its timeoutSeconds ends it (cacher's
//   cacheWatcher.nextBookmarkTime), so the client resumes from a fresh version.
import { describe, expect, it } from 'vitest';
import { FakeCluster } from '../fake-cluster.js';
import { collect, pod, settle } from '../test-support.js';
import { openHttpWatch, podManifest, send, startServer, waitFor } from './server-test-support.js';

function clusterWithPods(count: number, historySize: number): FakeCluster {
  const cluster = new FakeCluster({ mode: 'manual', historySize });
  for (let index = 0; index < count; index++) cluster.createPod(pod(`pod-${index}`));
  return cluster;
}

function expiredStatusOf(action: () => unknown): { code?: number; metadata?: { continue?: string } } {
  try {
    action();
  } catch (error) {
    return (error as { status: { code?: number; metadata?: { continue?: string } } }).status;
  }
  throw new Error('expected a 410');
}

describe('an expired continue token', () => {
  it('answers 410 with an inconsistent-continue token that lists the rest at the latest version', () => {
    const cluster = clusterWithPods(3, 2);
    const first = cluster.listPods('default', { limit: 1 });
    cluster.setPodPhase('default', 'pod-1', 'Running');
    cluster.createPod(pod('pod-3'));
    cluster.deletePod('default', 'pod-2');
    const status = expiredStatusOf(() =>
      cluster.listPods('default', { limit: 1, continue: first.metadata.continue }),
    );
    expect(status.code).toBe(410);
    const fresh = status.metadata?.continue;
    expect(fresh).toBeTruthy();
    const rest = cluster.listPods('default', { limit: 1, continue: fresh });
    // The rest of the list after pod-0, as it is now: pod-1 running, pod-2 gone, pod-3 new.
    expect(rest.items.map((item) => [item.metadata?.name, item.status?.phase])).toEqual([
      ['pod-1', 'Running'],
    ]);
    expect(rest.metadata.resourceVersion).toBe(cluster.resourceVersion());
    const last = cluster.listPods('default', { continue: rest.metadata.continue });
    expect(last.items.map((item) => item.metadata?.name)).toEqual(['pod-3']);
  });

  it('carries the token in the Status over the wire', async () => {
    const { cluster, server } = await startServer({ historySize: 2 });
    for (const name of ['a', 'b', 'c']) cluster.createPod(podManifest(name));
    const first = (await send(server.url, 'GET', '/api/v1/namespaces/default/pods?limit=1')).json();
    for (const name of ['d', 'e', 'f']) cluster.createPod(podManifest(name));
    const token = encodeURIComponent(String(first.metadata?.continue));
    const expired = await send(
      server.url,
      'GET',
      `/api/v1/namespaces/default/pods?limit=1&continue=${token}`,
    );
    expect(expired.status).toBe(410);
    expect(expired.json()).toMatchObject({
      kind: 'Status',
      reason: 'Expired',
      metadata: { continue: expect.any(String) },
    });
    const fresh = encodeURIComponent(String(expired.json().metadata?.continue));
    const rest = (await send(server.url, 'GET', `/api/v1/namespaces/default/pods?continue=${fresh}`)).json();
    expect(rest.items?.map((item) => (item.metadata as { name: string }).name)).toEqual([
      'b',
      'c',
      'd',
      'e',
      'f',
    ]);
  });
});

describe('the bookmark before a watch times out', () => {
  it('comes 2 s before timeoutSeconds, on the fake clock', async () => {
    const cluster = new FakeCluster({ mode: 'manual', bookmarkIntervalMs: 60_000 });
    const controller = new AbortController();
    const from = cluster.resourceVersion();
    const stream = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: from,
        allowWatchBookmarks: true,
        timeoutSeconds: 10,
        signal: controller.signal,
      }),
    );
    cluster.createPod(pod('web'));
    await cluster.clock.advance(7_999);
    await settle();
    expect(stream.summary()).toEqual(['ADDED:web']);
    await cluster.clock.advance(1);
    await settle();
    expect(stream.summary()).toEqual(['ADDED:web', `BOOKMARK:${cluster.resourceVersion()}`]);
    await cluster.clock.advance(2_000);
    await stream.finished;
    expect(stream.summary()).toEqual(['ADDED:web', `BOOKMARK:${cluster.resourceVersion()}`]);
    // A watch shorter than 2 s gets none; one without bookmarks gets none.
    const short = collect(
      cluster.watch('pods', 'default', {
        allowWatchBookmarks: true,
        timeoutSeconds: 1,
        signal: controller.signal,
      }),
    );
    await cluster.clock.advance(1_000);
    await short.finished;
    expect(short.summary()).toEqual(['ADDED:web']);
  });

  it('comes before the clean end over HTTP', async () => {
    const { cluster, server } = await startServer();
    const watch = await openHttpWatch(
      server.url,
      `/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=30&resourceVersion=${cluster.resourceVersion()}`,
    );
    await cluster.clock.advance(28_000);
    await waitFor(() => watch.summary().length === 1, 'the bookmark');
    expect(watch.summary()).toEqual([`BOOKMARK:${cluster.resourceVersion()}`]);
    expect(watch.end).toBe('open');
    await cluster.clock.advance(2_000);
    await waitFor(() => watch.end !== 'open', 'the end');
    expect(watch.end).toBe('clean');
  });
});
