// The kubelets' heartbeats as coordination.k8s.io/v1 Leases, against kubernetes/kubernetes v1.32:
// pkg/kubelet/kubelet.go (nodeLeaseDurationSeconds 40, nodeLeaseRenewIntervalFraction 0.25: a renewal
// every 10 s), pkg/kubelet/nodelease (the lease owned by its Node), and
// staging/src/k8s.io/component-helpers/apimachinery/lease/controller.go (newLease: holderIdentity,
// leaseDurationSeconds and renewTime only; sync: create the lease if it is missing, else update it).
import type { WatchEvent } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster, type Lease } from './fake-cluster.js';
import { collect, settle } from './test-support.js';

describe('node leases', () => {
  it('each node has kube-node-lease/<node>, held by the node, renewed every 10 s of cluster time', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'a' }, { name: 'b' }] });
    const list = cluster.listLeases('kube-node-lease');
    expect(list).toMatchObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'LeaseList' });
    expect(list.items.map((lease) => lease.metadata?.name)).toEqual(['a', 'b']);
    const lease = cluster.getLease('kube-node-lease', 'a') as Lease;
    expect(lease).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'a',
        namespace: 'kube-node-lease',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Node', name: 'a', uid: cluster.getNode('a')?.metadata?.uid },
        ],
      },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' },
    });
    expect(Object.keys(lease.spec ?? {}).sort()).toEqual([
      'holderIdentity',
      'leaseDurationSeconds',
      'renewTime',
    ]);
    await cluster.clock.advance(9_999);
    expect(cluster.getLease('kube-node-lease', 'a')?.spec?.renewTime).toBe('2026-01-01T00:00:00.000000Z');
    await cluster.clock.advance(1);
    expect(cluster.getLease('kube-node-lease', 'a')?.spec?.renewTime).toBe('2026-01-01T00:00:10.000000Z');
    await cluster.clock.advance(50_000);
    expect(cluster.getLease('kube-node-lease', 'b')?.spec?.renewTime).toBe('2026-01-01T00:01:00.000000Z');
  });

  it('watches see the renewals; an unreachable node renews nothing, a NotReady one goes on; removal deletes it', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'a' }, { name: 'b' }] });
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('leases', 'kube-node-lease', {
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    await cluster.clock.advance(30_000);
    await settle();
    const renewed = (events: WatchEvent<unknown>[], node: string) =>
      events.filter((event) => (event.object as Lease).metadata?.name === node && event.type === 'MODIFIED')
        .length;
    expect(renewed(stream.events, 'a')).toBe(3);
    cluster.setNodeReady('a', 'Unknown');
    cluster.setNodeReady('b', false);
    await cluster.clock.advance(60_000);
    await settle();
    expect(renewed(stream.events, 'a')).toBe(3);
    expect(renewed(stream.events, 'b')).toBe(9);
    expect(cluster.getLease('kube-node-lease', 'a')?.spec?.renewTime).toBe('2026-01-01T00:00:30.000000Z');
    cluster.setNodeReady('a', true); // the kubelet is back: it renews at once, then every 10 s
    expect(cluster.getLease('kube-node-lease', 'a')?.spec?.renewTime).toBe('2026-01-01T00:01:30.000000Z');
    cluster.removeNode('b');
    await settle();
    expect(stream.events.at(-1)).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'b' } } });
    expect(cluster.getLease('kube-node-lease', 'b')).toBeUndefined();
    const before = cluster.clock.pendingTimers();
    cluster.removeNode('a');
    expect(cluster.clock.pendingTimers()).toBe(before - 1); // no renewal left behind
    controller.abort();
  });

  it('renewals keep their own history: they never expire the versions of pods and events', async () => {
    const cluster = new FakeCluster({ historySize: 20 });
    const listed = cluster.listPods('default').metadata.resourceVersion;
    await cluster.clock.advance(600_000); // 60 renewals, three times the history
    const pods = collect(
      cluster.watch('pods', 'default', { resourceVersion: listed, signal: AbortSignal.timeout(60_000) }),
    );
    cluster.createPod({ metadata: { name: 'late' } });
    await settle();
    expect(pods.events.map((event) => event.type)).toEqual(['ADDED']);
    // A lease watch from that old version is 410, as the leases' own watch cache would answer.
    const leases = collect(
      cluster.watch('leases', undefined, { resourceVersion: listed, signal: AbortSignal.timeout(60_000) }),
    );
    await settle();
    expect(leases.events.map((event) => event.type)).toEqual(['ERROR']);
  });

  it('manual mode runs no kubelet: no leases', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    expect(cluster.listLeases(undefined).items).toEqual([]);
    expect(cluster.clock.pendingTimers()).toBe(0);
  });
});
