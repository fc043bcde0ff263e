import type { Pod } from '@podstorage/core';
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { kubernetesTime } from '../lifecycle.js';
import { subdomainProblem } from '../names.js';
import { type DeepWritable, objectKey } from '../object-store.js';
import { tolerates } from '../scheduler.js';
import { alreadyExists, invalid, notFound } from '../status.js';
import { type ClusterContext, copy } from './context.js';
import { recordNodeEvent } from './events.js';

/** A simulated node, as a test describes it to {@link FakeCluster.addNode}. */
export interface FakeNodeOptions {
  readonly name: string;
  /** Allocatable CPU (a quantity: `4`, `3500m`). Default `4`. */
  readonly cpu?: string;
  /** Allocatable memory (a quantity). Default `16Gi`. */
  readonly memory?: string;
  /** How many pods fit. Default 110 (the kubelet's maxPods). */
  readonly pods?: number;
  /** Labels over the kubelet's own (`kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch`). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly Taint[];
  /** Cordoned (`spec.unschedulable`). */
  readonly unschedulable?: boolean;
}

/** What a node's `Ready` condition says: `True`, `False` (the kubelet reports NotReady), `Unknown` (unreachable). */
export type NodeReadiness = 'True' | 'False' | 'Unknown';

type MutableNode = DeepWritable<Node>;

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
/** The node conditions the eviction manager reports, and the taints TaintNodesByCondition keeps for them. */
export const PRESSURE_TAINTS = {
  MemoryPressure: 'node.kubernetes.io/memory-pressure',
  DiskPressure: 'node.kubernetes.io/disk-pressure',
  PIDPressure: 'node.kubernetes.io/pid-pressure',
} as const;
/** A node condition of the eviction manager. */
export type PressureCondition = keyof typeof PRESSURE_TAINTS;
const PRESSURE_KEYS = new Set<string>(Object.values(PRESSURE_TAINTS));
/** The node events of each pressure condition turning True and back (pkg/kubelet/events). */
const PRESSURE_EVENTS: Record<PressureCondition, readonly [string, string]> = {
  MemoryPressure: ['NodeHasInsufficientMemory', 'NodeHasSufficientMemory'],
  DiskPressure: ['NodeHasDiskPressure', 'NodeHasNoDiskPressure'],
  PIDPressure: ['NodeHasInsufficientPID', 'NodeHasSufficientPID'],
};
/** What the taint-eviction controller waits for pods without a matching toleration (they go at once). */
const QUARANTINE_MS = 40_000;

/** Which pressure conditions a node's status says are True. */
export function pressureOf(node: Node | undefined): Set<PressureCondition> {
  const found = new Set<PressureCondition>();
  for (const condition of node?.status?.conditions ?? [])
    if (condition.type in PRESSURE_TAINTS && condition.status === 'True')
      found.add(condition.type as PressureCondition);
  return found;
}

function nodeConditions(
  readiness: NodeReadiness,
  time: string,
  previous?: readonly NodeCondition[],
  underPressure: ReadonlySet<PressureCondition> = new Set(),
): NodeCondition[] {
  const unknown = readiness === 'Unknown';
  // pkg/kubelet/nodestatus/setters.go MemoryPressureCondition, DiskPressureCondition, PIDPressureCondition.
  const pressure = (
    type: PressureCondition,
    reason: string,
    message: string,
    pressed: [reason: string, message: string],
  ): NodeCondition => {
    const on = !unknown && underPressure.has(type);
    return {
      type,
      status: unknown ? 'Unknown' : on ? 'True' : 'False',
      lastHeartbeatTime: time,
      lastTransitionTime: time,
      reason: unknown ? 'NodeStatusUnknown' : on ? pressed[0] : reason,
      message: unknown ? 'Kubelet stopped posting node status.' : on ? pressed[1] : message,
    };
  };
  const ready: NodeCondition = {
    type: 'Ready',
    status: readiness,
    lastHeartbeatTime: time,
    lastTransitionTime: time,
    ...(readiness === 'True'
      ? { reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : readiness === 'False'
        ? {
            reason: 'KubeletNotReady',
            message:
              'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
          }
        : { reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }),
  };
  const next = [
    pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', [
      'KubeletHasInsufficientMemory',
      'kubelet has insufficient memory available',
    ]),
    pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', [
      'KubeletHasDiskPressure',
      'kubelet has disk pressure',
    ]),
    pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', [
      'KubeletHasInsufficientPID',
      'kubelet has insufficient PID available',
    ]),
    ready,
  ];
  // A transition time moves only when the status does (pkg/kubelet/nodestatus/setters.go).
  return next.map((condition) => {
    const before = previous?.find((candidate) => candidate.type === condition.type);
    return before !== undefined && before.status === condition.status
      ? { ...condition, lastTransitionTime: before.lastTransitionTime }
      : condition;
  });
}

/**
 * The taints the node lifecycle controller keeps on a node for its readiness, cordon and pressure
 * conditions (nodelifecycle/node_lifecycle_controller.go, TaintNodesByCondition's nodeConditionToTaintKeyStatusMap).
 */
function lifecycleTaints(node: Node, readiness: NodeReadiness, time: string): Taint[] {
  const own = (node.spec?.taints ?? []).filter(
    (taint) =>
      taint.key !== NOT_READY &&
      taint.key !== UNREACHABLE &&
      taint.key !== UNSCHEDULABLE &&
      !PRESSURE_KEYS.has(taint.key),
  );
  const added: Taint[] = [];
  if (node.spec?.unschedulable) added.push({ key: UNSCHEDULABLE, effect: 'NoSchedule', timeAdded: time });
  for (const type of readiness === 'Unknown' ? [] : pressureOf(node)) {
    const key = PRESSURE_TAINTS[type];
    const kept = node.spec?.taints?.find((taint) => taint.key === key);
    added.push({ key, effect: 'NoSchedule', timeAdded: kept?.timeAdded ?? time });
  }
  const key = readiness === 'False' ? NOT_READY : readiness === 'Unknown' ? UNREACHABLE : undefined;
  if (key !== undefined) {
    const kept = (node.spec?.taints ?? []).filter((taint) => taint.key === key);
    const at = (effect: string) => kept.find((taint) => taint.effect === effect)?.timeAdded ?? time;
    added.push({ key, effect: 'NoSchedule', timeAdded: at('NoSchedule') });
    added.push({ key, effect: 'NoExecute', timeAdded: at('NoExecute') });
  }
  return [...own, ...added];
}

/** The Node object of a simulated node, as the kubelet registers it and reports its status. */
export function nodeObject(options: FakeNodeOptions, index: number, now: Date): Node {
  const problem = subdomainProblem(options.name);
  if (problem) throw invalid('Node', options.name, [problem]);
  const time = kubernetesTime(now);
  const cpu = options.cpu ?? '4';
  const memory = options.memory ?? '16Gi';
  const pods = String(options.pods ?? 110);
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: options.name,
      uid: crypto.randomUUID(),
      creationTimestamp: time,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': options.name,
        'kubernetes.io/os': 'linux',
        ...options.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: `10.244.${index}.0/24`,
      podCIDRs: [`10.244.${index}.0/24`],
      providerID: `podstorage-fake://${options.name}`,
      ...(options.unschedulable ? { unschedulable: true } : {}),
      ...(options.taints && options.taints.length > 0 ? { taints: [...options.taints] } : {}),
    },
    status: {
      capacity: { cpu, memory, pods, 'ephemeral-storage': '100Gi', 'hugepages-2Mi': '0' },
      allocatable: { cpu, memory, pods, 'ephemeral-storage': '100Gi', 'hugepages-2Mi': '0' },
      conditions: nodeConditions('True', time),
      addresses: [
        { type: 'InternalIP', address: `10.0.0.${index + 1}` },
        { type: 'Hostname', address: options.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: crypto.randomUUID(),
        containerRuntimeVersion: 'containerd://1.7.24',
        kernelVersion: '6.1.0-podstorage',
        kubeProxyVersion: 'v1.32.0',
        kubeletVersion: 'v1.32.0',
        machineID: crypto.randomUUID().replaceAll('-', ''),
        operatingSystem: 'linux',
        osImage: 'podstorage fake node',
        systemUUID: crypto.randomUUID(),
      },
    },
  };
  if (options.unschedulable)
    (node as MutableNode).spec = { ...node.spec, taints: lifecycleTaints(node, 'True', time) };
  return node;
}

/** Adds a node (409 if it exists): the scheduler may use it at once. */
export function addNode(context: ClusterContext, options: FakeNodeOptions): Node {
  if (context.store.get('nodes', options.name)) throw alreadyExists('nodes', options.name);
  const node = nodeObject(options, context.store.values('nodes').length, context.clock.date());
  const stored = context.store.commit('nodes', 'ADDED', options.name, node) as Node;
  if (context.mode === 'simulated') context.nodeLeases.start(options.name);
  context.simulator.nodesChanged();
  return copy(stored);
}

function existingNode(context: ClusterContext, name: string): Node {
  const node = context.store.get('nodes', name) as Node | undefined;
  if (node === undefined) throw notFound('nodes', name);
  return node;
}

function readiness(node: Node): NodeReadiness {
  return (node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status ??
    'True') as NodeReadiness;
}

/** Cordons (`kubectl cordon`) or uncordons a node. */
export function cordonNode(context: ClusterContext, name: string, cordoned: boolean): Node {
  const node = copy(existingNode(context, name)) as MutableNode;
  const time = kubernetesTime(context.clock.date());
  node.spec = { ...node.spec };
  if (cordoned) node.spec.unschedulable = true;
  else delete node.spec.unschedulable;
  node.spec.taints = lifecycleTaints(
    node as Node,
    readiness(node as Node),
    time,
  ) as MutableNode['spec'] extends infer S ? (S extends { taints?: infer T } ? T : never) : never;
  if (node.spec.taints?.length === 0) delete node.spec.taints;
  const stored = context.store.commit('nodes', 'MODIFIED', name, node) as Node;
  if (!cordoned) context.simulator.nodesChanged();
  return copy(stored);
}

/**
 * Changes a node's readiness as the kubelet (NotReady) or the node lifecycle controller (Unknown, when
 * the kubelet stops posting) would: the conditions, the not-ready/unreachable taints, the pods' Ready
 * condition (MarkPodsNotReady), and the taint-eviction controller's deletion of pods once their
 * toleration's seconds are over. Back to `True`: taints go and the scheduler may use the node again.
 */
export function setNodeReadiness(context: ClusterContext, name: string, status: NodeReadiness): Node {
  const existing = existingNode(context, name);
  const node = copy(existing) as MutableNode;
  const time = kubernetesTime(context.clock.date());
  node.status = {
    ...node.status,
    conditions: nodeConditions(
      status,
      time,
      existing.status?.conditions,
      pressureOf(existing),
    ) as MutableNode['status'] extends infer S ? (S extends { conditions?: infer C } ? C : never) : never,
  };
  node.spec = { ...node.spec, taints: lifecycleTaints(node as Node, status, time) as never };
  if (node.spec.taints?.length === 0) delete node.spec.taints;
  const stored = context.store.commit('nodes', 'MODIFIED', name, node) as Node;
  context.nodeEvictions.cancel(name);
  // A NotReady node's kubelet still runs and renews its lease; an unreachable one's does not.
  if (status === 'Unknown') context.nodeLeases.stop(name);
  else if (context.mode === 'simulated') context.nodeLeases.start(name);
  if (status === 'True') {
    context.simulator.nodesChanged();
    return copy(stored);
  }
  for (const pod of podsOn(context, name)) {
    markPodNotReady(context, pod, time);
  }
  context.nodeEvictions.arm(name, stored);
  return copy(stored);
}

/**
 * Sets the eviction manager's pressure conditions of a node (its kubelet reports them; a condition not
 * in `pressure` goes False), with the taints the node lifecycle controller keeps for them. Writes
 * nothing when nothing changes; returns the node as it is after the call.
 */
export function setNodePressureConditions(
  context: ClusterContext,
  name: string,
  pressure: ReadonlySet<PressureCondition>,
): Node {
  const existing = existingNode(context, name);
  const before = pressureOf(existing);
  if (before.size === pressure.size && [...pressure].every((type) => before.has(type))) return copy(existing);
  const node = copy(existing) as MutableNode;
  const time = kubernetesTime(context.clock.date());
  const status = readiness(existing);
  node.status = {
    ...node.status,
    conditions: nodeConditions(status, time, existing.status?.conditions, pressure) as never,
  };
  node.spec = { ...node.spec, taints: lifecycleTaints(node as Node, status, time) as never };
  if (node.spec.taints?.length === 0) delete node.spec.taints;
  const stored = context.store.commit('nodes', 'MODIFIED', name, node) as Node;
  // The kubelet's recordNodeStatusEvent for each condition that changed (nodestatus/setters.go).
  for (const type of Object.keys(PRESSURE_TAINTS) as PressureCondition[]) {
    if (before.has(type) === pressure.has(type)) continue;
    const event = PRESSURE_EVENTS[type][pressure.has(type) ? 0 : 1];
    recordNodeEvent(context, name, {
      reason: event,
      message: `Node ${name} status is now: ${event}`,
      type: 'Normal',
    });
  }
  // A pressure that ended (its taint gone) may let waiting pods in.
  if ([...before].some((type) => !pressure.has(type))) context.simulator.nodesChanged();
  return copy(stored);
}

function podsOn(context: ClusterContext, node: string): Pod[] {
  return (context.store.values('pods') as Pod[]).filter((pod) => pod.spec?.nodeName === node);
}

/** pkg/controller/util/node/controller_utils.go MarkPodsNotReady: the pod's Ready condition goes False. */
function markPodNotReady(context: ClusterContext, pod: Pod, time: string): void {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return;
  const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready');
  if (ready?.status === 'False') return;
  const next = copy(pod) as DeepWritable<Pod>;
  next.status = {
    ...next.status,
    conditions: (next.status?.conditions ?? []).map((condition) =>
      condition.type === 'Ready' ? { ...condition, status: 'False', lastTransitionTime: time } : condition,
    ),
  };
  context.store.commit(
    'pods',
    'MODIFIED',
    objectKey(pod.metadata?.namespace, pod.metadata?.name ?? ''),
    next,
  );
}

/**
 * The taint-eviction controller (pkg/controller/tainteviction): a pod on a node with a NoExecute taint
 * it does not tolerate is deleted at once; one that tolerates it for `tolerationSeconds` is deleted
 * when they are over (the default tolerations, from the DefaultTolerationSeconds admission plugin, give
 * 300 s); one that tolerates it forever stays.
 */
export class NodeEvictions {
  readonly #timers = new Map<string, Set<ReturnType<ClusterContext['clock']['setTimeout']>>>();
  readonly #context: () => ClusterContext;
  readonly #evict: (pod: Pod) => void;

  constructor(context: () => ClusterContext, evict: (pod: Pod) => void) {
    this.#context = context;
    this.#evict = evict;
  }

  arm(name: string, node: Node): void {
    const context = this.#context();
    const taints = (node.spec?.taints ?? []).filter((taint) => taint.effect === 'NoExecute');
    const timers = new Set<ReturnType<ClusterContext['clock']['setTimeout']>>();
    this.#timers.set(name, timers);
    for (const pod of podsOn(context, name)) {
      let wait = 0;
      for (const taint of taints) {
        const toleration = (pod.spec?.tolerations ?? []).find((candidate) => tolerates(candidate, taint));
        if (toleration === undefined) {
          wait = 0;
          break;
        }
        wait = Math.max(
          wait,
          toleration.tolerationSeconds === undefined || toleration.tolerationSeconds === null
            ? Number.POSITIVE_INFINITY
            : toleration.tolerationSeconds * 1_000,
        );
      }
      if (taints.length === 0 || wait === Number.POSITIVE_INFINITY) continue;
      const uid = pod.metadata?.uid;
      const key = objectKey(pod.metadata?.namespace, pod.metadata?.name ?? '');
      const timer = context.clock.setTimeout(() => {
        timers.delete(timer);
        const live = context.store.get('pods', key) as Pod | undefined;
        if (live !== undefined && live.metadata?.uid === uid && !live.metadata?.deletionTimestamp)
          this.#evict(live);
      }, wait);
      timers.add(timer);
    }
  }

  cancel(name: string): void {
    for (const timer of this.#timers.get(name) ?? []) this.#context().clock.clearTimeout(timer);
    this.#timers.delete(name);
  }
}

/**
 * Removes a node. Pods bound to it are orphans: the pod garbage collector (pkg/controller/podgc
 * gcOrphaned) marks them Failed and deletes them at once, after its quarantine.
 */
export function removeNode(context: ClusterContext, name: string, forceDelete: (pod: Pod) => void): void {
  const node = existingNode(context, name);
  context.nodeEvictions.cancel(name);
  context.store.commit('nodes', 'DELETED', name, node);
  context.nodeLeases.remove(name);
  const orphans = podsOn(context, name).map((pod) => ({
    key: objectKey(pod.metadata?.namespace, pod.metadata?.name ?? ''),
    uid: pod.metadata?.uid,
  }));
  if (orphans.length === 0) return;
  context.clock.setTimeout(() => {
    for (const orphan of orphans) {
      const pod = context.store.get('pods', orphan.key) as Pod | undefined;
      if (pod !== undefined && pod.metadata?.uid === orphan.uid && !context.store.get('nodes', name))
        forceDelete(pod);
    }
  }, QUARANTINE_MS);
}

export { NOT_READY, UNREACHABLE };
