// A paged list serves exactly what it served when every page copied and sorted the whole store, and a
// page now costs O(page size): the store counts the objects a paged read looks at. Continue tokens are
// the apiserver's shape (meta.k8s.io/v1, rv, start = last key + "\0": storage/etcd3 store.go
// GetList and apimachinery's storage.EncodeContinue).
import { describe, expect, it } from 'vitest';
import { listObjects } from './cluster/list.js';
import { FakeCluster } from './fake-cluster.js';
import { SeededRandom } from './names.js';
import { ObjectStore, objectKey } from './object-store.js';
import { pod } from './test-support.js';

const names = (items: readonly { metadata?: { name?: string } }[]) =>
  items.map((item) => item.metadata?.name);

const decodeToken = (token: string | undefined) =>
  token === undefined ? undefined : JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));

/** Every page of a list with `limit`, calling `between` after each page but the last. */
function pages(
  cluster: FakeCluster,
  namespace: string | undefined,
  query: { limit: number; labelSelector?: string },
  between: (page: number) => void = () => {},
) {
  const seen = [];
  let next: string | undefined;
  do {
    const page = cluster.listPods(namespace, { ...query, ...(next ? { continue: next } : {}) });
    seen.push(page);
    next = page.metadata.continue;
    if (next) between(seen.length);
  } while (next);
  return seen;
}

describe('paged lists serve what they served before', () => {
  it('in key order across writes between pages, with the same tokens and remaining counts', () => {
    const cluster = new FakeCluster({ mode: 'manual', namespaces: ['a', 'b', 'c'] });
    const random = new SeededRandom(7);
    // Names that sort differently as strings than as numbers, in three namespaces.
    for (let index = 0; index < 60; index++) {
      cluster.createPod(pod(`p${index}`, { namespace: ['a', 'b', 'c'][index % 3] }));
    }
    const expected = cluster.listPods('b').items;
    const version = cluster.resourceVersion();
    let created = 0;
    const result = pages(cluster, 'b', { limit: 7 }, () => {
      // Deletes, creations before and after the cursor, updates, in this and other namespaces.
      for (let step = 0; step < 4; step++) {
        const existing = cluster.listPods('b').items;
        const victim = existing[Math.floor(random.next() * existing.length)]?.metadata?.name;
        if (victim) cluster.deletePod('b', victim, { gracePeriodSeconds: 0 });
        cluster.createPod(pod(`p${Math.floor(random.next() * 100)}x${created++}`, { namespace: 'b' }));
        cluster.createPod(pod(`q${created++}`, { namespace: 'a' }));
        const changed = cluster.listPods('b').items[0]?.metadata?.name;
        if (changed) cluster.setPodPhase('b', changed, created % 2 ? 'Running' : 'Pending');
      }
    });
    expect(result.flatMap((page) => page.items)).toEqual(expected);
    let served = 0;
    for (const [index, page] of result.entries()) {
      served += page.items.length;
      expect(page.metadata.resourceVersion).toBe(version);
      if (index === result.length - 1) {
        expect(page.metadata.continue).toBeUndefined();
        expect(page.metadata.remainingItemCount).toBeUndefined();
        continue;
      }
      expect(page.items).toHaveLength(7);
      expect(decodeToken(page.metadata.continue)).toEqual({
        v: 'meta.k8s.io/v1',
        rv: Number(version),
        start: `b/${page.items[6]?.metadata?.name}\u0000`,
      });
      expect(page.metadata.remainingItemCount).toBe(expected.length - served);
    }
  });

  it('with a label selector: matching pods only, a token while more match, no remaining count', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    for (let index = 0; index < 30; index++) {
      cluster.createPod(
        pod(`p${String(index).padStart(2, '0')}`, { labels: { even: String(index % 2 === 0) } }),
      );
    }
    const expected = names(cluster.listPods('default', { labelSelector: 'even=true' }).items);
    const result = pages(cluster, 'default', { limit: 5, labelSelector: 'even=true' }, () => {
      cluster.createPod(pod(`p${cluster.listPods('default').items.length}z`, { labels: { even: 'true' } }));
    });
    expect(result.flatMap((page) => names(page.items))).toEqual(expected);
    expect(result.map((page) => page.items.length)).toEqual([5, 5, 5]);
    expect(result.every((page) => page.metadata.remainingItemCount === undefined)).toBe(true);
    expect(result[2]?.metadata.continue).toBeUndefined();
  });

  it('across all namespaces, and for namespaces (cluster-scoped keys)', () => {
    const cluster = new FakeCluster({ mode: 'manual', namespaces: ['b', 'a', 'a-b'] });
    for (const namespace of ['b', 'a', 'a-b'])
      for (const name of ['y', 'x']) cluster.createPod(pod(name, { namespace }));
    const all = pages(cluster, undefined, { limit: 4 });
    expect(
      all.flatMap((page) =>
        page.items.map((item) => objectKey(item.metadata?.namespace, item.metadata?.name ?? '')),
      ),
    ).toEqual(['a-b/x', 'a-b/y', 'a/x', 'a/y', 'b/x', 'b/y']);
    expect(all[0]?.metadata.remainingItemCount).toBe(2);
    const namespaces = cluster.queryNamespaces({ limit: 2 });
    expect(names(namespaces.items)).toEqual(['a', 'a-b']);
    expect(decodeToken(namespaces.metadata.continue)?.start).toBe('a-b\u0000');
    // The rest, whichever namespaces the cluster creates on its own (default, kube-system, ...).
    const rest = names(cluster.queryNamespaces({ continue: namespaces.metadata.continue }).items);
    expect(rest[0]).toBe('b');
    expect(rest).toEqual(names(cluster.queryNamespaces().items).slice(2));
  });

  it('answers a continue token the history no longer covers with 410 Expired', () => {
    const cluster = new FakeCluster({ mode: 'manual', historySize: 3 });
    for (let index = 0; index < 5; index++) cluster.createPod(pod(`p${index}`));
    const first = cluster.listPods('default', { limit: 2 });
    for (let index = 0; index < 4; index++)
      cluster.setPodPhase('default', 'p4', index % 2 ? 'Pending' : 'Running');
    expect(() => cluster.listPods('default', { limit: 2, continue: first.metadata.continue })).toThrow(
      expect.objectContaining({ code: 410, reason: 'Expired' }),
    );
  });
});

describe('the cost of a page', () => {
  function storeWith(namespaces: Record<string, number>): ObjectStore {
    const store = new ObjectStore(1_000);
    for (const [namespace, count] of Object.entries(namespaces)) {
      for (let index = 0; index < count; index++) {
        const name = `pod-${index}`;
        store.commit('pods', 'ADDED', objectKey(namespace, name), { metadata: { name, namespace } });
      }
    }
    return store;
  }

  it('looks at the page and one more, not the whole store', () => {
    const store = storeWith({ big: 5_000, default: 3_000, small: 20 });
    let next: string | undefined;
    let pageCount = 0;
    let items = 0;
    do {
      const before = store.visited;
      const page = listObjects(store, 'pods', 'default', { limit: 100, ...(next ? { continue: next } : {}) });
      expect(store.visited - before).toBeLessThanOrEqual(101);
      items += page.items.length;
      pageCount += 1;
      next = page.metadata.continue;
    } while (next);
    expect([pageCount, items]).toEqual([30, 3_000]);
    const before = store.visited;
    expect(listObjects(store, 'pods', 'small', {}).items).toHaveLength(20);
    expect(store.visited - before).toBe(20);
  });

  it('at an older version, adds only the changes since then', () => {
    const store = storeWith({ default: 2_000 });
    const first = listObjects(store, 'pods', 'default', { limit: 100 });
    for (let index = 0; index < 50; index++) {
      const name = `new-${index}`;
      store.commit('pods', 'ADDED', objectKey('default', name), { metadata: { name, namespace: 'default' } });
    }
    const before = store.visited;
    const second = listObjects(store, 'pods', 'default', { limit: 100, continue: first.metadata.continue });
    expect(store.visited - before).toBeLessThanOrEqual(101 + 50);
    expect(second.metadata.remainingItemCount).toBe(1_800);
  });
});
