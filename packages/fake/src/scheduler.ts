import type { Pod } from '@podstorage/core';
import type { Node, Taint, Toleration } from 'kubernetes-types/core/v1.js';

/**
 * The simulated default-scheduler's filters and messages, after pkg/scheduler in kubernetes/kubernetes:
 * the default profile's filter plugins in their order (framework/plugins/nodeunschedulable,
 * tainttoleration, nodeaffinity, noderesources/fit.go), the FitError message
 * (framework/types.go: "0/%v nodes are available: %v." with the reasons counted and sorted) and the
 * preemption postfix (framework/preemption: "preemption: 0/%v nodes are available: ...").
 */

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A resource.Quantity as a number (`500m` → 0.5, `1Gi` → 1073741824, `1e3` → 1000); throws an error
 * naming the value when it is not a quantity (k8s.io/apimachinery/pkg/api/resource/quantity.go).
 */
export function parseQuantity(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkKMGTPE])?)$/.exec(
    value.trim(),
  );
  if (!match)
    throw new TypeError(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${value}"`,
    );
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2]);
  return number * (SUFFIXES[match[3] ?? ''] ?? 1);
}

/** A pod's requests as the scheduler counts them: app containers summed, each init container as a floor. */
export function podRequests(pod: Pod): { cpu: number; memory: number } {
  const sum = { cpu: 0, memory: 0 };
  for (const container of pod.spec?.containers ?? []) {
    const requests = container.resources?.requests ?? container.resources?.limits ?? {};
    sum.cpu += parseQuantity(requests.cpu as string | undefined);
    sum.memory += parseQuantity(requests.memory as string | undefined);
  }
  for (const container of pod.spec?.initContainers ?? []) {
    const requests = container.resources?.requests ?? container.resources?.limits ?? {};
    sum.cpu = Math.max(sum.cpu, parseQuantity(requests.cpu as string | undefined));
    sum.memory = Math.max(sum.memory, parseQuantity(requests.memory as string | undefined));
  }
  return sum;
}

/** Whether a toleration tolerates a taint (k8s.io/api/core/v1 toleration.go ToleratesTaint). */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (!toleration.key && toleration.operator !== 'Exists') return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

function matchesNodeSelector(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {}))
    if (labels[key] !== value) return false;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined || terms.length === 0) return true;
  return terms.some((term) =>
    (term.matchExpressions ?? []).every((expression) => {
      const value = labels[expression.key];
      switch (expression.operator) {
        case 'In':
          return value !== undefined && (expression.values ?? []).includes(value);
        case 'NotIn':
          return value === undefined || !(expression.values ?? []).includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        case 'Gt':
          return value !== undefined && Number(value) > Number(expression.values?.[0]);
        case 'Lt':
          return value !== undefined && Number(value) < Number(expression.values?.[0]);
        default:
          return false;
      }
    }),
  );
}

/** Pods that hold a node's resources: bound to it and not finished. */
function activeOn(pods: readonly Pod[], node: string): Pod[] {
  return pods.filter(
    (pod) =>
      pod.spec?.nodeName === node && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed',
  );
}

/** What a node has free for one more pod. */
export function nodeUsage(node: Node, pods: readonly Pod[]): { cpu: number; memory: number; pods: number } {
  const used = { cpu: 0, memory: 0, pods: 0 };
  for (const pod of activeOn(pods, node.metadata?.name ?? '')) {
    const requests = podRequests(pod);
    used.cpu += requests.cpu;
    used.memory += requests.memory;
    used.pods += 1;
  }
  return used;
}

/** Why one node cannot take the pod (the first failing filter's reasons), or `[]` when it can. */
function filterNode(
  pod: Pod,
  node: Node,
  pods: readonly Pod[],
): { reasons: string[]; preemptionHelps: boolean } {
  const fail = (reasons: string[], preemptionHelps = false) => ({ reasons, preemptionHelps });
  const tolerations = pod.spec?.tolerations ?? [];
  if (node.spec?.unschedulable) {
    const tolerated = tolerations.some((toleration) =>
      tolerates(toleration, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }),
    );
    if (!tolerated) return fail(['node(s) were unschedulable']);
  }
  const untolerated = (node.spec?.taints ?? []).find(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !tolerations.some((toleration) => tolerates(toleration, taint)),
  );
  if (untolerated !== undefined) {
    return fail([`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`]);
  }
  if (!matchesNodeSelector(pod, node)) return fail(["node(s) didn't match Pod's node affinity/selector"]);
  const allocatable = node.status?.allocatable ?? {};
  const used = nodeUsage(node, pods);
  const wanted = podRequests(pod);
  const reasons: string[] = [];
  if (used.pods + 1 > parseQuantity(allocatable.pods as string | undefined)) reasons.push('Too many pods');
  if (wanted.cpu > 0 && used.cpu + wanted.cpu > parseQuantity(allocatable.cpu as string | undefined))
    reasons.push('Insufficient cpu');
  if (
    wanted.memory > 0 &&
    used.memory + wanted.memory > parseQuantity(allocatable.memory as string | undefined)
  )
    reasons.push('Insufficient memory');
  return fail(reasons, true);
}

/** The scheduler's decision: a node, or the FailedScheduling message. */
export type ScheduleResult = { readonly node: string } | { readonly message: string };

/**
 * Picks a node for `pod` among `nodes`, given every pod (for what they hold), or says why none fits in
 * the scheduler's words. Among feasible nodes the least allocated wins (NodeResourcesFit's default
 * LeastAllocated score), ties by name.
 */
export function schedule(pod: Pod, nodes: readonly Node[], pods: readonly Pod[]): ScheduleResult {
  const counts = new Map<string, number>();
  const preemption = new Map<string, number>();
  const feasible: { name: string; score: number }[] = [];
  for (const node of nodes) {
    const { reasons, preemptionHelps } = filterNode(pod, node, pods);
    if (reasons.length === 0) {
      const allocatable = node.status?.allocatable ?? {};
      const used = nodeUsage(node, pods);
      const wanted = podRequests(pod);
      const cpu = parseQuantity(allocatable.cpu as string | undefined) || 1;
      const memory = parseQuantity(allocatable.memory as string | undefined) || 1;
      const free = (1 - (used.cpu + wanted.cpu) / cpu + 1 - (used.memory + wanted.memory) / memory) / 2;
      feasible.push({ name: node.metadata?.name ?? '', score: free });
      continue;
    }
    for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    const verdict = preemptionHelps
      ? 'No preemption victims found for incoming pod'
      : 'Preemption is not helpful for scheduling';
    preemption.set(verdict, (preemption.get(verdict) ?? 0) + 1);
  }
  if (feasible.length > 0) {
    feasible.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
    return { node: (feasible[0] as { name: string }).name };
  }
  const list = (map: Map<string, number>) =>
    [...map]
      .map(([reason, count]) => `${count} ${reason}`)
      .sort()
      .join(', ');
  const total = nodes.length;
  if (total === 0) return { message: 'no nodes available to schedule pods' };
  return {
    message: `0/${total} nodes are available: ${list(counts)}. preemption: 0/${total} nodes are available: ${list(preemption)}.`,
  };
}

/** The scheduler's per-pod backoff: 1 s doubling to 10 s (pkg/scheduler/apis/config/v1 defaults: podInitialBackoffSeconds, podMaxBackoffSeconds). */
export function schedulerBackoffMs(attempts: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 10_000);
}

/** How long an unschedulable pod waits for a cluster event before it is retried anyway (internal/queue: podMaxInUnschedulablePodsDuration). */
export const UNSCHEDULABLE_FLUSH_MS = 5 * 60_000;
