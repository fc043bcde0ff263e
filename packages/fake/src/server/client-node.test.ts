import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import type { FakeClusterServer } from './serve.js';
import { podManifest, startServer, waitFor } from './server-test-support.js';

// client-node 2.x needs Node >= 22.19; the suite runs on the repository's Node 24.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const supported = nodeMajor >= 23 || (nodeMajor === 22 && Number(process.versions.node.split('.')[1]) >= 19);
if (!supported) {
  console.warn(
    `\n*** Node ${process.versions.node} is too old for @kubernetes/client-node 2.x: SKIPPING its tests. ***\n`,
  );
}

let cluster: FakeCluster;
let server: FakeClusterServer;

async function clients(options: Parameters<typeof startServer>[1] = {}) {
  ({ cluster, server } = await startServer({}, options));
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  config.loadFromString(server.kubeconfig);
  return { k8s, config, core: config.makeApiClient(k8s.CoreV1Api) };
}

describe.skipIf(!supported)('@kubernetes/client-node against the fake API server', () => {
  it('lists, reads, creates and patches pods, and lists events by field selector', async () => {
    const { k8s, core } = await clients();
    cluster.createPod(podManifest('a', { labels: { app: 'web' } }));
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    expect(list.items.map((pod) => pod.metadata?.name)).toEqual(['a']);
    const created = await core.createNamespacedPod({ namespace: 'default', body: podManifest('b') });
    expect(created.metadata?.uid).toBeTruthy();
    const read = await core.readNamespacedPod({ name: 'b', namespace: 'default' });
    expect(read.status?.phase).toBe('Pending');
    await core.patchNamespacedPodStatus(
      { name: 'b', namespace: 'default', body: { status: { phase: 'Running' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(cluster.getPod('default', 'b')?.status?.phase).toBe('Running');
    cluster.recordPodEvent(
      { namespace: 'default', name: 'b' },
      { reason: 'Started', message: 'Started container main' },
    );
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=b',
    });
    expect(events.items.map((event) => event.message)).toEqual(['Started container main']);
    const missing = await core
      .readNamespacedPod({ name: 'nope', namespace: 'default' })
      .catch((error) => error);
    expect(missing.code).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  it('watches with Watch: events in order, and done once when the server ends the watch', async () => {
    const { k8s, config } = await clients();
    cluster.createPod(podManifest('a'));
    const seen: string[] = [];
    let doneCalls = 0;
    const watch = new k8s.Watch(config);
    const controller = await watch.watch(
      '/api/v1/namespaces/default/pods',
      { resourceVersion: cluster.resourceVersion(), allowWatchBookmarks: true },
      (type: string, object: { metadata?: { name?: string } }) => {
        seen.push(`${type}:${object.metadata?.name}`);
      },
      () => {
        doneCalls++;
      },
    );
    cluster.createPod(podManifest('b'));
    cluster.setPodPhase('default', 'b', 'Running');
    await waitFor(() => seen.length === 2, 'two events');
    expect(seen).toEqual(['ADDED:b', 'MODIFIED:b']);
    cluster.faults.endWatches();
    await waitFor(() => doneCalls === 1, 'done');
    controller.abort();
    expect(doneCalls).toBe(1);
  });

  it('keeps an informer (ListWatch) in sync when its watch ends and resuming it meets a 410', async () => {
    const { k8s, config, core } = await clients();
    cluster.createPod(podManifest('a'));
    const informer = k8s.makeInformer(config, '/api/v1/namespaces/default/pods', () =>
      core.listNamespacedPod({ namespace: 'default' }),
    );
    const errors: unknown[] = [];
    informer.on('error', (error: unknown) => {
      errors.push(error);
    });
    let relists = 0;
    const listed = cluster.stats().requests.list;
    await informer.start();
    const names = () =>
      informer
        .list('default')
        .map((pod) => pod.metadata?.name)
        .sort();
    expect(names()).toEqual(['a']);
    await waitFor(() => cluster.stats().activeWatches === 1, 'the informer watch');
    cluster.createPod(podManifest('b'));
    await waitFor(() => names().length === 2, 'b in the cache');
    // The watch ends; while the informer's next watch is delayed, c is created and the history compacted:
    // resuming from the last version seen meets ERROR 410, and the informer lists again.
    cluster.faults.latency(1_000, { verbs: ['watch'] });
    const watchesBefore = cluster.stats().requests.watch;
    cluster.faults.endWatches();
    await waitFor(() => cluster.stats().requests.watch > watchesBefore, 'the informer to watch again');
    cluster.createPod(podManifest('c'));
    cluster.faults.compact();
    cluster.faults.latency(0, { verbs: ['watch'] });
    await cluster.clock.advance(1_000);
    await waitFor(() => names().length === 3, 'c in the cache after the relist', {
      realMs: 30_000,
    });
    expect(names()).toEqual(['a', 'b', 'c']);
    relists = cluster.stats().requests.list - listed;
    expect(relists).toBe(2);
    expect(errors).toEqual([]);
    await informer.stop();
    await waitFor(() => cluster.stats().activeWatches === 0, 'the informer to stop watching', {
      realMs: 30_000,
    });
  });
});
