import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { pod } from './test-support.js';

function clusterWithPods(count: number, options: ConstructorParameters<typeof FakeCluster>[0] = {}) {
  const cluster = new FakeCluster({ mode: 'manual', ...options });
  for (let index = 0; index < count; index++) cluster.createPod(pod(`pod-${index}`));
  return cluster;
}

const names = (items: readonly { metadata?: { name?: string } }[]) =>
  items.map((item) => item.metadata?.name);

describe('paged lists', () => {
  it('pages with limit and continue, in key order, at one snapshot resourceVersion', () => {
    const cluster = clusterWithPods(5);
    const first = cluster.listPods('default', { limit: 2 });
    expect(names(first.items)).toEqual(['pod-0', 'pod-1']);
    expect(first.metadata.remainingItemCount).toBe(3);
    expect(first.metadata.continue).toBeTruthy();
    const second = cluster.listPods('default', { limit: 2, continue: first.metadata.continue });
    const third = cluster.listPods('default', { limit: 2, continue: second.metadata.continue });
    expect(names(second.items)).toEqual(['pod-2', 'pod-3']);
    expect(names(third.items)).toEqual(['pod-4']);
    expect(third.metadata.continue).toBeUndefined();
    expect(new Set([first, second, third].map((page) => page.metadata.resourceVersion)).size).toBe(1);
  });

  it('serves the snapshot of the first page while writes go on', () => {
    const cluster = clusterWithPods(4);
    const first = cluster.listPods('default', { limit: 2 });
    cluster.deletePod('default', 'pod-3', { gracePeriodSeconds: 0 });
    cluster.createPod(pod('pod-2a'));
    cluster.setPodPhase('default', 'pod-2', 'Running');
    const second = cluster.listPods('default', { limit: 10, continue: first.metadata.continue });
    expect(names(second.items)).toEqual(['pod-2', 'pod-3']);
    expect(second.items[0]?.status?.phase).toBe('Pending');
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(names(cluster.listPods('default').items)).toEqual(['pod-0', 'pod-1', 'pod-2', 'pod-2a']);
  });

  it('answers a continue token older than the history window with 410 Expired', () => {
    const cluster = clusterWithPods(3, { historySize: 2 });
    const first = cluster.listPods('default', { limit: 1 });
    cluster.setPodPhase('default', 'pod-0', 'Running');
    cluster.setPodPhase('default', 'pod-1', 'Running');
    cluster.setPodPhase('default', 'pod-2', 'Running');
    expect(() => cluster.listPods('default', { limit: 1, continue: first.metadata.continue })).toThrow(
      expect.objectContaining({
        code: 410,
        reason: 'Expired',
        serverMessage: expect.stringContaining('continue parameter is too old'),
      }),
    );
  });

  it('expires continue tokens on compact()', () => {
    const cluster = clusterWithPods(3);
    const first = cluster.listPods('default', { limit: 1 });
    cluster.createPod(pod('later'));
    cluster.faults.compact();
    expect(() => cluster.listPods('default', { continue: first.metadata.continue })).toThrow(
      expect.objectContaining({ code: 410 }),
    );
  });

  it('rejects a malformed continue token with 400', () => {
    const cluster = clusterWithPods(1);
    expect(() => cluster.listPods('default', { continue: 'garbage' })).toThrow(
      expect.objectContaining({ code: 400 }),
    );
  });

  it('filters with selectors across pages and omits remainingItemCount then', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    for (let index = 0; index < 6; index++)
      cluster.createPod(pod(`p${index}`, { labels: { even: String(index % 2 === 0) } }));
    const first = cluster.listPods('default', { labelSelector: 'even=true', limit: 2 });
    expect(names(first.items)).toEqual(['p0', 'p2']);
    expect(first.metadata.remainingItemCount).toBeUndefined();
    const rest = cluster.listPods('default', {
      labelSelector: 'even=true',
      continue: first.metadata.continue,
    });
    expect(names(rest.items)).toEqual(['p4']);
  });
});

describe('list resourceVersion semantics', () => {
  it('serves the latest state without resourceVersion, and for NotOlderThan', () => {
    const cluster = clusterWithPods(2);
    const old = cluster.resourceVersion();
    cluster.createPod(pod('pod-9'));
    for (const query of [
      {},
      { resourceVersion: old },
      { resourceVersion: old, resourceVersionMatch: 'NotOlderThan' as const },
    ]) {
      const list = cluster.listPods('default', query);
      expect(list.metadata.resourceVersion).toBe(cluster.resourceVersion());
      expect(list.items).toHaveLength(3);
    }
  });

  it('serves the exact past state with Exact while history holds it, else 410', () => {
    const cluster = clusterWithPods(2, { historySize: 3 });
    const old = cluster.resourceVersion();
    cluster.createPod(pod('pod-9'));
    const exact = cluster.listPods('default', { resourceVersion: old, resourceVersionMatch: 'Exact' });
    expect(exact.metadata.resourceVersion).toBe(old);
    expect(names(exact.items)).toEqual(['pod-0', 'pod-1']);
    for (let index = 0; index < 3; index++)
      cluster.setPodPhase('default', 'pod-9', index % 2 ? 'Pending' : 'Running');
    expect(() =>
      cluster.listPods('default', { resourceVersion: old, resourceVersionMatch: 'Exact' }),
    ).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }));
  });

  it('answers a future resourceVersion with 504 and invalid combinations with 422', () => {
    const cluster = clusterWithPods(1);
    expect(() => cluster.listPods('default', { resourceVersion: '1000' })).toThrow(
      expect.objectContaining({ code: 504 }),
    );
    expect(() =>
      cluster.listPods('default', { resourceVersion: '0', resourceVersionMatch: 'Exact' }),
    ).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => cluster.listPods('default', { resourceVersionMatch: 'Exact' })).toThrow(
      expect.objectContaining({ code: 422 }),
    );
  });

  it('lists across namespaces with undefined', () => {
    const cluster = new FakeCluster({ mode: 'manual', namespaces: ['a', 'b'] });
    cluster.createPod(pod('x', { namespace: 'b' }));
    cluster.createPod(pod('x', { namespace: 'a' }));
    expect(cluster.listPods(undefined).items.map((item) => item.metadata?.namespace)).toEqual(['a', 'b']);
    expect(cluster.listPods('a').items).toHaveLength(1);
  });
});
