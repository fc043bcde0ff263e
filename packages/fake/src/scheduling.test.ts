// The simulated default-scheduler and the nodes, against kubernetes/kubernetes v1.32:
// - pkg/scheduler/framework/types.go FitError.Error: "0/%v nodes are available: %v." with the
//   reasons counted and sorted, then the preemption postfix (framework/preemption/preemption.go);
// - plugins noderesources/fit.go ("Insufficient cpu"), nodeaffinity ("node(s) didn't match Pod's node
//   affinity/selector"), tainttoleration ("node(s) had untolerated taint {%s: %s}"),
//   nodeunschedulable ("node(s) were unschedulable");
// - pkg/scheduler/apis/config/v1/defaults.go: podInitialBackoffSeconds 1, podMaxBackoffSeconds 10;
//   internal/queue/scheduling_queue.go: unschedulable pods retried on a cluster event once their
//   backoff is over, else after podMaxInUnschedulablePodsDuration (5 min);
// - pkg/controller/nodelifecycle and pkg/controller/tainteviction: not-ready/unreachable taints,
//   MarkPodsNotReady, eviction after the toleration's seconds.
import type { KubernetesEvent, Pod, WatchEvent } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, pod, settle } from './test-support.js';

function withRequests(name: string, cpu: string, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  const base = pod(name, { restartPolicy: 'Always', image: 'nginx:1.27' });
  return {
    ...base,
    spec: {
      ...base.spec,
      ...extra,
      containers: [{ name: 'main', image: 'nginx:1.27', resources: { requests: { cpu, memory: '64Mi' } } }],
    },
  };
}

function failedScheduling(cluster: FakeCluster, name: string): KubernetesEvent | undefined {
  return cluster.listEvents('default', {
    fieldSelector: { 'involvedObject.name': name, reason: 'FailedScheduling' },
  }).items[0];
}

const threeSmallNodes = () =>
  new FakeCluster({
    nodes: [
      { name: 'node-a', cpu: '1' },
      { name: 'node-b', cpu: '1' },
      { name: 'node-c', cpu: '1' },
    ],
  });

describe('scheduler and nodes', () => {
  it('serves Node objects with capacity, allocatable, conditions and addresses', () => {
    const cluster = threeSmallNodes();
    const nodes = cluster.listNodes().items;
    expect(nodes.map((node) => node.metadata?.name)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(nodes[0]?.status?.allocatable).toMatchObject({ cpu: '1', memory: '16Gi', pods: '110' });
    expect(nodes[0]?.status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'KubeletReady',
    });
    expect(nodes[0]?.metadata?.labels?.['kubernetes.io/hostname']).toBe('node-a');
    expect(cluster.listNodes({ fieldSelector: 'spec.unschedulable=false' }).items).toHaveLength(3);
  });

  it('spreads pods by their requests and binds them with spec.nodeName', async () => {
    const cluster = threeSmallNodes();
    for (const name of ['one', 'two', 'three']) cluster.createPod(withRequests(name, '600m'));
    await cluster.clock.advance(200);
    const nodes = ['one', 'two', 'three'].map((name) => cluster.getPod('default', name)?.spec?.nodeName);
    expect(new Set(nodes)).toEqual(new Set(['node-a', 'node-b', 'node-c']));
    expect(cluster.getPod('default', 'one')?.status?.hostIP).toMatch(/^10\.0\.0\.\d$/);
  });

  it("reports FailedScheduling in the scheduler's words, retries with backoff, and schedules as soon as room appears", async () => {
    const cluster = threeSmallNodes();
    cluster.createPod(withRequests('big', '2'));
    await cluster.clock.advance(100);
    const message =
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    expect(failedScheduling(cluster, 'big')?.message).toBe(message);
    const pending = cluster.getPod('default', 'big') as Pod;
    expect(pending.status?.conditions).toEqual([
      expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }),
    ]);
    // An hour without a cluster event: retried every 5 minutes, not in a loop.
    await cluster.clock.advance(3_600_000);
    expect(failedScheduling(cluster, 'big')?.count).toBe(13);
    expect(failedScheduling(cluster, 'big')).toMatchObject({ action: 'Scheduling', series: { count: 13 } });
    cluster.addNode({ name: 'node-d', cpu: '4' });
    await cluster.clock.advance(10_000); // at most the backoff (10 s at its cap)
    expect(cluster.getPod('default', 'big')?.spec?.nodeName).toBe('node-d');
  });

  it('retries a pod waiting for room when another pod finishes, after its backoff', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'only', cpu: '1' }] });
    cluster.createPod(withRequests('job', '800m', { restartPolicy: 'Never' }), {
      lifecycle: { runMs: 30_000 },
    });
    cluster.createPod(withRequests('waiting', '800m'));
    await cluster.clock.advance(200);
    expect(failedScheduling(cluster, 'waiting')?.message).toMatch(
      /^0\/1 nodes are available: 1 Insufficient cpu\./,
    );
    await cluster.clock.advance(1_000 + 30_000);
    expect(cluster.getPod('default', 'job')?.status?.phase).toBe('Succeeded');
    await cluster.clock.advance(10_000);
    expect(cluster.getPod('default', 'waiting')?.spec?.nodeName).toBe('only');
    // One failure: the retry the finished pod triggered succeeded; no 5-minute flush was needed.
    expect(failedScheduling(cluster, 'waiting')?.count).toBe(1);
  });

  it('honours node selectors, taints and tolerations, and cordons', async () => {
    const cluster = new FakeCluster({
      nodes: [
        {
          name: 'gpu',
          labels: { accelerator: 'nvidia' },
          taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
        },
        { name: 'plain' },
      ],
    });
    cluster.createPod(withRequests('wants-gpu', '100m', { nodeSelector: { accelerator: 'nvidia' } }));
    cluster.createPod(
      withRequests('tolerates', '100m', {
        nodeSelector: { accelerator: 'nvidia' },
        tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
      }),
    );
    await cluster.clock.advance(200);
    expect(failedScheduling(cluster, 'wants-gpu')?.message).toBe(
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {gpu: true}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    expect(cluster.getPod('default', 'tolerates')?.spec?.nodeName).toBe('gpu');

    cluster.cordonNode('plain');
    expect(cluster.getNode('plain')?.spec).toMatchObject({
      unschedulable: true,
      taints: [expect.objectContaining({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })],
    });
    cluster.createPod(
      withRequests('anywhere', '100m', { tolerations: [{ key: 'gpu', operator: 'Exists' }] }),
    );
    cluster.createPod(withRequests('plain-only', '100m'));
    await cluster.clock.advance(200);
    expect(cluster.getPod('default', 'anywhere')?.spec?.nodeName).toBe('gpu');
    expect(failedScheduling(cluster, 'plain-only')?.message).toMatch(/1 node\(s\) were unschedulable/);
    cluster.cordonNode('plain', false);
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('default', 'plain-only')?.spec?.nodeName).toBe('plain');
  });

  it('a NotReady node: taints, pods not Ready, eviction after the toleration (300 s by default); the kubelet then stops them', async () => {
    const cluster = new FakeCluster();
    // No toleration given: the DefaultTolerationSeconds admission gives not-ready and unreachable for 300 s.
    cluster.createPod(withRequests('web', '100m'));
    cluster.createPod(
      withRequests('short', '100m', {
        tolerations: [
          {
            key: 'node.kubernetes.io/not-ready',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 10,
          },
        ],
      }),
    );
    await cluster.clock.advance(1_200);
    cluster.setNodeReady('fake-node-1', false);
    const node = cluster.getNode('fake-node-1');
    expect(node?.spec?.taints?.map((taint) => `${taint.key}:${taint.effect}`)).toEqual([
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
    ]);
    const ready = (name: string) =>
      cluster.getPod('default', name)?.status?.conditions?.find((condition) => condition.type === 'Ready')
        ?.status;
    expect(ready('web')).toBe('False');
    await cluster.clock.advance(10_000);
    expect(cluster.getPod('default', 'short')?.metadata?.deletionTimestamp).toBeDefined();
    await cluster.clock.advance(289_000);
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBeUndefined();
    await cluster.clock.advance(1_000);
    const evicted = cluster.getPod('default', 'web') as Pod;
    expect(evicted.metadata?.deletionTimestamp).toBeDefined();
    expect(evicted.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', reason: 'DeletionByTaintManager' }),
    );
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('an unreachable node: its evicted pods stay Terminating until the node is back', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(withRequests('web', '100m'));
    await cluster.clock.advance(1_200);
    cluster.setNodeReady('fake-node-1', 'Unknown');
    expect(cluster.getNode('fake-node-1')?.spec?.taints?.map((taint) => taint.key)).toEqual([
      'node.kubernetes.io/unreachable',
      'node.kubernetes.io/unreachable',
    ]);
    await cluster.clock.advance(300_000);
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBeDefined();
    await cluster.clock.advance(120_000); // no kubelet to stop it: it stays, past its grace period
    expect(cluster.getPod('default', 'web')).toBeDefined();
    cluster.setNodeReady('fake-node-1', true);
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });

  it('removing a node: the pod garbage collector deletes its pods', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'a' }, { name: 'b' }] });
    cluster.createPod(withRequests('web', '100m', { nodeName: 'a' }));
    await cluster.clock.advance(1_100);
    cluster.removeNode('a');
    expect(cluster.getNode('a')).toBeUndefined();
    await cluster.clock.advance(40_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });
});

describe('the resourceVersion only moves with client-visible changes, at a plausible rate (issue 10 item 11)', () => {
  it('an hour of an unschedulable pod, a crash-looping pod, a server and a job writes a bounded number of changes, each one a watch event', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'small', cpu: '1' }], historySize: 100_000 });
    const start = Number(cluster.resourceVersion());
    const signal = AbortSignal.timeout(600_000);
    const streams = (['pods', 'events', 'nodes', 'leases'] as const).map((resource) =>
      collect(
        cluster.watch(resource, undefined, { resourceVersion: String(start), signal, timeoutSeconds: 7_200 }),
      ),
    );
    cluster.createPod(withRequests('unschedulable', '2'));
    cluster.createPod(withRequests('crashing', '100m'), { lifecycle: { runMs: 1_000, exitCode: 1 } });
    cluster.createPod(withRequests('server', '100m'));
    cluster.createPod(pod('job', { command: ['sh', '-c', 'echo hi; sleep 30'] }));
    for (let minute = 0; minute < 60; minute++) await cluster.clock.advance(60_000);
    await settle();
    const moved = Number(cluster.resourceVersion()) - start;
    // Every version is one change a watcher of its resource was sent: nothing invisible moves it.
    const seen = streams
      .flatMap((stream) => stream.events as WatchEvent<unknown>[])
      .filter((event) => event.type !== 'BOOKMARK');
    expect(seen).toHaveLength(moved);
    const versions = new Set(
      seen.map(
        (event) => (event.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion,
      ),
    );
    expect(versions.size).toBe(moved);
    // The kubelet renews its node lease every 10 s, as on a cluster (pkg/kubelet/nodelease): 360 an hour.
    const renewals = (streams[3]?.events ?? []).filter((event) => event.type === 'MODIFIED').length;
    expect(renewals).toBe(360);
    // Plausible: the crash loop restarts about 15 times in an hour at the 5-minute cap, the
    // unschedulable pod is retried every 5 minutes; a few hundred writes at most, not hundreds of thousands.
    expect(moved - renewals).toBeLessThan(400);
    expect(failedScheduling(cluster, 'unschedulable')?.count).toBeLessThanOrEqual(13);
  });
});
