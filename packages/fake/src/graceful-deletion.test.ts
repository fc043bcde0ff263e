import type { Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, pod, settle } from './test-support.js';

async function runningPod(cluster: FakeCluster, name = 'web', extra: Partial<Pod['metadata']> = {}) {
  cluster.createPod({ ...pod(name), metadata: { ...pod(name).metadata, ...extra } });
  // Scheduled pods are deleted gracefully; unscheduled ones at once.
  const current = cluster.getPod('default', name) as Pod;
  cluster.updatePod({
    ...current,
    spec: { ...current.spec, containers: current.spec?.containers ?? [], nodeName: 'fake-node-1' },
  });
  return cluster.setPodPhase('default', name, 'Running');
}

describe('graceful deletion', () => {
  it('sets deletionTimestamp, then deletes after the grace period: watchers see MODIFIED then DELETED', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster);
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    const deleting = cluster.deletePod('default', 'web', { gracePeriodSeconds: 10 });
    expect(deleting.metadata?.deletionTimestamp).toBe('2026-01-01T00:00:10Z');
    expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(10);
    await cluster.clock.advance(9_999);
    expect(cluster.getPod('default', 'web')).toBeDefined();
    await cluster.clock.advance(1);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    await settle();
    expect(stream.summary()).toEqual(['MODIFIED:web', 'DELETED:web']);
    controller.abort();
  });

  it('defaults the grace period to spec.terminationGracePeriodSeconds', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod({ ...pod('web'), spec: { ...pod('web').spec, terminationGracePeriodSeconds: 3 } });
    const current = cluster.getPod('default', 'web') as Pod;
    cluster.updatePod({
      ...current,
      spec: { ...current.spec, containers: current.spec?.containers ?? [], nodeName: 'n' },
    });
    expect(cluster.deletePod('default', 'web').metadata?.deletionGracePeriodSeconds).toBe(3);
    await cluster.clock.advance(3_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('deletes at once with gracePeriodSeconds 0, for unscheduled pods and for finished pods', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster, 'a');
    cluster.createPod(pod('b'));
    await runningPod(cluster, 'c');
    cluster.setPodPhase('default', 'c', 'Succeeded');
    const controller = new AbortController();
    const stream = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: controller.signal,
      }),
    );
    cluster.deletePod('default', 'a', { gracePeriodSeconds: 0 });
    cluster.deletePod('default', 'b');
    cluster.deletePod('default', 'c');
    expect(cluster.listPods('default').items).toHaveLength(0);
    await settle();
    expect(stream.summary()).toEqual(['DELETED:a', 'DELETED:b', 'DELETED:c']);
    controller.abort();
  });

  it('keeps a pod with finalizers until they are removed', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster, 'web', { finalizers: ['example.com/keep'] });
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 5 });
    await cluster.clock.advance(60_000);
    const kept = cluster.getPod('default', 'web');
    expect(kept?.metadata?.deletionTimestamp).toBeDefined();
    expect(kept?.metadata?.deletionGracePeriodSeconds).toBe(0);
    expect(cluster.removeFinalizers('default', 'web')).toBeUndefined();
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('with finalizers and grace 0, marks the pod and deletes it when the finalizers go', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod({ ...pod('web'), metadata: { ...pod('web').metadata, finalizers: ['x/y'] } });
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 0 });
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBe('2026-01-01T00:00:00Z');
    const current = cluster.getPod('default', 'web') as Pod;
    cluster.updatePod({ ...current, metadata: { ...current.metadata, finalizers: [] } });
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('removing finalizers before the grace period ends leaves the pod until it ends', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster, 'web', { finalizers: ['x/y'] });
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 10 });
    expect(cluster.removeFinalizers('default', 'web')?.metadata?.finalizers).toBeUndefined();
    await cluster.clock.advance(10_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('checks uid and resourceVersion preconditions with 409 Conflict', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const running = await runningPod(cluster);
    expect(() => cluster.deletePod('default', 'web', { preconditions: { uid: 'other' } })).toThrow(
      expect.objectContaining({
        code: 409,
        reason: 'Conflict',
        serverMessage: expect.stringContaining('UID in precondition: other'),
      }),
    );
    expect(() => cluster.deletePod('default', 'web', { preconditions: { resourceVersion: '1' } })).toThrow(
      expect.objectContaining({
        code: 409,
        serverMessage: expect.stringContaining('ResourceVersion in precondition: 1'),
      }),
    );
    expect(() => cluster.deletePod('default', 'web', { propagationPolicy: 'Sometimes' })).toThrow(
      expect.objectContaining({ code: 422 }),
    );
    const deleting = cluster.deletePod('default', 'web', {
      gracePeriodSeconds: 0,
      preconditions: { uid: running.metadata?.uid, resourceVersion: running.metadata?.resourceVersion },
      propagationPolicy: 'Foreground',
    });
    expect(deleting.metadata?.name).toBe('web');
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('a second delete can shorten the grace period but not extend it', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster);
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 30 });
    const version = cluster.resourceVersion();
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 60 });
    expect(cluster.resourceVersion()).toBe(version);
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 2 });
    await cluster.clock.advance(2_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    expect(cluster.clock.pendingTimers()).toBe(0);
  });

  it('a pod recreated under the same name is not removed by the old deletion', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    await runningPod(cluster, 'web', { finalizers: ['x/y'] });
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 0 });
    cluster.removeFinalizers('default', 'web');
    await runningPod(cluster);
    await cluster.clock.advance(60_000);
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBeUndefined();
  });
});
