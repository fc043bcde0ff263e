// The simulated kubelet against what the real one does (kubernetes/kubernetes v1.32):
// - pkg/kubelet/kubelet_pods.go getPhase: the phase from the containers' states and restartPolicy;
// - pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff and client-go util/flowcontrol/backoff.go:
//   the first exit restarts at once, later ones wait 10 s doubling to 5 min (pkg/kubelet/kubelet.go
//   backOffPeriod, MaxContainerBackOff), an entry untouched for 2 × 5 min starts over;
// - pkg/kubelet/kuberuntime/kuberuntime_container.go: "Created container %s", "Started container %s" (v1.32; see kubelet-messages.test.ts),
//   "Stopping container %s", killContainer's preStop hook and minimumGracePeriodInSeconds (2);
// - pkg/kubelet/status/generate.go: the pod conditions and their reasons.
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
const main = (cluster: FakeCluster, name = 'web') =>
  cluster.getPod('default', name)?.status?.containerStatuses?.[0];

describe('lifecycle simulator: containers and restartPolicy', () => {
  it('runs a Never pod whose command exits 0 to Succeeded, with the v1.32 kubelet events and conditions', async () => {
    const cluster = new FakeCluster();
    const created = cluster.createPod(pod('web', { image: 'nginx:1.27', command: ['sh', '-c', 'echo hi'] }));
    const seen = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    await cluster.clock.advance(100);
    expect(cluster.getPod('default', 'web')?.spec?.nodeName).toBe('fake-node-1');
    expect(phase(cluster)).toBe('Pending');
    await cluster.clock.advance(1_000);
    const done = cluster.getPod('default', 'web') as Pod;
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    expect(
      done.status?.conditions?.map(
        (condition) =>
          `${condition.type}=${condition.status}${condition.reason ? `/${condition.reason}` : ''}`,
      ),
    ).toEqual([
      'PodReadyToStartContainers=False',
      'Initialized=True/PodCompleted',
      'Ready=False/PodCompleted',
      'ContainersReady=False/PodCompleted',
      'PodScheduled=True',
    ]);
    expect(events(cluster)).toEqual([
      'Normal Scheduled x1: Successfully assigned default/web to fake-node-1',
      'Normal Pulling x1: Pulling image "nginx:1.27"',
      'Normal Pulled x1: Successfully pulled image "nginx:1.27" in 1s (1s including waiting). Image size: 4269694 bytes.',
      'Normal Created x1: Created container main',
      'Normal Started x1: Started container main',
    ]);
    const scheduled = cluster.listEvents('default', { fieldSelector: 'reason=Scheduled' })
      .items[0] as KubernetesEvent;
    expect(scheduled.involvedObject).toMatchObject({ kind: 'Pod', name: 'web', uid: created.metadata?.uid });
    // Written through events.k8s.io/v1 by the scheduler (pkg/scheduler/schedule_one.go).
    expect(scheduled).toMatchObject({
      action: 'Binding',
      reportingComponent: 'default-scheduler',
      eventTime: '2026-01-01T00:00:00.100000Z',
    });
    const started = cluster.listEvents('default', { fieldSelector: 'reason=Started' })
      .items[0] as KubernetesEvent;
    expect(started.source).toEqual({ component: 'kubelet', host: 'fake-node-1' });
    expect(started.involvedObject.fieldPath).toBe('spec.containers{main}');
    expect(cluster.podLogs('default', 'web')).toBe('hi\n');
    await settle();
    const phases = seen.events.map((event) => (event.object as Pod).status?.phase);
    expect(phases).toContain('Running');
    expect(phases.at(-1)).toBe('Succeeded');
    // Only the watch's own timeout, and the node's kubelet renewing its lease every 10 s.
    expect(cluster.clock.pendingTimers()).toBe(2);
  });

  it('fails a Never pod whose command is `sh -c "echo hi; exit 3"` with exit code 3, after printing hi', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { command: ['sh', '-c', 'echo hi; exit 3'] }));
    await cluster.clock.advance(1_100);
    expect(phase(cluster)).toBe('Failed');
    expect(main(cluster)?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(cluster.podLogs('default', 'web')).toBe('hi\n');
  });

  it('keeps a server (no command, restartPolicy defaulting to Always) running, as `kubectl run nginx --image=nginx` does', async () => {
    const cluster = new FakeCluster();
    const manifest = pod('web', { image: 'nginx' });
    cluster.createPod({ ...manifest, spec: { containers: manifest.spec.containers } });
    await cluster.clock.advance(3_600_000);
    expect(phase(cluster)).toBe('Running');
    expect(main(cluster)).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(cluster.podLogs('default', 'web')).toMatch(/container "main" \(image nginx\) started/);
  });

  it('restarts an Always container at once, then with the crash-loop back-off: 10 s doubling, capped at 5 min', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(
      pod('web', { image: 'busybox:1.36', restartPolicy: 'Always', command: ['sh', '-c', 'exit 1'] }),
    );
    await cluster.clock.advance(1_100); // scheduled, pulled, started and exited; restarted at once
    expect(main(cluster)).toMatchObject({
      restartCount: 1,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    const uid = cluster.getPod('default', 'web')?.metadata?.uid;
    expect(main(cluster)?.state?.waiting?.message).toBe(
      `back-off 10s restarting failed container=main pod=web_default(${uid})`,
    );
    expect(phase(cluster)).toBe('Running'); // Always: a crash-looping pod stays Running
    const restarts: number[] = [];
    let last = 1;
    for (let second = 0; second < 1_500; second++) {
      await cluster.clock.advance(1_000);
      const count = main(cluster)?.restartCount ?? 0;
      if (count !== last) restarts.push(cluster.clock.now());
      last = count;
    }
    const gaps = restarts.map((at, index) => Math.round((at - (restarts[index - 1] ?? 1_100)) / 1_000));
    expect(gaps.slice(0, 7)).toEqual([10, 20, 40, 80, 160, 300, 300]);
    expect(main(cluster)?.state?.waiting?.message).toMatch(/^back-off 5m0s restarting failed container=main/);
    expect(events(cluster)).toEqual(
      expect.arrayContaining([
        'Normal Pulled x1: Successfully pulled image "busybox:1.36" in 1s (1s including waiting). Image size: 4269694 bytes.',
        `Normal Pulled x${last}: Container image "busybox:1.36" already present on machine`,
        `Warning BackOff x${last}: Back-off restarting failed container main in pod web_default(${uid})`,
      ]),
    );
  });

  it('starts the back-off over for a container that ran longer than 10 minutes before it exited', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { image: 'busybox:1.36', restartPolicy: 'Always' }), {
      lifecycle: { runMs: 11 * 60_000, exitCode: 2 },
    });
    await cluster.clock.advance(1_100 + 3 * 11 * 60_000);
    // Each exit came more than 2 × 5 min after the last back-off update: restarted at once every time.
    expect(main(cluster)).toMatchObject({ restartCount: 3, state: { running: {} } });
  });

  it('restarts only failures with OnFailure, and ends Succeeded once a run exits 0', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { image: 'busybox:1.36', restartPolicy: 'OnFailure' }), {
      lifecycle: { runMs: 1_000, restarts: 2 },
    });
    await cluster.clock.advance(1_100 + 1_000); // first crash: restarted at once
    expect(main(cluster)?.restartCount).toBe(1);
    await cluster.clock.advance(1_000 + 10_000 + 1_000); // second crash, 10 s back-off, final run
    expect(phase(cluster)).toBe('Succeeded');
    expect(main(cluster)).toMatchObject({
      restartCount: 2,
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    expect(cluster.podLogs('default', 'web', { previous: true })).toMatch(/crashing with exit code 1/);
  });

  it('never restarts with Never: the first crash fails the pod', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { runMs: 500, restarts: 3 } });
    await cluster.clock.advance(1_100 + 500);
    expect(phase(cluster)).toBe('Failed');
    expect(main(cluster)?.restartCount).toBe(0);
  });

  it('reports an OOM kill as exit 137, reason OOMKilled', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { runMs: 500, oomKilled: true } });
    await cluster.clock.advance(1_100 + 500);
    expect(phase(cluster)).toBe('Failed');
    expect(main(cluster)?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('reports image pull errors with back-off, then pulls when the errors run out', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { image: 'nope', restartPolicy: 'Always' }), {
      lifecycle: { imagePullError: { times: 2 } },
    });
    await cluster.clock.advance(1_100);
    expect(main(cluster)?.state?.waiting?.reason).toBe('ImagePullBackOff');
    expect(phase(cluster)).toBe('Pending');
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

  it('runs init containers first and in order, each to completion', async () => {
    const cluster = new FakeCluster();
    const manifest = pod('web', { image: 'app:1' });
    cluster.createPod(
      {
        ...manifest,
        spec: {
          ...manifest.spec,
          initContainers: [
            { name: 'migrate', image: 'tools:1', command: ['sh', '-c', 'echo migrating; sleep 2'] },
            { name: 'warm', image: 'tools:1', command: ['sh', '-c', 'sleep 1'] },
          ],
        },
      },
      { lifecycle: { containers: { main: { runMs: 1_000 } } } },
    );
    await cluster.clock.advance(100 + 1_000 + 1_000);
    let current = cluster.getPod('default', 'web') as Pod;
    expect(current.status?.phase).toBe('Pending');
    expect(
      current.status?.initContainerStatuses?.map((status) => Object.keys(status.state ?? {})[0]),
    ).toEqual(['running', 'waiting']);
    expect(current.status?.conditions?.find((condition) => condition.type === 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [migrate warm]',
    });
    expect(main(cluster)?.state?.waiting?.reason).toBe('PodInitializing');
    await cluster.clock.advance(1_000 + 1_000); // migrate ends; warm (image present) runs 1 s
    current = cluster.getPod('default', 'web') as Pod;
    expect(current.status?.initContainerStatuses?.map((status) => status.state?.terminated?.reason)).toEqual([
      'Completed',
      'Completed',
    ]);
    expect(cluster.podLogs('default', 'web', { container: 'migrate' })).toBe('migrating\n');
    await cluster.clock.advance(1_000 + 1_000);
    expect(phase(cluster)).toBe('Succeeded');
    const order = events(cluster).filter((line) => line.includes(' Started '));
    expect(order).toEqual([
      'Normal Started x1: Started container migrate',
      'Normal Started x1: Started container warm',
      'Normal Started x1: Started container main',
    ]);
  });

  it('gates Ready on a readiness probe', async () => {
    const cluster = new FakeCluster();
    const manifest = pod('web', { restartPolicy: 'Always' });
    cluster.createPod({
      ...manifest,
      spec: {
        ...manifest.spec,
        containers: [
          {
            name: 'main',
            image: 'nginx:1.27',
            readinessProbe: { httpGet: { path: '/', port: 80 }, initialDelaySeconds: 5 },
          },
        ],
      },
    });
    await cluster.clock.advance(1_100);
    const ready = () => cluster.getPod('default', 'web')?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(phase(cluster)).toBe('Running');
    expect(ready()).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    await cluster.clock.advance(5_000);
    expect(ready()?.status).toBe('True');
    expect(main(cluster)?.ready).toBe(true);
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
    for (const bad of ['{"runMs":-1}', '{"containers":{"main":{"nope":1}}}', '{"output":"x"}']) {
      expect(() =>
        cluster.createPod({
          ...pod('bad'),
          metadata: { ...pod('bad').metadata, annotations: { [LIFECYCLE_ANNOTATION]: bad } },
        }),
      ).toThrow(expect.objectContaining({ code: 422 }));
    }
  });

  it('uses the default lifecycle of the cluster', async () => {
    const cluster = new FakeCluster({ defaultLifecycle: { scheduleAfterMs: 0, pullMs: 0, runMs: 0 } });
    cluster.createPod(pod('web'));
    await cluster.clock.advance(0);
    expect(phase(cluster)).toBe('Succeeded');
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

describe('lifecycle simulator: termination', () => {
  it('stops a server within a second of the delete (SIGTERM), not at the end of the 30 s grace period', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { restartPolicy: 'Always', image: 'nginx:1.27' }));
    await cluster.clock.advance(1_100);
    const seen = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    cluster.deletePod('default', 'web');
    expect(events(cluster)).toContain('Normal Killing x1: Stopping container main');
    await cluster.clock.advance(999);
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBeDefined();
    await cluster.clock.advance(1);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    await settle();
    const last = seen.events.at(-2)?.object as Pod;
    expect(seen.events.at(-1)?.type).toBe('DELETED');
    expect(last.status?.phase).toBe('Succeeded');
    expect(last.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0 });
    expect(cluster.clock.pendingTimers()).toBe(2); // the watch's own timeout, and the lease renewal
  });

  it('kills a container that ignores SIGTERM at the grace period end (exit 137)', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web', { restartPolicy: 'Always' }), { lifecycle: { ignoreSigterm: true } });
    await cluster.clock.advance(1_100);
    const seen = collect(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    cluster.deletePod('default', 'web', { gracePeriodSeconds: 10 });
    await cluster.clock.advance(9_999);
    expect(cluster.getPod('default', 'web')).toBeDefined();
    await cluster.clock.advance(1);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    await settle();
    const last = seen.events.at(-2)?.object as Pod;
    expect(last.status?.phase).toBe('Failed');
    expect(last.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'Error',
    });
  });

  it("honours a preStop hook's time before SIGTERM, within the grace period", async () => {
    const cluster = new FakeCluster();
    const manifest = pod('web', { restartPolicy: 'Always' });
    cluster.createPod({
      ...manifest,
      spec: {
        ...manifest.spec,
        containers: [
          {
            name: 'main',
            image: 'nginx:1.27',
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } } },
          },
        ],
      },
    });
    await cluster.clock.advance(1_100);
    cluster.deletePod('default', 'web');
    await cluster.clock.advance(5_999);
    expect(cluster.getPod('default', 'web')).toBeDefined();
    await cluster.clock.advance(1);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('deletes a pod that is still pulling at once, and a finished one without waiting', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('pulling'), { lifecycle: { pullMs: 60_000 } });
    cluster.createPod(pod('done', { command: ['true'] }));
    await cluster.clock.advance(1_200);
    cluster.deletePod('default', 'pulling');
    cluster.deletePod('default', 'done');
    await cluster.clock.advance(0);
    expect(cluster.listPods('default').items).toEqual([]);
    expect(cluster.clock.pendingTimers()).toBe(1); // nothing but the kubelet's next lease renewal
  });

  it('keeps a pod with finalizers until they are removed, its containers stopped', async () => {
    const cluster = new FakeCluster();
    const manifest = pod('web', { restartPolicy: 'Always' });
    cluster.createPod({ ...manifest, metadata: { ...manifest.metadata, finalizers: ['example.com/hold'] } });
    await cluster.clock.advance(1_100);
    cluster.deletePod('default', 'web');
    await cluster.clock.advance(1_000);
    const held = cluster.getPod('default', 'web') as Pod;
    expect(held.metadata?.deletionGracePeriodSeconds).toBe(0);
    expect(held.status?.containerStatuses?.[0]?.state?.terminated).toBeDefined();
    expect(cluster.removeFinalizers('default', 'web')).toBeUndefined();
  });
});
