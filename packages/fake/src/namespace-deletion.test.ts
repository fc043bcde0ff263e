// Namespace deletion and deletecollection in process, on the fake clock (the socket side, with kubectl,
// is in server/namespaces.test.ts).
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, pod, settle } from './test-support.js';

describe('namespace deletion on the fake clock', () => {
  it('turns Terminating, deletes content (pods gracefully, with their kubelet events dropped), then goes', async () => {
    const cluster = new FakeCluster({ namespaces: ['team'] });
    // A container that ignores SIGTERM: the kubelet kills it at the end of its 30 s grace period.
    cluster.createPod(pod('worker', { namespace: 'team' }), {
      lifecycle: { runMs: 600_000, ignoreSigterm: true },
    });
    await cluster.clock.advance(5_000);
    expect(cluster.getPod('team', 'worker')?.status?.phase).toBe('Running');
    expect(cluster.listEvents('team').items.length).toBeGreaterThan(0);
    const controller = new AbortController();
    const namespaces = collect(cluster.watch('namespaces', undefined, { signal: controller.signal }));
    const events = collect(
      cluster.watch('events', 'team', {
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    await settle();

    const terminating = cluster.deleteNamespace('team');
    expect(terminating.status?.phase).toBe('Terminating');
    expect(cluster.listEvents('team').items).toEqual([]);
    expect(() => cluster.createPod(pod('late', { namespace: 'team' }))).toThrow(
      'unable to create new content in namespace team because it is being terminated',
    );
    // The pod's 30 s grace period holds the namespace.
    await cluster.clock.advance(29_000);
    expect(cluster.getNamespace('team')?.status?.phase).toBe('Terminating');
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('team', 'worker')).toBeUndefined();
    expect(cluster.getNamespace('team')).toBeUndefined();
    await settle();
    expect(namespaces.summary().filter((entry) => entry.endsWith(':team'))).toEqual([
      'ADDED:team',
      'MODIFIED:team',
      'DELETED:team',
    ]);
    // Only deletions: the kubelet's Killing event in a Terminating namespace was refused.
    expect(events.summary().every((entry) => entry.startsWith('DELETED:'))).toBe(true);
    // A namespace of that name can be made again.
    cluster.createNamespace('team');
    controller.abort();
  });

  it('a restored Terminating namespace finishes when its restored pods go', async () => {
    const cluster = new FakeCluster({ namespaces: ['team'] });
    cluster.createPod(pod('worker', { namespace: 'team' }), { lifecycle: { runMs: 600_000 } });
    await cluster.clock.advance(5_000);
    cluster.deleteNamespace('team');
    const snapshot = cluster.snapshot();
    await cluster.clock.advance(10_000);
    cluster.restore(snapshot);
    expect(cluster.getNamespace('team')?.status?.phase).toBe('Terminating');
    // The restored pod's deletion is re-armed for the rest of its grace period (20 s).
    await cluster.clock.advance(19_000);
    expect(cluster.getNamespace('team')?.status?.phase).toBe('Terminating');
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('team', 'worker')).toBeUndefined();
    expect(cluster.getNamespace('team')).toBeUndefined();
  });

  it('deleteCollection deletes what the selectors match, each as a single delete would', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod(pod('a', { labels: { app: 'web' } }));
    cluster.createPod(pod('b', { labels: { app: 'db' } }));
    const deleted = cluster.deleteCollection('pods', 'default', { labelSelector: 'app=web' });
    expect(deleted.kind).toBe('PodList');
    expect(deleted.items.map((item) => item.metadata?.name)).toEqual(['a']);
    expect(cluster.listPods('default').items.map((item) => item.metadata?.name)).toEqual(['b']);
    expect(() => cluster.deleteCollection('pods', 'default', { fieldSelector: 'spec.bogus=1' })).toThrow(
      'field label not supported',
    );
  });
});
