// Node-pressure eviction by the simulated kubelet, against kubernetes/kubernetes v1.32:
// - pkg/kubelet/eviction/eviction_manager.go synchronize: thresholds observed every 10 s
//   (evictionMonitoringPeriod), the node condition kept for the pressure transition period (5 m), the
//   Warning event "EvictionThresholdMet" / "Attempting to reclaim memory" on the node, at most one pod
//   evicted per round, then waitForPodsCleanup (poll 1 s); evictPod: the Warning event "Evicted" with
//   the offending_containers, offending_containers_usage and starved_resource annotations, and
//   TerminatePodAbnormallyAndWait with grace immediateEvictionGracePeriodSeconds (1) and the
//   DisruptionTarget condition, reason TerminationByKubelet;
// - helpers.go: Reason "Evicted"; the message "The node was low on resource: %v. " + "Threshold
//   quantity: %v, available: %v. " + per container "Container %s was using %s, request is %s, has
//   larger consumption of %v. "; rankMemoryPressure = orderedBy(exceedMemoryRequests, priority,
//   memory usage over requests);
// - pkg/kubelet/nodestatus/setters.go MemoryPressureCondition ("KubeletHasInsufficientMemory",
//   "kubelet has insufficient memory available") and DiskPressureCondition ("KubeletHasDiskPressure");
// - pkg/controller/nodelifecycle TaintNodesByCondition: node.kubernetes.io/memory-pressure:NoSchedule.
import { createPodStorage, type Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { formatBinaryQuantity } from './cluster/node-pressure.js';
import { FakeCluster } from './fake-cluster.js';
import type { LifecycleScript } from './lifecycle.js';

function server(name: string, memory?: string, priority?: number): Pod {
  return {
    metadata: { name },
    spec: {
      ...(priority === undefined ? {} : { priority }),
      containers: [
        {
          name: 'main',
          image: 'nginx:1.27',
          ...(memory === undefined ? {} : { resources: { requests: { memory } } }),
        },
      ],
    },
  };
}

const condition = (pod: Pod | undefined, type: string) =>
  pod?.status?.conditions?.find((candidate) => candidate.type === type);

/** Two BestEffort pods (one using 300Mi, one the default), one Burstable within its request. */
async function crowdedNode(): Promise<FakeCluster> {
  const cluster = new FakeCluster();
  const uses = (memory: string): { lifecycle: LifecycleScript } => ({ lifecycle: { usage: { memory } } });
  cluster.createPod(server('hog'), uses('300Mi'));
  cluster.createPod(server('idle'));
  cluster.createPod(server('steady', '256Mi'), uses('200Mi'));
  await cluster.clock.advance(2_000);
  for (const name of ['hog', 'idle', 'steady'])
    expect(cluster.getPod('default', name)?.status?.phase).toBe('Running');
  return cluster;
}

describe('node-pressure eviction', () => {
  it('formats quantities as Go prints BinarySI ones', () => {
    expect(formatBinaryQuantity(52_428_800)).toBe('50Mi');
    expect(formatBinaryQuantity(52_428_800 + 1_024)).toBe('51201Ki');
    expect(formatBinaryQuantity(1_000)).toBe('1000');
    expect(formatBinaryQuantity(10_737_418_400)).toBe('10737418400');
    expect(formatBinaryQuantity(0)).toBe('0');
  });

  it('memory pressure: condition, taint, the highest-ranked pod evicted as the kubelet writes it', async () => {
    const cluster = await crowdedNode();
    const node = cluster.setNodePressure('fake-node-1', 'memory', { available: '50Mi' });
    expect(condition(node as never, 'MemoryPressure')).toMatchObject({
      status: 'True',
      reason: 'KubeletHasInsufficientMemory',
      message: 'kubelet has insufficient memory available',
    });
    expect(node.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }),
    );
    // hog exceeds its request by the most: it goes first, and alone (50Mi + 300Mi is above 100Mi).
    const hog = cluster.getPod('default', 'hog') as Pod;
    const message =
      'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container main was using 300Mi, request is 0, has larger consumption of memory. ';
    expect(hog.status).toMatchObject({ phase: 'Failed', reason: 'Evicted', message });
    expect(condition(hog, 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'TerminationByKubelet',
      message,
    });
    // The containers still run: the kubelet stops them with the 2 s minimum grace period.
    expect(hog.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    const evicted = cluster.listEvents('default', {
      fieldSelector: { 'involvedObject.name': 'hog', reason: 'Evicted' },
    }).items;
    expect(evicted).toHaveLength(1);
    expect(evicted[0]).toMatchObject({
      type: 'Warning',
      message,
      source: { component: 'kubelet', host: 'fake-node-1' },
      metadata: {
        annotations: {
          offending_containers: 'main',
          offending_containers_usage: '300Mi',
          starved_resource: 'memory',
        },
      },
    });
    const reclaim = cluster.listEvents('default', {
      fieldSelector: { reason: 'EvictionThresholdMet' },
    }).items;
    expect(reclaim[0]).toMatchObject({
      type: 'Warning',
      message: 'Attempting to reclaim memory',
      involvedObject: { kind: 'Node', name: 'fake-node-1', uid: 'fake-node-1' },
    });

    await cluster.clock.advance(1_500);
    const stopped = cluster.getPod('default', 'hog') as Pod;
    expect(stopped.status?.phase).toBe('Failed');
    expect(stopped.status?.reason).toBe('Evicted');
    expect(stopped.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0 });
    expect(stopped.metadata?.deletionTimestamp).toBeUndefined();
    expect(
      cluster.listEvents('default', { fieldSelector: { 'involvedObject.name': 'hog', reason: 'Killing' } })
        .items[0]?.message,
    ).toBe('Stopping container main');

    // The pressure is relieved: nobody else goes, however long it lasts.
    await cluster.clock.advance(60_000);
    expect(cluster.getPod('default', 'idle')?.status?.phase).toBe('Running');
    expect(cluster.getPod('default', 'steady')?.status?.phase).toBe('Running');
    expect(cluster.getPod('default', 'hog')).toBeDefined();
  });

  it('evicts one pod per round until the threshold is no longer met, priority before usage', async () => {
    const cluster = new FakeCluster();
    const uses = (memory: string): { lifecycle: LifecycleScript } => ({ lifecycle: { usage: { memory } } });
    cluster.createPod(server('important', undefined, 1_000), uses('400Mi'));
    cluster.createPod(server('small'), uses('20Mi'));
    cluster.createPod(server('medium'), uses('40Mi'));
    cluster.createPod(server('within', '1Gi'), uses('500Mi'));
    await cluster.clock.advance(2_000);
    // 10Mi available: evicting medium (40Mi) and small (20Mi) leaves 70Mi, still short of 100Mi;
    // then the higher-priority pod goes, before the one that stays within its request.
    cluster.setNodePressure('fake-node-1', 'memory', { available: '10Mi' });
    const phase = (name: string) => cluster.getPod('default', name)?.status?.phase;
    expect(phase('medium')).toBe('Failed');
    expect(phase('small')).toBe('Running');
    await cluster.clock.advance(999);
    expect(phase('small')).toBe('Running'); // the first still stopping: the manager waits for its cleanup
    await cluster.clock.advance(1);
    expect(phase('small')).toBe('Failed');
    expect(cluster.getPod('default', 'small')?.status?.message).toBe(
      'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container main was using 20Mi, request is 0, has larger consumption of memory. ',
    );
    await cluster.clock.advance(2_000);
    expect(phase('important')).toBe('Failed');
    await cluster.clock.advance(60_000);
    expect(phase('within')).toBe('Running');
  });

  it('keeps new pods off the node until the pressure has been over for the transition period', async () => {
    const cluster = await crowdedNode();
    cluster.setNodePressure('fake-node-1', 'memory', { available: '50Mi' });
    cluster.createPod(server('newcomer'));
    cluster.createPod({
      ...server('tolerant'),
      spec: {
        ...server('tolerant').spec,
        containers: server('tolerant').spec?.containers ?? [],
        tolerations: [
          { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
        ],
      },
    });
    await cluster.clock.advance(3_000);
    expect(cluster.getPod('default', 'newcomer')?.spec?.nodeName).toBeUndefined();
    expect(
      cluster.listEvents('default', {
        fieldSelector: { 'involvedObject.name': 'newcomer', reason: 'FailedScheduling' },
      }).items[0]?.message,
    ).toBe(
      '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    );
    expect(cluster.getPod('default', 'tolerant')?.status?.phase).toBe('Running');
    // The threshold was last met at the eviction; the condition holds for 5 minutes after it.
    await cluster.clock.advance(280_000);
    expect(condition(cluster.getNode('fake-node-1') as never, 'MemoryPressure')?.status).toBe('True');
    await cluster.clock.advance(20_000);
    const node = cluster.getNode('fake-node-1');
    expect(condition(node as never, 'MemoryPressure')).toMatchObject({
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
    });
    expect(node?.spec?.taints).toBeUndefined();
    const statusEvents = cluster
      .listEvents('default', { fieldSelector: { 'involvedObject.kind': 'Node' } })
      .items.filter((event) => event.reason?.startsWith('NodeHas'))
      .map((event) => `${event.type} ${event.reason}: ${event.message}`);
    expect(statusEvents).toEqual([
      'Normal NodeHasInsufficientMemory: Node fake-node-1 status is now: NodeHasInsufficientMemory',
      'Normal NodeHasSufficientMemory: Node fake-node-1 status is now: NodeHasSufficientMemory',
    ]);
    await cluster.clock.advance(12_000);
    expect(cluster.getPod('default', 'newcomer')?.spec?.nodeName).toBe('fake-node-1');
    expect(cluster.getPod('default', 'newcomer')?.status?.phase).toBe('Running');
  });

  it('disk pressure: DiskPressure, the disk-pressure taint and ephemeral-storage in the message', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(server('writer'), { lifecycle: { usage: { 'ephemeral-storage': '2Gi' } } });
    cluster.createPod(server('quiet'));
    await cluster.clock.advance(2_000);
    const node = cluster.setNodePressure('fake-node-1', 'ephemeral-storage', { available: '9Gi' });
    expect(condition(node as never, 'DiskPressure')).toMatchObject({
      status: 'True',
      reason: 'KubeletHasDiskPressure',
      message: 'kubelet has disk pressure',
    });
    expect(node.spec?.taints?.map((taint) => taint.key)).toEqual(['node.kubernetes.io/disk-pressure']);
    // nodefs.available<10% of 100Gi, as the kubelet computes it from a float32 percentage.
    expect(cluster.getPod('default', 'writer')?.status?.message).toBe(
      'The node was low on resource: ephemeral-storage. Threshold quantity: 10737418400, available: 9Gi. Container main was using 2Gi, request is 0, has larger consumption of ephemeral-storage. ',
    );
    expect(cluster.getPod('default', 'quiet')?.status?.phase).toBe('Running');
  });

  // eviction_manager.go Admit, and pkg/kubelet/kubelet.go rejectPod ("Pod was rejected: " + message).
  it("the kubelet's admission: a pod bound to a node under pressure is refused, as the kubelet refuses it", async () => {
    const cluster = await crowdedNode();
    cluster.setNodePressure('fake-node-1', 'memory', { available: '50Mi' });
    const bound = (name: string, memory?: string): Pod => ({
      ...server(name, memory),
      spec: {
        ...server(name, memory).spec,
        containers: server(name, memory).spec?.containers ?? [],
        nodeName: 'fake-node-1',
      },
    });
    cluster.createPod(bound('besteffort'));
    cluster.createPod(bound('burstable', '64Mi'));
    await cluster.clock.advance(2_000);
    const refused = cluster.getPod('default', 'besteffort') as Pod;
    expect(refused.status).toMatchObject({
      phase: 'Failed',
      reason: 'Evicted',
      message: 'Pod was rejected: The node had condition: [MemoryPressure]. ',
    });
    expect(refused.status?.containerStatuses).toBeUndefined();
    expect(
      cluster.listEvents('default', {
        fieldSelector: { 'involvedObject.name': 'besteffort', reason: 'Evicted' },
      }).items[0],
    ).toMatchObject({ type: 'Warning', message: 'The node had condition: [MemoryPressure]. ' });
    expect(cluster.getPod('default', 'burstable')?.status?.phase).toBe('Running');
    // Under disk pressure every pod is refused.
    cluster.setNodePressure('fake-node-1', 'ephemeral-storage', { available: '1Gi' });
    cluster.createPod(bound('late', '64Mi'));
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('default', 'late')?.status?.message).toBe(
      'Pod was rejected: The node had condition: [MemoryPressure DiskPressure]. ',
    );
  });

  it('ending the pressure with false; bad input is refused naming the value', async () => {
    const cluster = await crowdedNode();
    cluster.setNodePressure('fake-node-1', 'memory', { available: '99Mi', threshold: '50Mi' });
    expect(condition(cluster.getNode('fake-node-1') as never, 'MemoryPressure')?.status).toBe('False');
    const baseline = cluster.clock.pendingTimers();
    cluster.setNodePressure('fake-node-1', 'memory', false);
    await cluster.clock.advance(10_000);
    expect(cluster.clock.pendingTimers()).toBeLessThan(baseline); // the eviction loop rests
    expect(() => cluster.setNodePressure('fake-node-1', 'memory', { available: 'lots' })).toThrow(/"lots"/);
    expect(() => cluster.setNodePressure('nope', 'memory', { available: '1Mi' })).toThrow(/not found/);
    const annotated = (script: object): Pod => ({
      ...server('bad'),
      metadata: { name: 'bad', annotations: { 'podstorage.dev/lifecycle': JSON.stringify(script) } },
    });
    expect(() => cluster.createPod(annotated({ usage: { memory: 'plenty' } }))).toThrow(
      /usage.memory must be a quantity such as "200Mi", not "plenty"/,
    );
    expect(() => cluster.createPod(annotated({ containers: { main: { usage: { cpu: '1' } } } }))).toThrow(
      /unknown field "containers.main.usage.cpu"/,
    );
  });

  it('PodStorage: waitForPhase from Running returns Failed, deleteAfterCompletion deletes the evicted pod', async () => {
    const cluster = await crowdedNode();
    const storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
    const phase = storage.waitForPhase('hog', 'default', 60_000, { untilNot: ['Pending', 'Running'] });
    const deleted = storage.deleteAfterCompletion('hog', 'default', 60_000);
    await cluster.clock.advance(100);
    cluster.setNodePressure('fake-node-1', 'memory', { available: '50Mi' });
    await cluster.clock.advance(3_000);
    expect(await phase).toBe('Failed');
    await deleted;
    await cluster.clock.advance(1_000);
    expect(cluster.getPod('default', 'hog')).toBeUndefined();
    await storage.close();
    expect(cluster.stats().activeWatches).toBe(0);
  });
});
