import { KubernetesError } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { pod } from './test-support.js';

function errorOf(run: () => unknown): KubernetesError {
  try {
    run();
  } catch (error) {
    if (KubernetesError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a KubernetesError');
}

describe('creating and reading objects', () => {
  it('creates pods as the API server does', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const created = cluster.createPod({
      metadata: { name: 'web', resourceVersion: '77', uid: 'mine' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
      status: { phase: 'Running' },
    });
    expect(created.metadata).toMatchObject({
      name: 'web',
      namespace: 'default',
      creationTimestamp: '2026-01-01T00:00:00Z',
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toBe(cluster.resourceVersion());
    expect(created.status?.phase).toBe('Pending');
    expect(created.spec?.terminationGracePeriodSeconds).toBe(30);
  });

  it('honours generateName with the same names on every run', () => {
    const names = () => {
      const cluster = new FakeCluster({ mode: 'manual' });
      return [1, 2].map(() => cluster.createPod({ metadata: { generateName: 'job-' } }).metadata?.name);
    };
    const first = names();
    expect(first[0]).toMatch(/^job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(first[0]).not.toBe(first[1]);
    expect(names()).toEqual(first);
  });

  it('hands out deep copies in both directions', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const input = pod('web', { labels: { a: '1' } });
    const created = cluster.createPod(input);
    input.metadata.labels = { a: 'changed' };
    (created.metadata?.labels as Record<string, string>).a = 'changed';
    (cluster.getPod('default', 'web')?.metadata?.labels as Record<string, string>).a = 'changed';
    expect(cluster.getPod('default', 'web')?.metadata?.labels).toEqual({ a: '1' });
  });

  it('answers duplicates with 409 AlreadyExists, missing namespaces and objects with 404', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod(pod('web'));
    const duplicate = errorOf(() => cluster.createPod(pod('web')));
    expect(duplicate).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      serverMessage: 'pods "web" already exists',
    });
    expect(duplicate.status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      details: { name: 'web', kind: 'pods' },
    });
    expect(errorOf(() => cluster.createPod(pod('web', { namespace: 'nope' })))).toMatchObject({
      code: 404,
      serverMessage: 'namespaces "nope" not found',
    });
    expect(errorOf(() => cluster.deletePod('default', 'ghost'))).toMatchObject({
      code: 404,
      reason: 'NotFound',
    });
    expect(errorOf(() => cluster.createNamespace('default'))).toMatchObject({ code: 409 });
    expect(cluster.listNamespaces().map((namespace) => namespace.metadata?.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
  });

  it('answers bad names with 422 Invalid and causes', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const error = errorOf(() => cluster.createPod(pod('Bad_Name')));
    expect(error).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(error.status?.details?.causes).toEqual([
      expect.objectContaining({
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: expect.stringContaining('RFC 1123'),
      }),
    ]);
    expect(errorOf(() => cluster.createPod({ metadata: {} }))).toMatchObject({ code: 422 });
    expect(errorOf(() => cluster.createNamespace('has.dot'))).toMatchObject({ code: 422 });
  });

  it('updates with optimistic concurrency and writes nothing for a no-op', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const created = cluster.createPod(pod('web'));
    const updated = cluster.updatePod({ ...created, metadata: { ...created.metadata, labels: { v: '2' } } });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(
      errorOf(() => cluster.updatePod({ ...created, metadata: { ...created.metadata, labels: { v: '3' } } })),
    ).toMatchObject({
      code: 409,
      reason: 'Conflict',
    });
    const version = cluster.resourceVersion();
    expect(cluster.updatePod(updated).metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion);
    expect(cluster.resourceVersion()).toBe(version);
    // A plain update keeps the status; the status subresource changes only the status.
    cluster.updatePod({ ...updated, status: { phase: 'Running' } });
    expect(cluster.getPod('default', 'web')?.status?.phase).toBe('Pending');
    cluster.updatePod({ metadata: { name: 'web' }, status: { phase: 'Running' } }, { subresource: 'status' });
    expect(cluster.getPod('default', 'web')?.status?.phase).toBe('Running');
    expect(cluster.getPod('default', 'web')?.metadata?.labels).toEqual({ v: '2' });
  });

  it('fills consistent conditions and container statuses in setPodPhase', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod(pod('web'));
    const running = cluster.setPodPhase('default', 'web', 'Running');
    expect(running.status?.conditions?.find((condition) => condition.type === 'Ready')?.status).toBe('True');
    expect(running.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    const done = cluster.setPodPhase('default', 'web', 'Failed', { message: 'boom' });
    expect(done.status?.message).toBe('boom');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });
  });
});

describe('events', () => {
  it('records pod events like the kubelet recorder and aggregates repeats', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const target = cluster.createPod(pod('web'));
    const first = cluster.recordPodEvent(
      { namespace: 'default', name: 'web' },
      { reason: 'BackOff', message: 'again', type: 'Warning' },
    );
    expect(first.metadata?.name).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(first.involvedObject).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      name: 'web',
      namespace: 'default',
      uid: target.metadata?.uid,
    });
    expect(first).toMatchObject({ count: 1, type: 'Warning', source: { component: 'kubelet' } });
    await cluster.clock.advance(5_000);
    const second = cluster.recordPodEvent(
      { namespace: 'default', name: 'web' },
      { reason: 'BackOff', message: 'again', type: 'Warning' },
    );
    expect(second.metadata?.name).toBe(first.metadata?.name);
    expect(second.count).toBe(2);
    expect(second.lastTimestamp).toBe('2026-01-01T00:00:05Z');
    expect(second.firstTimestamp).toBe('2026-01-01T00:00:00Z');
    const other = cluster.recordPodEvent(
      { namespace: 'default', name: 'web' },
      { reason: 'BackOff', message: 'different' },
    );
    expect(other.metadata?.name).not.toBe(first.metadata?.name);
    expect(cluster.listEvents('default').items).toHaveLength(2);
    expect(cluster.deleteEvent('default', other.metadata?.name as string).message).toBe('different');
    expect(cluster.getEvent('default', other.metadata?.name as string)).toBeUndefined();
  });

  it('creates arbitrary events', () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const event = cluster.createEvent({
      metadata: { name: 'custom.1' },
      involvedObject: { kind: 'Pod', name: 'x', namespace: 'default' },
      reason: 'Custom',
      message: 'hello',
    });
    expect(event.metadata?.namespace).toBe('default');
    expect(cluster.listEvents('default', { fieldSelector: 'reason=Custom' }).items).toHaveLength(1);
  });
});
