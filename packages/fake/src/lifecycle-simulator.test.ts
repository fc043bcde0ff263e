import type { KubernetesEvent, Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { LIFECYCLE_ANNOTATION } from './lifecycle.js';
import { collect, pod, settle } from './test-support.js';

function events(cluster: FakeCluster, name = 'web'): string[] {
  return (
    cluster.listEvents('default', { fieldSelector: { 'involvedObject.name': name } })
      .items as KubernetesEvent[]
  )
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((event) => `${event.type} ${event.reason} x${event.count}: ${event.message}`);
}

const phase = (cluster: FakeCluster, name = 'web') => cluster.getPod('default', name)?.status?.phase;

describe('lifecycle simulator', () => {
  it('runs a pod to Succeeded with the events and statuses of a real cluster', async () => {
    const cluster = new FakeCluster();
    const created = cluster.createPod(pod('web', { image: 'nginx' }));
    const phases = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    await cluster.clock.advance(100);
    expect(cluster.getPod('default', 'web')?.spec?.nodeName).toBe('fake-node-1');
    expect(phase(cluster)).toBe('Pending');
    await cluster.clock.advance(1_000);
    const running = cluster.getPod('default', 'web') as Pod;
    expect(running.status?.phase).toBe('Running');
    expect(
      running.status?.conditions?.map((condition) => `${condition.type}=${condition.status}`).sort(),
    ).toEqual(['ContainersReady=True', 'Initialized=True', 'PodScheduled=True', 'Ready=True']);
    expect(running.status?.containerStatuses?.[0]).toMatchObject({
      name: 'main',
      ready: true,
      started: true,
    });
    await cluster.clock.advance(2_000);
    const done = cluster.getPod('default', 'web') as Pod;
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    expect(done.status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(events(cluster)).toEqual([
      'Normal Scheduled x1: Successfully assigned default/web to fake-node-1',
      'Normal Pulling x1: Pulling image "nginx"',
      'Normal Pulled x1: Successfully pulled image "nginx" in 1s (1s including waiting). Image size: 4269694 bytes.',
      'Normal Created x1: Created container main',
      'Normal Started x1: Started container main',
    ]);
    const scheduled = cluster.listEvents('default', { fieldSelector: 'reason=Scheduled' })
      .items[0] as KubernetesEvent;
    expect(scheduled.involvedObject).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      name: 'web',
      namespace: 'default',
      uid: created.metadata?.uid,
    });
    expect(scheduled.source).toEqual({ component: 'default-scheduler' });
    const started = cluster.listEvents('default', { fieldSelector: 'reason=Started' })
      .items[0] as KubernetesEvent;
    expect(started.source).toEqual({ component: 'kubelet', host: 'fake-node-1' });
    expect(started.involvedObject.fieldPath).toBe('spec.containers{main}');
    await settle();
    const seenPhases = phases.events.map((event) => (event.object as Pod).status?.phase);
    expect(seenPhases.at(-1)).toBe('Succeeded');
    expect(seenPhases).toContain('Running');
    expect(cluster.clock.pendingTimers()).toBe(1); // only the watch's own timeout
  });

  it('ends Failed with the exit code', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { exitCode: 3, runMs: 500 } });
    await cluster.clock.advance(100 + 1_000 + 500);
    const done = cluster.getPod('default', 'web') as Pod;
    expect(done.status?.phase).toBe('Failed');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
  });

  it('crashes and restarts with growing back-off, aggregating repeated events', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { restarts: 2, runMs: 1_000 } });
    await cluster.clock.advance(100 + 1_000 + 1_000);
    expect(cluster.getPod('default', 'web')?.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    expect(phase(cluster)).toBe('Running');
    await cluster.clock.advance(10_000 + 1_000); // first back-off 10 s, then runs 1 s and crashes again
    await cluster.clock.advance(20_000 + 1_000); // second back-off 20 s, then the final exit
    expect(phase(cluster)).toBe('Succeeded');
    const uid = cluster.getPod('default', 'web')?.metadata?.uid;
    expect(events(cluster)).toEqual(
      expect.arrayContaining([
        `Warning BackOff x2: Back-off restarting failed container main in pod web_default(${uid})`,
        'Normal Started x3: Started container main',
        'Normal Created x3: Created container main',
        'Normal Pulled x2: Container image "busybox" already present on machine',
      ]),
    );
  });

  it('reports image pull errors with back-off, then pulls when the errors run out', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { image: 'nope' }), { lifecycle: { imagePullError: { times: 2 } } });
    await cluster.clock.advance(1_100);
    expect(cluster.getPod('default', 'web')?.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe(
      'ImagePullBackOff',
    );
    await cluster.clock.advance(10_000 + 1_000 + 20_000 + 1_000);
    expect(phase(cluster)).toBe('Running');
    expect(events(cluster)).toEqual(
      expect.arrayContaining([
        'Normal Pulling x3: Pulling image "nope"',
        expect.stringMatching(/^Warning Failed x2: Failed to pull image "nope": rpc error/),
        'Warning Failed x2: Error: ErrImagePull',
        'Normal BackOff x2: Back-off pulling image "nope"',
        'Warning Failed x2: Error: ImagePullBackOff',
      ]),
    );
  });

  it('keeps an unschedulable pod Pending with FailedScheduling warnings that aggregate', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { unschedulable: true } });
    await cluster.clock.advance(100 + 3 * 60_000);
    const pending = cluster.getPod('default', 'web') as Pod;
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.spec?.nodeName).toBeUndefined();
    expect(pending.status?.conditions).toEqual([
      expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }),
    ]);
    expect(events(cluster)).toEqual([
      expect.stringMatching(/^Warning FailedScheduling x4: 0\/1 nodes are available/),
    ]);
  });

  it('schedules after { forMs } of FailedScheduling', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { unschedulable: { forMs: 5_000 } } });
    await cluster.clock.advance(5_099);
    expect(cluster.getPod('default', 'web')?.spec?.nodeName).toBeUndefined();
    await cluster.clock.advance(1);
    expect(cluster.getPod('default', 'web')?.spec?.nodeName).toBe('fake-node-1');
  });

  it('reads a script from the podstorage.dev/lifecycle annotation and rejects a bad one with 422', async () => {
    const cluster = new FakeCluster();
    const annotated = pod('web');
    cluster.createPod({
      ...annotated,
      metadata: {
        ...annotated.metadata,
        annotations: { [LIFECYCLE_ANNOTATION]: '{"exitCode":7,"runMs":10}' },
      },
    });
    await cluster.clock.advance(2_000);
    expect(phase(cluster)).toBe('Failed');
    expect(() =>
      cluster.createPod({
        ...pod('bad'),
        metadata: { ...pod('bad').metadata, annotations: { [LIFECYCLE_ANNOTATION]: '{"runMs":-1}' } },
      }),
    ).toThrow(expect.objectContaining({ code: 422 }));
  });

  it('uses the default lifecycle of the cluster', async () => {
    const cluster = new FakeCluster({ defaultLifecycle: { scheduleAfterMs: 0, pullMs: 0, runMs: 0 } });
    cluster.createPod(pod('web'));
    await cluster.clock.advance(0);
    expect(phase(cluster)).toBe('Succeeded');
  });

  it('emits Killing for running containers on graceful deletion and stops the script', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { runMs: 60_000 } });
    await cluster.clock.advance(1_100);
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 5 });
    expect(events(cluster)).toContain('Normal Killing x1: Stopping container main');
    await cluster.clock.advance(5_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    expect(cluster.clock.pendingTimers()).toBe(0);
  });

  it('leaves phases alone in manual mode', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod(pod('web'));
    await cluster.clock.advance(600_000);
    expect(phase(cluster)).toBe('Pending');
    expect(cluster.listEvents('default').items).toHaveLength(0);
    expect(cluster.clock.pendingTimers()).toBe(0);
  });
});
