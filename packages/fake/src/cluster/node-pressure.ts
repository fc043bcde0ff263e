import type { Pod, TimerHandle } from '@podstorage/core';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ContainerUsage } from '../lifecycle.js';
import { objectKey } from '../object-store.js';
import { parseQuantity, tolerates } from '../scheduler.js';
import { invalid, notFound } from '../status.js';
import type { ClusterContext } from './context.js';
import { recordNodeEvent } from './events.js';
import { type PressureCondition, pressureOf, setNodePressureConditions } from './nodes.js';

/** A resource the kubelet's eviction manager can run short of on a simulated node. */
export type PressureResource = 'memory' | 'ephemeral-storage';

/** How short of a resource a node is, as a test scripts it with {@link FakeCluster.setNodePressure}. */
export interface NodePressure {
  /**
   * What the node has available now (a quantity: `50Mi`), while the pods now on it run. Pods that stop
   * (evicted, deleted, finished) give back what they used; pods that start take what they use.
   */
  readonly available: string;
  /**
   * The hard eviction threshold: a quantity or a percentage of the node's capacity. Default the
   * kubelet's (pkg/kubelet/eviction/defaults_linux.go): `memory.available<100Mi`, `nodefs.available<10%`.
   */
  readonly threshold?: string;
}

/** pkg/kubelet/kubelet.go: evictionMonitoringPeriod; eviction_manager.go: podCleanupPollFreq and podCleanupTimeout. */
const MONITORING_MS = 10_000;
const CLEANUP_POLL_MS = 1_000;
const CLEANUP_TIMEOUT_MS = 30_000;
/** The kubelet's --eviction-pressure-transition-period default (5 m): how long a condition stays True. */
export const PRESSURE_TRANSITION_MS = 5 * 60_000;
/** eviction_manager.go immediateEvictionGracePeriodSeconds: the grace period of a hard eviction. */
const IMMEDIATE_EVICTION_GRACE_SECONDS = 1;
/** pkg/apis/scheduling SystemCriticalPriority: pods at or above it are never evicted (IsCriticalPod). */
const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

/** The condition each resource's signal reports (helpers.go signalToNodeCondition). */
const CONDITION: Record<PressureResource, PressureCondition> = {
  memory: 'MemoryPressure',
  'ephemeral-storage': 'DiskPressure',
};
const DEFAULT_THRESHOLD: Record<PressureResource, string> = { memory: '100Mi', 'ephemeral-storage': '10%' };

/** Whether a pod is BestEffort (v1qos.GetPodQOS): no container requests or limits any CPU or memory. */
function bestEffort(pod: Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].every((container) => {
    const { requests = {}, limits = {} } = container.resources ?? {};
    return ['cpu', 'memory'].every((name) => requests[name] === undefined && limits[name] === undefined);
  });
}

/**
 * The eviction manager's admission handler (eviction_manager.go Admit): a node under pressure refuses
 * new pods, except critical ones; under memory pressure alone it still takes pods that are not
 * BestEffort, and BestEffort ones that tolerate the memory-pressure taint. The refusal is reason
 * `Evicted`, message `The node had condition: [MemoryPressure]. ` (nodeConditionMessageFmt).
 */
export function admitUnderPressure(pod: Pod, node: Node): { reason: string; message: string } | undefined {
  const pressure = pressureOf(node);
  if (pressure.size === 0 || (pod.spec?.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY) return undefined;
  if (pressure.size === 1 && pressure.has('MemoryPressure')) {
    if (!bestEffort(pod)) return undefined;
    const taint = { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' };
    if ((pod.spec?.tolerations ?? []).some((toleration) => tolerates(toleration, taint))) return undefined;
  }
  const order: PressureCondition[] = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];
  const conditions = order.filter((type) => pressure.has(type));
  return { reason: 'Evicted', message: `The node had condition: [${conditions.join(' ')}]. ` };
}

/** What one resource's threshold tracks on one node. */
interface Signal {
  readonly threshold: number;
  /** The threshold as the eviction message prints it. */
  readonly thresholdText: string;
  /** What the node would have available with no pods running; `undefined` once the pressure is over. */
  base: number | undefined;
  /** When the threshold was last met (for the transition period). */
  lastMetAt: number | undefined;
}

interface NodeState {
  readonly signals: Map<PressureResource, Signal>;
  timer: TimerHandle | undefined;
}

/**
 * A resource.Quantity in the BinarySI format Go prints (`resource.NewQuantity(n, resource.BinarySI)`):
 * the largest power-of-1024 suffix that divides the value exactly (`51200Ki`, `100Mi`), a plain number
 * for anything else (or below 1024).
 */
export function formatBinaryQuantity(bytes: number): string {
  let value = Math.trunc(bytes);
  if (value > -1024 && value < 1024) return String(value);
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let index = 0;
  while (index < suffixes.length - 1 && value !== 0 && value % 1024 === 0) {
    value /= 1024;
    index++;
  }
  return `${value}${suffixes[index]}`;
}

function thresholdOf(node: Node, resource: PressureResource, text: string): Signal {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const capacity = parseQuantity(node.status?.capacity?.[resource] as string | undefined);
  if (percent) {
    // evictionapi.ThresholdValue keeps a percentage as float32 (GetThresholdQuantity multiplies with it).
    const value = Math.trunc(capacity * Math.fround(Number(percent[1]) / 100));
    return {
      threshold: value,
      thresholdText: formatBinaryQuantity(value),
      base: undefined,
      lastMetAt: undefined,
    };
  }
  let value: number;
  try {
    value = parseQuantity(text);
  } catch {
    throw invalid('Node', node.metadata?.name ?? '', [
      { reason: 'FieldValueInvalid', field: 'threshold', message: `not a quantity or percentage: "${text}"` },
    ]);
  }
  return { threshold: value, thresholdText: text, base: undefined, lastMetAt: undefined };
}

function usageOf(usage: ContainerUsage, resource: PressureResource): number {
  return parseQuantity(usage[resource]);
}

function requestOf(pod: Pod, container: string, resource: PressureResource): string | undefined {
  const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
    (candidate) => candidate.name === container,
  );
  return spec?.resources?.requests?.[resource] as string | undefined;
}

/** One pod on the node as the eviction manager's stats see it. */
interface PodStats {
  readonly pod: Pod;
  readonly key: string;
  readonly containers: { readonly name: string; readonly usage: number; readonly request: number }[];
  readonly usage: number;
  readonly request: number;
}

/**
 * The kubelet's eviction manager for each simulated node under scripted pressure
 * (pkg/kubelet/eviction/eviction_manager.go synchronize, helpers.go): every 10 s it observes what is
 * available; below the threshold it reports MemoryPressure/DiskPressure (the node lifecycle
 * controller then taints the node `node.kubernetes.io/memory-pressure:NoSchedule` or `disk-pressure`),
 * ranks the pods (those using more than they request first, then by priority, then by how far usage
 * exceeds requests) and evicts the first, waits for it to be cleaned up and looks again. The condition
 * stays True for the pressure transition period (5 min) after the threshold was last met.
 */
export class EvictionManager {
  readonly #context: () => ClusterContext;
  readonly #nodes = new Map<string, NodeState>();

  constructor(context: () => ClusterContext) {
    this.#context = context;
  }

  /** Scripts (or with `false` ends) a resource's pressure on a node, and synchronizes at once. */
  set(name: string, resource: PressureResource, pressure: NodePressure | false): void {
    const context = this.#context();
    const node = context.store.get('nodes', name) as Node | undefined;
    if (node === undefined) throw notFound('nodes', name);
    if (resource !== 'memory' && resource !== 'ephemeral-storage')
      throw new TypeError(
        `setNodePressure: unsupported resource "${String(resource)}" (memory or ephemeral-storage)`,
      );
    const state = this.#nodes.get(name) ?? { signals: new Map(), timer: undefined };
    const existing = state.signals.get(resource);
    if (pressure === false) {
      if (existing === undefined) return;
      existing.base = undefined;
    } else {
      let available: number;
      try {
        available = parseQuantity(pressure.available);
      } catch {
        throw new TypeError(
          `setNodePressure: available must be a quantity such as "50Mi", not "${pressure.available}"`,
        );
      }
      const signal = thresholdOf(node, resource, pressure.threshold ?? DEFAULT_THRESHOLD[resource]);
      signal.lastMetAt = existing?.lastMetAt;
      signal.base = available + this.#used(name, resource);
      state.signals.set(resource, signal);
    }
    this.#nodes.set(name, state);
    this.#synchronize(name);
  }

  /** The node is gone: its eviction manager stops. */
  forget(name: string): void {
    const state = this.#nodes.get(name);
    if (state?.timer !== undefined) this.#context().clock.clearTimeout(state.timer);
    this.#nodes.delete(name);
  }

  #stats(name: string, resource: PressureResource): PodStats[] {
    const context = this.#context();
    const result: PodStats[] = [];
    for (const pod of context.store.values('pods') as Pod[]) {
      if (pod.spec?.nodeName !== name) continue;
      const key = objectKey(pod.metadata?.namespace, pod.metadata?.name ?? '');
      const running = context.simulator.usage(key);
      if (running === undefined) continue;
      const containers = running.map(({ container, usage }) => ({
        name: container,
        usage: usageOf(usage, resource),
        request: parseQuantity(requestOf(pod, container, resource)),
      }));
      result.push({
        pod,
        key,
        containers,
        usage: containers.reduce((sum, container) => sum + container.usage, 0),
        request: containers.reduce((sum, container) => sum + container.request, 0),
      });
    }
    return result;
  }

  #used(name: string, resource: PressureResource): number {
    return this.#stats(name, resource).reduce((sum, stats) => sum + stats.usage, 0);
  }

  #synchronize(name: string): void {
    const context = this.#context();
    const state = this.#nodes.get(name);
    if (state === undefined) return;
    if (state.timer !== undefined) context.clock.clearTimeout(state.timer);
    state.timer = undefined;
    const node = context.store.get('nodes', name) as Node | undefined;
    if (node === undefined) {
      this.#nodes.delete(name);
      return;
    }
    const now = context.clock.now();
    const met: { resource: PressureResource; signal: Signal; available: number }[] = [];
    for (const [resource, signal] of state.signals) {
      if (signal.base === undefined) continue;
      const available = signal.base - this.#used(name, resource);
      if (available < signal.threshold) {
        signal.lastMetAt = now;
        met.push({ resource, signal, available });
      }
    }
    const pressure = new Set<PressureCondition>();
    for (const [resource, signal] of state.signals) {
      if (signal.lastMetAt !== undefined && now - signal.lastMetAt < PRESSURE_TRANSITION_MS)
        pressure.add(CONDITION[resource]);
      else if (signal.base === undefined) state.signals.delete(resource);
    }
    setNodePressureConditions(context, name, pressure);
    if (state.signals.size === 0) {
      // Nothing scripted and every condition back to False: the loop rests until the next pressure.
      this.#nodes.delete(name);
      return;
    }
    // Memory first (byEvictionPriority), then disk.
    const target = met.find((entry) => entry.resource === 'memory') ?? met[0];
    const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status;
    const evicted = target !== undefined && ready !== 'Unknown' ? this.#evictOne(name, target) : undefined;
    if (evicted === undefined) {
      state.timer = context.clock.setTimeout(() => this.#synchronize(name), MONITORING_MS);
      return;
    }
    // waitForPodsCleanup: poll every second until the evicted pod's containers are gone (30 s at most),
    // then synchronize again at once.
    const started = now;
    const poll = () => {
      state.timer = context.clock.setTimeout(() => {
        state.timer = undefined;
        if (context.simulator.active(evicted) && context.clock.now() - started < CLEANUP_TIMEOUT_MS) poll();
        else this.#synchronize(name);
      }, CLEANUP_POLL_MS);
    };
    poll();
  }

  /** Ranks the pods for the starved resource and evicts the first that can go; returns its key. */
  #evictOne(
    name: string,
    target: { resource: PressureResource; signal: Signal; available: number },
  ): string | undefined {
    const context = this.#context();
    const { resource, signal, available } = target;
    recordNodeEvent(context, name, {
      reason: 'EvictionThresholdMet',
      message: `Attempting to reclaim ${resource}`,
      type: 'Warning',
    });
    const exceeds = (stats: PodStats) => stats.usage > stats.request;
    // helpers.go rankMemoryPressure / rankDiskPressureFunc: orderedBy(exceedRequests, priority, usage over requests).
    const ranked = this.#stats(name, resource).sort(
      (a, b) =>
        Number(exceeds(b)) - Number(exceeds(a)) ||
        (a.pod.spec?.priority ?? 0) - (b.pod.spec?.priority ?? 0) ||
        b.usage - b.request - (a.usage - a.request) ||
        a.key.localeCompare(b.key),
    );
    for (const stats of ranked) {
      if ((stats.pod.spec?.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY) continue;
      // helpers.go evictionMessage: the resource, the threshold and what was available, and each
      // container that used more than it requested.
      let message = `The node was low on resource: ${resource}. Threshold quantity: ${signal.thresholdText}, available: ${formatBinaryQuantity(available)}. `;
      const offending: string[] = [];
      const offendingUsage: string[] = [];
      for (const container of stats.containers) {
        if (container.usage <= container.request) continue;
        const usage = formatBinaryQuantity(container.usage);
        const request = requestOf(stats.pod, container.name, resource) ?? '0';
        message += `Container ${container.name} was using ${usage}, request is ${request}, has larger consumption of ${resource}. `;
        offending.push(container.name);
        offendingUsage.push(usage);
      }
      const evicted = context.simulator.evict(stats.key, {
        reason: 'Evicted',
        message,
        graceSeconds: IMMEDIATE_EVICTION_GRACE_SECONDS,
        event: {
          reason: 'Evicted',
          message,
          type: 'Warning',
          annotations: {
            offending_containers: offending.join(','),
            offending_containers_usage: offendingUsage.join(','),
            starved_resource: resource,
          },
        },
      });
      if (evicted) return stats.key;
    }
    return undefined;
  }
}
