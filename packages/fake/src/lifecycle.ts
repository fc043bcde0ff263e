import type { Pod, PodPhase, PodStatus, TimerHandle } from '@podstorage/core';
import type { Node } from 'kubernetes-types/core/v1.js';
import {
  behaviourFromCommand,
  CONTAINER_SCRIPT_KEYS,
  type ContainerRunPlan,
  type ContainerScript,
  containerScriptProblem,
  planRun,
} from './container-behaviour.js';
import type { FakeClock } from './fake-clock.js';
import type { MutablePod } from './object-store.js';
import { type ContainerInstance, PodLogs } from './pod-logs.js';
import { schedule, schedulerBackoffMs, UNSCHEDULABLE_FLUSH_MS } from './scheduler.js';

export type { ContainerScript } from './container-behaviour.js';

/**
 * What a running container uses of the resources the kubelet's eviction manager watches (quantities:
 * `200Mi`, `1Gi`): its working set and its writable layer plus logs. Default: memory `8Mi`,
 * ephemeral-storage `32Ki`.
 */
export interface ContainerUsage {
  readonly memory?: string;
  readonly 'ephemeral-storage'?: string;
}

/** A container's script with what it uses (see {@link ContainerUsage}). */
export interface ContainerLifecycleScript extends ContainerScript {
  /** What the container uses while it runs, for node-pressure eviction. */
  readonly usage?: ContainerUsage;
}

/**
 * What the simulated scheduler and kubelet do with one pod. Every duration is on the cluster's clock.
 * A pod's script comes from `createPod(pod, { lifecycle })`, else from the JSON in its
 * `podstorage.dev/lifecycle` annotation, else from the cluster's `defaultLifecycle`, field by field.
 * The container fields apply to every container (init containers included) unless `containers` names
 * the container with fields of its own.
 */
export interface LifecycleScript extends ContainerLifecycleScript {
  /** Delay from creation to the scheduler's first attempt. Default 100. */
  readonly scheduleAfterMs?: number;
  /** FailedScheduling instead of a node: `true` forever, or for `forMs` (then scheduled as usual). */
  readonly unschedulable?: boolean | { readonly forMs: number };
  /** Per-container scripts by container name, over the pod-level fields. */
  readonly containers?: Readonly<Record<string, ContainerLifecycleScript>>;
}

/** The annotation that can carry a pod's {@link LifecycleScript} as JSON. */
export const LIFECYCLE_ANNOTATION = 'podstorage.dev/lifecycle';

const SCHEDULE_AFTER_MS = 100;
const PULL_MS = 1_000;
const STOP_MS = 1_000;
/** pkg/kubelet/kubelet.go: backOffPeriod (10 s) and MaxContainerBackOff (300 s). */
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** k8s.io/client-go/util/flowcontrol/backoff.go hasExpired: an entry older than 2 × max starts over. */
const BACKOFF_RESET_MS = 2 * BACKOFF_MAX_MS;
/** pkg/kubelet/kuberuntime/kuberuntime_container.go: minimumGracePeriodInSeconds. */
const MINIMUM_GRACE_MS = 2_000;
const IMAGE_SIZE = 4_269_694;

const POD_KEYS = new Set([
  'scheduleAfterMs',
  'unschedulable',
  'containers',
  'usage',
  ...CONTAINER_SCRIPT_KEYS,
]);
const CONTAINER_KEYS = new Set<string>([...CONTAINER_SCRIPT_KEYS, 'usage']);
/** What a container uses when its script does not say (see {@link ContainerUsage}). */
export const DEFAULT_USAGE = { memory: '8Mi', 'ephemeral-storage': '32Ki' } as const;

/** A resource.Quantity (no sign: usage is never negative). */
const QUANTITY = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/;

function usageProblem(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `${where}usage must be an object of quantities`;
  for (const [key, quantity] of Object.entries(value)) {
    if (key !== 'memory' && key !== 'ephemeral-storage')
      return `unknown field "${where}usage.${key}" (memory and ephemeral-storage are watched)`;
    if (typeof quantity !== 'string' || !QUANTITY.test(quantity))
      return `${where}usage.${key} must be a quantity such as "200Mi", not ${JSON.stringify(quantity)}`;
  }
  return undefined;
}

/** Checks a script's shape; returns a problem description or `undefined`. */
export function lifecycleScriptProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  const script = value as Record<string, unknown>;
  for (const key of Object.keys(script)) if (!POD_KEYS.has(key)) return `unknown field "${key}"`;
  const schedule = script.scheduleAfterMs;
  if (schedule !== undefined && (typeof schedule !== 'number' || !Number.isFinite(schedule) || schedule < 0))
    return 'scheduleAfterMs must be a number >= 0';
  const unschedulable = script.unschedulable;
  if (unschedulable !== undefined && typeof unschedulable !== 'boolean') {
    const forMs = (unschedulable as Record<string, unknown> | null)?.forMs;
    if (typeof forMs !== 'number' || forMs < 0) return 'unschedulable must be a boolean or { forMs: number }';
  }
  const problem = containerScriptProblem(script) ?? usageProblem(script.usage, '');
  if (problem) return problem;
  const containers = script.containers;
  if (containers === undefined) return undefined;
  if (typeof containers !== 'object' || containers === null || Array.isArray(containers))
    return 'containers must be an object of container scripts by name';
  for (const [name, inner] of Object.entries(containers)) {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
      return `containers.${name} must be an object`;
    for (const key of Object.keys(inner))
      if (!CONTAINER_KEYS.has(key)) return `unknown field "containers.${name}.${key}"`;
    const innerProblem =
      containerScriptProblem(inner as Record<string, unknown>, `containers.${name}.`) ??
      usageProblem((inner as Record<string, unknown>).usage, `containers.${name}.`);
    if (innerProblem) return innerProblem;
  }
  return undefined;
}

/** Formats a duration as Go's `time.Duration` does for the kubelet's messages (`1s`, `1.5s`, `800ms`, `5m0s`). */
export function goDuration(ms: number): string {
  if (ms < 1_000) return `${Number(ms.toFixed(3))}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Number(((ms % 60_000) / 1_000).toFixed(3))}s`;
}

/** RFC 3339 at second precision, as Kubernetes writes `metav1.Time`. */
export function kubernetesTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type ContainerStatus = NonNullable<MutablePod['status']>['containerStatuses'] extends (infer C)[] | undefined
  ? C
  : never;
type PodCondition = NonNullable<MutablePod['status']>['conditions'] extends (infer C)[] | undefined
  ? C
  : never;
type ContainerSpec = NonNullable<Pod['spec']>['containers'][number];

function condition(
  type: string,
  status: 'True' | 'False',
  time: string,
  reason?: string,
  message?: string,
): PodCondition {
  return {
    type,
    status,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: time,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

function hash(text: string): number {
  let value = 0;
  for (const character of text) value = (Math.imul(value, 31) + character.charCodeAt(0)) >>> 0;
  return value;
}

function hex64(text: string): string {
  return hash(text).toString(16).padStart(8, '0').repeat(8);
}

function imageReference(image: string): string {
  const withTag = /:[^/]+$/.test(image) || image.includes('@') ? image : `${image}:latest`;
  return withTag.includes('/') ? withTag : `docker.io/library/${withTag}`;
}

function imageId(image: string): string {
  return `${imageReference(image).replace(/:[^/:]+$/, '')}@sha256:${hex64(image)}`;
}

/** The apiserver's default (pkg/apis/core/v1/defaults.go SetDefaults_Container): Always for `:latest` or no tag. */
function pullPolicy(container: ContainerSpec): string {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const image = container.image ?? '';
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  return image.includes('@') || (tag !== undefined && tag !== 'latest') ? 'IfNotPresent' : 'Always';
}

/**
 * Conditions and container statuses consistent with `phase`, as the kubelet would report them: used by
 * `setPodPhase` when the caller gives none.
 */
export function statusForPhase(
  pod: Pod,
  phase: PodPhase,
  now: Date,
): Pick<PodStatus, 'conditions' | 'containerStatuses'> {
  const time = kubernetesTime(now);
  const names = (pod.spec?.containers ?? []).map((container) => container.name);
  const previous = new Map((pod.status?.containerStatuses ?? []).map((status) => [status.name, status]));
  const scheduled = condition('PodScheduled', pod.spec?.nodeName ? 'True' : 'False', time);
  const base = (name: string): ContainerStatus => ({
    name,
    image: pod.spec?.containers?.find((container) => container.name === name)?.image ?? '',
    imageID: previous.get(name)?.imageID ?? '',
    restartCount: previous.get(name)?.restartCount ?? 0,
    ready: false,
    started: false,
    state: {},
  });
  switch (phase) {
    case 'Pending':
      return {
        conditions: [scheduled],
        containerStatuses: pod.spec?.nodeName
          ? names.map((name) => ({ ...base(name), state: { waiting: { reason: 'ContainerCreating' } } }))
          : undefined,
      };
    case 'Running':
      return {
        conditions: [
          condition('Initialized', 'True', time),
          condition('Ready', 'True', time),
          condition('ContainersReady', 'True', time),
          scheduled,
        ],
        containerStatuses: names.map((name) => ({
          ...base(name),
          ready: true,
          started: true,
          state: { running: { startedAt: time } },
        })),
      };
    case 'Succeeded':
    case 'Failed': {
      const exitCode = phase === 'Succeeded' ? 0 : 1;
      return {
        conditions: [
          condition('Initialized', 'True', time),
          condition('Ready', 'False', time, 'PodCompleted'),
          condition('ContainersReady', 'False', time, 'PodCompleted'),
          scheduled,
        ],
        containerStatuses: names.map((name) => ({
          ...base(name),
          state: {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? 'Completed' : 'Error',
              startedAt: previous.get(name)?.state?.running?.startedAt ?? time,
              finishedAt: time,
            },
          },
        })),
      };
    }
    default:
      return { conditions: pod.status?.conditions, containerStatuses: pod.status?.containerStatuses };
  }
}

/** An event the simulated kubelet or scheduler records about a pod. */
export interface PodEventRecord {
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  component: string;
  fieldPath?: string;
  /** The node of a kubelet's event (its `source.host`). */
  host?: string;
  /** For events written through events.k8s.io/v1 (the scheduler's): the action, such as `Binding`. */
  action?: string;
  /** The event's own annotations (the eviction manager's AnnotatedEventf). */
  annotations?: Readonly<Record<string, string>>;
}

/** What the simulator needs from the cluster. */
export interface LifecycleHost {
  readonly clock: FakeClock;
  /** The live pod by key, if it still exists. */
  pod(key: string): Pod | undefined;
  /** Every pod (what the scheduler counts against nodes). */
  pods(): readonly Pod[];
  /** The nodes the scheduler may use. */
  nodes(): readonly Node[];
  /** Commits a MODIFIED pod built by `change` from a copy of the live one (nothing when nothing changed). */
  update(key: string, change: (pod: MutablePod) => void): void;
  /** Records (or aggregates) an event about the pod. */
  record(pod: Pod, event: PodEventRecord): void;
  /** The kubelet's final delete (grace 0) once every container of a terminating pod has stopped. */
  finishDeletion(key: string, uid: string): void;
  /** Why the node's kubelet refuses the pod (its admission handlers), if it does. */
  admit?(pod: Pod, node: Node): { readonly reason: string; readonly message: string } | undefined;
}

/** One container of a simulated pod, as the kubelet tracks it. */
interface ContainerRun {
  readonly spec: ContainerSpec;
  readonly script: ContainerScript;
  /** What the container uses while it runs (for the eviction manager). */
  readonly usage: ContainerUsage;
  readonly init: boolean;
  /** Instances started so far. */
  runs: number;
  running: boolean;
  /** The current instance's exit code once it ended. */
  exitCode: number | undefined;
  /** The crash-loop back-off entry (client-go flowcontrol.Backoff). */
  backoff: { ms: number; lastUpdate: number } | undefined;
  pullFailures: number;
  pullBackoff: { ms: number; lastUpdate: number } | undefined;
  instance: ContainerInstance | undefined;
  plan: ContainerRunPlan | undefined;
  /** Timers of the current instance (exit, output, readiness), cleared when it stops. */
  readonly timers: Set<TimerHandle>;
  /** Set when the kubelet has asked the container to stop. */
  stopping: boolean;
}

interface Run {
  readonly key: string;
  readonly uid: string;
  readonly script: LifecycleScript;
  readonly timers: Set<TimerHandle>;
  readonly logs: PodLogs;
  readonly init: ContainerRun[];
  readonly containers: ContainerRun[];
  node: string | undefined;
  attempts: number;
  /**
   * When a scripted `unschedulable` block ends, on the cluster's clock: fixed once at creation, so no
   * attempt re-derives it in floating point (issue 10 item 11: `now - createdAt - delay` read as "not
   * over" by 1e-12 ms retried at the same instant forever). -Infinity without a block, Infinity forever.
   */
  blockedUntil: number;
  /** Unschedulable: when the next attempt may run (backoff) and the pending retry. */
  retryAt: number;
  retry: TimerHandle | undefined;
  waitingForRoom: boolean;
  terminating: boolean;
  /** Terminating on an unreachable node: waiting for its kubelet to come back. */
  stuck: boolean;
  /** Evicted by the kubelet: its containers stop, the pod stays (Failed, reason Evicted). */
  evicted: boolean;
  done: boolean;
}

/**
 * Stands in for the default-scheduler and the kubelet: schedules pods onto the cluster's nodes (or
 * reports FailedScheduling and retries with the scheduler's backoff), pulls images, runs init
 * containers in order and then the containers, each as its script or command says, restarts them as
 * the pod's restartPolicy asks with the kubelet's crash-loop back-off, stops them on deletion
 * (SIGTERM, preStop, the grace period, SIGKILL) and keeps what they printed for `pods/log`.
 */
export class LifecycleSimulator {
  readonly #host: LifecycleHost;
  readonly #runs = new Map<string, Run>();
  /** What each pod printed, by pod key, kept until the pod goes (a finished pod's logs stay readable). */
  readonly #logs = new Map<string, { uid: string; logs: PodLogs }>();
  /** Images each node has pulled. */
  readonly #images = new Map<string, Set<string>>();

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** Starts simulating a newly created pod. */
  start(key: string, pod: Pod, script: LifecycleScript): void {
    const logs = new PodLogs();
    this.#logs.set(key, { uid: pod.metadata?.uid ?? '', logs });
    const container = (spec: ContainerSpec, init: boolean): ContainerRun => {
      const { containers: perContainer, ...podLevel } = script;
      const { usage: podUsage, ...podScript } = podLevel;
      const { usage: ownUsage, ...ownScript } = perContainer?.[spec.name] ?? {};
      return {
        spec,
        script: { ...podScript, ...ownScript },
        usage: { ...DEFAULT_USAGE, ...podUsage, ...ownUsage },
        init,
        runs: 0,
        running: false,
        exitCode: undefined,
        backoff: undefined,
        pullFailures: 0,
        pullBackoff: undefined,
        instance: undefined,
        plan: undefined,
        timers: new Set(),
        stopping: false,
      };
    };
    const run: Run = {
      key,
      uid: pod.metadata?.uid ?? '',
      script,
      timers: new Set(),
      logs,
      init: (pod.spec?.initContainers ?? []).map((spec) => container(spec, true)),
      containers: (pod.spec?.containers ?? []).map((spec) => container(spec, false)),
      node: pod.spec?.nodeName,
      attempts: 0,
      blockedUntil: blockedUntil(script, this.#host.clock.now()),
      retryAt: 0,
      retry: undefined,
      waitingForRoom: false,
      terminating: false,
      stuck: false,
      evicted: false,
      done: false,
    };
    this.#runs.set(key, run);
    if (run.node) this.#after(run, 0, () => this.#kubeletStart(run));
    else this.#after(run, script.scheduleAfterMs ?? SCHEDULE_AFTER_MS, () => this.#schedule(run));
  }

  /** What the pod's containers printed (for `pods/log`), if the pod is simulated. */
  logs(key: string, uid: string | undefined): PodLogs | undefined {
    const entry = this.#logs.get(key);
    return entry !== undefined && entry.uid === uid ? entry.logs : undefined;
  }

  /**
   * The pod is being deleted (its deletionTimestamp is set): the kubelet stops each running container
   * (Killing, the preStop hook, SIGTERM, SIGKILL at the grace period's end), writes the final status and
   * deletes the pod for good. Returns whether the kubelet handles the deletion (else the API server's
   * grace timer does).
   */
  terminate(key: string): boolean {
    const run = this.#runs.get(key);
    const pod = this.#host.pod(key);
    if (run === undefined || pod === undefined || pod.metadata?.uid !== run.uid || run.done) {
      this.stop(key);
      return false;
    }
    if (run.terminating) return true;
    run.terminating = true;
    for (const timer of run.timers) this.#host.clock.clearTimeout(timer);
    run.timers.clear();
    if (run.retry !== undefined) this.#host.clock.clearTimeout(run.retry);
    if (!run.node) {
      this.stop(key);
      return false;
    }
    if (this.#unreachable(run.node)) {
      // The node's kubelet does not answer: nothing stops the containers, and the pod stays
      // Terminating until the node is back (or removed), as on a cluster.
      run.stuck = true;
      return true;
    }
    this.#stopContainers(run, pod);
    return true;
  }

  /**
   * What the pod's running containers use, by container (nothing for a pod the kubelet is not running:
   * not started, finished, being stopped), or `undefined` when the simulator does not run it.
   */
  usage(key: string): { readonly container: string; readonly usage: ContainerUsage }[] | undefined {
    const run = this.#runs.get(key);
    if (run === undefined || run.done || run.terminating || !run.node) return undefined;
    return [...run.init, ...run.containers]
      .filter((container) => container.running)
      .map((container) => ({ container: container.spec.name, usage: container.usage }));
  }

  /** Whether the kubelet still runs the pod's containers (or is stopping them). */
  active(key: string): boolean {
    const run = this.#runs.get(key);
    return run !== undefined && !run.done;
  }

  /**
   * The eviction manager's kill (pkg/kubelet/eviction/eviction_manager.go evictPod, through the pod
   * workers' TerminatePodAbnormallyAndWait): the status first says phase Failed, reason and message, and
   * the DisruptionTarget condition (TerminationByKubelet), then the containers are stopped with the
   * grace period overridden to `graceSeconds` (the kubuntime floor of 2 s applies). The pod is not
   * deleted. Returns whether the pod was evicted (false if the kubelet does not run it).
   */
  evict(
    key: string,
    status: {
      reason: string;
      message: string;
      graceSeconds: number;
      event: Omit<PodEventRecord, 'component' | 'host'>;
    },
  ): boolean {
    const run = this.#runs.get(key);
    const pod = this.#host.pod(key);
    if (run === undefined || pod === undefined || pod.metadata?.uid !== run.uid) return false;
    if (run.done || run.terminating || !run.node || pod.metadata?.deletionTimestamp) return false;
    this.#host.record(pod, { ...status.event, component: 'kubelet', host: run.node });
    run.terminating = true;
    run.evicted = true;
    for (const timer of run.timers) this.#host.clock.clearTimeout(timer);
    run.timers.clear();
    this.#commit(run, (next, time) => {
      next.status = { ...next.status, phase: 'Failed', reason: status.reason, message: status.message };
      this.#setCondition(
        next,
        condition('DisruptionTarget', 'True', time, 'TerminationByKubelet', status.message),
      );
    });
    const graceMs = status.graceSeconds * 1_000;
    const running = [...run.init, ...run.containers].filter((container) => container.running);
    for (const container of [...run.init, ...run.containers]) {
      if (!container.running) this.#clearContainer(container);
    }
    if (running.length === 0) this.#finishTermination(run);
    else for (const container of running) this.#kill(run, container, graceMs);
    return true;
  }

  #unreachable(node: string): boolean {
    const found = this.#host.nodes().find((candidate) => candidate.metadata?.name === node);
    return found?.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'Unknown';
  }

  #stopContainers(run: Run, pod: Pod): void {
    run.stuck = false;
    const graceMs = (pod.metadata?.deletionGracePeriodSeconds ?? 30) * 1_000;
    const running = [...run.init, ...run.containers].filter((container) => container.running);
    for (const container of [...run.init, ...run.containers]) {
      if (!container.running) this.#clearContainer(container);
    }
    if (running.length === 0) {
      this.#finishTermination(run);
      return;
    }
    for (const container of running) this.#kill(run, container, graceMs);
  }

  /** Stops simulating a pod (deleted, or finished) and clears its timers; the pod's logs go when it is gone. */
  stop(key: string): void {
    const run = this.#runs.get(key);
    if (run !== undefined) {
      for (const timer of run.timers) this.#host.clock.clearTimeout(timer);
      for (const container of [...run.init, ...run.containers]) this.#clearContainer(container);
      if (run.retry !== undefined) this.#host.clock.clearTimeout(run.retry);
      this.#runs.delete(key);
    }
    const pod = this.#host.pod(key);
    const logs = this.#logs.get(key);
    if (logs !== undefined && pod?.metadata?.uid !== logs.uid) {
      logs.logs.endAll();
      this.#logs.delete(key);
    }
    if (run !== undefined && !run.done) this.#roomMayHaveAppeared();
  }

  /**
   * Stops simulating every pod for which `keep(key, uid)` is false (after a restore changed the store),
   * and every pod whose termination the restore undid (its containers were being stopped).
   */
  retain(keep: (key: string, uid: string) => boolean): void {
    for (const run of [...this.#runs.values()]) {
      const undone = run.terminating && !this.#host.pod(run.key)?.metadata?.deletionTimestamp;
      if (!keep(run.key, run.uid) || undone) this.stop(run.key);
    }
    for (const [key, entry] of [...this.#logs]) {
      if (!keep(key, entry.uid)) {
        entry.logs.endAll();
        this.#logs.delete(key);
      }
    }
  }

  /** Nodes changed (added, uncordoned, Ready again): pods waiting for room are retried after their backoff. */
  nodesChanged(): void {
    for (const run of [...this.#runs.values()]) {
      const pod = this.#host.pod(run.key);
      if (run.stuck && run.node && !this.#unreachable(run.node) && pod !== undefined)
        this.#stopContainers(run, pod);
    }
    this.#roomMayHaveAppeared();
  }

  // ---------------------------------------------------------------- timers

  #after(run: Run, ms: number, step: () => void, timers: Set<TimerHandle> = run.timers): void {
    const timer = this.#host.clock.setTimeout(() => {
      timers.delete(timer);
      const pod = this.#host.pod(run.key);
      if (this.#runs.get(run.key) !== run || pod?.metadata?.uid !== run.uid) return;
      if (pod.metadata?.deletionTimestamp && !run.terminating) return;
      step();
    }, ms);
    timers.add(timer);
  }

  #clearContainer(container: ContainerRun): void {
    for (const timer of container.timers) this.#host.clock.clearTimeout(timer);
    container.timers.clear();
  }

  #now(): string {
    return kubernetesTime(this.#host.clock.date());
  }

  #pod(run: Run): Pod {
    return this.#host.pod(run.key) as Pod;
  }

  #event(
    run: Run,
    reason: string,
    message: string,
    type: 'Normal' | 'Warning',
    container?: ContainerRun,
  ): void {
    const pod = this.#pod(run);
    const field = container?.init ? 'initContainers' : 'containers';
    this.#host.record(pod, {
      reason,
      message,
      type,
      component: 'kubelet',
      ...(run.node ? { host: run.node } : {}),
      ...(container === undefined ? {} : { fieldPath: `spec.${field}{${container.spec.name}}` }),
    });
  }

  // ---------------------------------------------------------------- status

  /** Commits a change to the pod's status, with phase and conditions derived as the kubelet does. */
  #commit(run: Run, change: (pod: MutablePod, time: string) => void): void {
    this.#host.update(run.key, (pod) => {
      const time = this.#now();
      change(pod, time);
      this.#derive(run, pod, time);
    });
  }

  #setContainer(
    pod: MutablePod,
    container: ContainerRun,
    change: (status: ContainerStatus) => ContainerStatus,
  ): void {
    const status = pod.status ?? {};
    pod.status = status;
    const field = container.init ? 'initContainerStatuses' : 'containerStatuses';
    status[field] = (status[field] ?? []).map((existing) =>
      existing.name === container.spec.name ? change(existing) : existing,
    );
  }

  #setCondition(pod: MutablePod, next: PodCondition): void {
    const status = pod.status ?? {};
    pod.status = status;
    const conditions = status.conditions ?? [];
    const index = conditions.findIndex((existing) => existing.type === next.type);
    if (index === -1) conditions.push(next);
    else {
      const existing = conditions[index] as PodCondition;
      const transition =
        existing.status === next.status ? existing.lastTransitionTime : next.lastTransitionTime;
      conditions[index] = { ...next, lastTransitionTime: transition };
    }
    status.conditions = conditions;
  }

  /**
   * The phase from the containers' states, as pkg/kubelet/kubelet_pods.go getPhase decides it, and the
   * conditions as pkg/kubelet/status/generate.go generates them. A terminal phase never changes.
   */
  #derive(run: Run, pod: MutablePod, time: string): void {
    const status = pod.status ?? {};
    pod.status = status;
    if (!pod.spec?.nodeName) return;
    const policy = pod.spec.restartPolicy ?? 'Always';
    const statuses = status.containerStatuses ?? [];
    let phase = (status.phase ?? 'Pending') as PodPhase;
    if (phase !== 'Succeeded' && phase !== 'Failed') {
      const initStatuses = status.initContainerStatuses ?? [];
      const initFailed = initStatuses.some(
        (candidate) => (candidate.state?.terminated?.exitCode ?? 0) !== 0 && policy === 'Never',
      );
      const initPending = initStatuses.some((candidate) => candidate.state?.terminated?.exitCode !== 0);
      let running = 0;
      let stopped = 0;
      let succeeded = 0;
      let waiting = 0;
      for (const candidate of statuses) {
        if (candidate.state?.running) running++;
        else if (candidate.state?.terminated) {
          stopped++;
          if (candidate.state.terminated.exitCode === 0) succeeded++;
        } else if (candidate.lastState?.terminated) stopped++;
        else waiting++;
      }
      const terminal = run.terminating && [...run.init, ...run.containers].every((c) => !c.running);
      if (initFailed) phase = 'Failed';
      else if (initPending && !terminal) phase = 'Pending';
      else if (terminal)
        phase = stopped + waiting > 0 && succeeded === statuses.length ? 'Succeeded' : 'Failed';
      else if (waiting > 0) phase = 'Pending';
      else if (running > 0) phase = 'Running';
      else if (stopped > 0) {
        if (policy === 'Always') phase = 'Running';
        else if (stopped === succeeded) phase = 'Succeeded';
        else if (policy === 'Never') phase = 'Failed';
        else phase = 'Running';
      }
      status.phase = phase;
    }
    const completed = phase === 'Succeeded' || phase === 'Failed';
    const unready = statuses.filter((candidate) => !candidate.ready).map((candidate) => candidate.name);
    const initIncomplete = (status.initContainerStatuses ?? [])
      .filter((candidate) => candidate.state?.terminated?.exitCode !== 0)
      .map((candidate) => candidate.name);
    this.#setCondition(pod, condition('PodReadyToStartContainers', completed ? 'False' : 'True', time));
    this.#setCondition(
      pod,
      initIncomplete.length === 0 || completed
        ? condition('Initialized', 'True', time, phase === 'Succeeded' ? 'PodCompleted' : undefined)
        : condition(
            'Initialized',
            'False',
            time,
            'ContainersNotInitialized',
            `containers with incomplete status: [${initIncomplete.join(' ')}]`,
          ),
    );
    for (const type of ['Ready', 'ContainersReady']) {
      if (completed) this.#setCondition(pod, condition(type, 'False', time, 'PodCompleted'));
      else if (unready.length === 0 && statuses.length > 0)
        this.#setCondition(pod, condition(type, 'True', time));
      else
        this.#setCondition(
          pod,
          condition(
            type,
            'False',
            time,
            'ContainersNotReady',
            `containers with unready status: [${unready.join(' ')}]`,
          ),
        );
    }
    // The order the kubelet writes them in.
    const order = [
      'PodReadyToStartContainers',
      'Initialized',
      'Ready',
      'ContainersReady',
      'PodScheduled',
      'DisruptionTarget',
    ];
    status.conditions = [...(status.conditions ?? [])].sort(
      (a, b) => order.indexOf(a.type) - order.indexOf(b.type),
    );
  }

  #maybeDone(run: Run): void {
    const phase = this.#pod(run).status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') return;
    run.done = true;
    for (const timer of run.timers) this.#host.clock.clearTimeout(timer);
    for (const container of [...run.init, ...run.containers]) this.#clearContainer(container);
    this.#runs.delete(run.key);
    // A finished pod frees what it requested on its node.
    this.#roomMayHaveAppeared();
  }

  // ---------------------------------------------------------------- scheduler

  #schedule(run: Run): void {
    run.retry = undefined;
    const pod = this.#pod(run);
    if (pod.spec?.nodeName) {
      // Bound by someone else (a client through pods/{name}/binding): the kubelet of that node takes it.
      run.waitingForRoom = false;
      run.node = pod.spec.nodeName;
      this.#kubeletStart(run);
      return;
    }
    const nodes = this.#host.nodes();
    const now = this.#host.clock.now();
    const result =
      now < run.blockedUntil
        ? {
            message: `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match Pod's node affinity/selector. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`,
          }
        : schedule(pod, nodes, this.#host.pods());
    if ('message' in result) {
      run.attempts++;
      run.retryAt = now + schedulerBackoffMs(run.attempts);
      run.waitingForRoom = true;
      this.#host.record(pod, {
        reason: 'FailedScheduling',
        message: result.message,
        type: 'Warning',
        component: 'default-scheduler',
        action: 'Scheduling',
      });
      this.#host.update(run.key, (next) => {
        next.status = { ...next.status, phase: 'Pending' };
        this.#setCondition(
          next,
          condition('PodScheduled', 'False', this.#now(), 'Unschedulable', result.message),
        );
      });
      // Retried on a cluster event that may make room (after the backoff), else after the
      // unschedulable pods' flush interval; a scripted block ends like such an event: never sooner
      // than the backoff, and the retry armed for the block's end lifts it (no float re-derivation).
      const blockEnds = run.blockedUntil - now;
      const endsBlock = Number.isFinite(blockEnds) && blockEnds > 0 && blockEnds < UNSCHEDULABLE_FLUSH_MS;
      this.#retryIn(
        run,
        Math.max(endsBlock ? blockEnds : UNSCHEDULABLE_FLUSH_MS, run.retryAt - now),
        endsBlock,
      );
      return;
    }
    run.waitingForRoom = false;
    run.node = result.node;
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    // The binding subresource sets spec.nodeName; the scheduler's status update sets PodScheduled.
    this.#host.update(run.key, (next) => {
      next.spec = { ...next.spec, containers: next.spec?.containers ?? [], nodeName: result.node };
      this.#setCondition(next, condition('PodScheduled', 'True', this.#now()));
    });
    this.#host.record(this.#pod(run), {
      reason: 'Scheduled',
      message: `Successfully assigned ${namespace}/${name} to ${result.node}`,
      type: 'Normal',
      component: 'default-scheduler',
      action: 'Binding',
    });
    this.#kubeletStart(run);
  }

  #retryIn(run: Run, ms: number, endsBlock = false): void {
    if (run.retry !== undefined) this.#host.clock.clearTimeout(run.retry);
    const timer = this.#host.clock.setTimeout(
      () => {
        run.timers.delete(timer);
        run.retry = undefined;
        const pod = this.#host.pod(run.key);
        if (
          this.#runs.get(run.key) !== run ||
          pod?.metadata?.uid !== run.uid ||
          pod.metadata?.deletionTimestamp
        )
          return;
        if (endsBlock) run.blockedUntil = Number.NEGATIVE_INFINITY;
        this.#schedule(run);
      },
      Math.max(0, ms),
    );
    run.retry = timer;
    run.timers.add(timer);
  }

  /** A cluster event that may let unschedulable pods fit: each is retried once its backoff has passed. */
  #roomMayHaveAppeared(): void {
    const now = this.#host.clock.now();
    for (const run of this.#runs.values()) {
      if (!run.waitingForRoom || run.terminating) continue;
      run.waitingForRoom = false;
      this.#retryIn(run, run.retryAt - now);
    }
  }

  // ---------------------------------------------------------------- kubelet

  #kubeletStart(run: Run): void {
    const nodeName = run.node as string;
    const node = this.#host.nodes().find((candidate) => candidate.metadata?.name === nodeName);
    const refused = node === undefined ? undefined : this.#host.admit?.(this.#pod(run), node);
    if (refused !== undefined) {
      // pkg/kubelet/kubelet.go rejectPod: a Warning event with the reason, and a status of its own.
      this.#event(run, refused.reason, refused.message, 'Warning');
      this.#host.update(run.key, (pod) => {
        pod.status = {
          ...pod.status,
          phase: 'Failed',
          reason: refused.reason,
          message: `Pod was rejected: ${refused.message}`,
        };
      });
      this.#maybeDone(run);
      return;
    }
    const hostIP =
      node?.status?.addresses?.find((address) => address.type === 'InternalIP')?.address ?? '10.0.0.1';
    const nodeIndex = Math.max(
      0,
      this.#host.nodes().findIndex((candidate) => candidate.metadata?.name === nodeName),
    );
    const podIP = `10.244.${nodeIndex}.${(hash(run.uid) % 250) + 2}`;
    const hasInit = run.init.length > 0;
    this.#commit(run, (pod, time) => {
      pod.status = {
        ...pod.status,
        phase: 'Pending',
        hostIP,
        hostIPs: [{ ip: hostIP }],
        podIP,
        podIPs: [{ ip: podIP }],
        startTime: time,
      };
      const fresh = (container: ContainerRun): ContainerStatus => ({
        name: container.spec.name,
        image: container.spec.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: hasInit ? 'PodInitializing' : 'ContainerCreating' } },
      });
      if (hasInit) pod.status.initContainerStatuses = run.init.map(fresh);
      pod.status.containerStatuses = run.containers.map(fresh);
    });
    if (hasInit) this.#startContainer(run, run.init[0] as ContainerRun);
    else this.#startApp(run, 0);
  }

  /** Starts the app containers from `index` on, in order, each after its image is there. */
  #startApp(run: Run, index: number): void {
    const container = run.containers[index];
    if (container === undefined) return;
    this.#startContainer(run, container, () => this.#startApp(run, index + 1));
  }

  /** Pulls if needed, then creates and starts one instance of the container; `next` runs once it started. */
  #startContainer(run: Run, container: ContainerRun, next?: () => void): void {
    const image = container.spec.image ?? '';
    const images = this.#images.get(run.node as string) ?? new Set<string>();
    this.#images.set(run.node as string, images);
    const policy = pullPolicy(container.spec);
    if (policy === 'Never' && !images.has(image)) {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.#event(run, 'ErrImageNeverPull', message, 'Warning', container);
      this.#commit(run, (pod) =>
        this.#setContainer(pod, container, (status) => ({
          ...status,
          state: { waiting: { reason: 'ErrImageNeverPull', message } },
        })),
      );
      return;
    }
    if ((policy === 'IfNotPresent' && images.has(image)) || policy === 'Never') {
      this.#event(
        run,
        'Pulled',
        `Container image "${image}" already present on machine`,
        'Normal',
        container,
      );
      this.#create(run, container);
      next?.();
      return;
    }
    this.#pull(run, container, images, next);
  }

  #pull(run: Run, container: ContainerRun, images: Set<string>, next?: () => void): void {
    const image = container.spec.image ?? '';
    this.#event(run, 'Pulling', `Pulling image "${image}"`, 'Normal', container);
    const pullMs = container.script.pullMs ?? PULL_MS;
    this.#after(run, pullMs, () => {
      const { imagePullError } = container.script;
      const failures =
        imagePullError === true ? Number.POSITIVE_INFINITY : imagePullError ? imagePullError.times : 0;
      if (container.pullFailures < failures) {
        container.pullFailures++;
        const reference = imageReference(image);
        // The runtime's error (containerd's words for a tag the registry does not have). The kubelet's
        // event prefixes it (image_manager.go EnsureImageExists: "Failed to pull image %q: %v"); the
        // waiting message is the error alone (evalCRIPullErr's fallback: err.Error()).
        const runtimeError = `rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
        this.#event(run, 'Failed', `Failed to pull image "${image}": ${runtimeError}`, 'Warning', container);
        this.#event(run, 'Failed', 'Error: ErrImagePull', 'Warning', container);
        this.#commit(run, (pod) =>
          this.#setContainer(pod, container, (status) => ({
            ...status,
            state: { waiting: { reason: 'ErrImagePull', message: runtimeError } },
          })),
        );
        // pkg/kubelet/images/image_manager.go: the same flowcontrol.Backoff (10 s doubling to 5 min).
        const now = this.#host.clock.now();
        container.pullBackoff = nextBackoff(container.pullBackoff, now);
        const backOff = `Back-off pulling image "${image}"`;
        this.#event(run, 'BackOff', backOff, 'Normal', container);
        this.#event(run, 'Failed', 'Error: ImagePullBackOff', 'Warning', container);
        // v1.32's waiting message is the event's; v1.33 appends the last pull's error
        // (": ErrImagePull: rpc error: …", image_manager.go prevPullErrMsg).
        this.#commit(run, (pod) =>
          this.#setContainer(pod, container, (status) => ({
            ...status,
            state: { waiting: { reason: 'ImagePullBackOff', message: backOff } },
          })),
        );
        this.#after(run, container.pullBackoff.ms, () => this.#pull(run, container, images, next));
        return;
      }
      images.add(image);
      const took = goDuration(pullMs);
      this.#event(
        run,
        'Pulled',
        `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${IMAGE_SIZE} bytes.`,
        'Normal',
        container,
      );
      this.#create(run, container);
      next?.();
    });
  }

  /** Creates and starts the next instance of the container (events Created, Started) and plays its run. */
  #create(run: Run, container: ContainerRun): void {
    // pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer: v1.32 writes both with
    // fmt.Sprintf("Created container %s") and ("Started container %s"). Later kubelets write
    // "Created container: %v" (after v1.32, with the printf clean-ups for Go 1.24's vet), then drop
    // the name ("Container started", kubernetes#134043, v1.35).
    this.#event(run, 'Created', `Created container ${container.spec.name}`, 'Normal', container);
    this.#event(run, 'Started', `Started container ${container.spec.name}`, 'Normal', container);
    const plan = planRun(container.spec, container.script, container.runs);
    const restartCount = container.runs;
    container.runs++;
    container.running = true;
    container.stopping = false;
    container.exitCode = undefined;
    container.plan = plan;
    const instance = run.logs.startInstance(container.spec.name);
    container.instance = instance;
    const probe = container.spec.readinessProbe;
    const readyAfter =
      probe === undefined ? 0 : (container.script.readyAfterMs ?? (probe.initialDelaySeconds ?? 0) * 1_000);
    const containerID = `containerd://${hex64(`${run.uid}/${container.spec.name}/${restartCount}`)}`;
    this.#commit(run, (pod, time) =>
      this.#setContainer(pod, container, (status) => {
        const previous = status.state?.terminated ?? status.lastState?.terminated;
        return {
          ...status,
          imageID: imageId(container.spec.image ?? ''),
          containerID,
          restartCount,
          started: true,
          ready: !container.init && readyAfter === 0,
          state: { running: { startedAt: time } },
          ...(previous ? { lastState: { terminated: previous } } : {}),
        };
      }),
    );
    const started = this.#host.clock.now();
    const lines = plan.output;
    const spread = Number.isFinite(plan.runMs) ? plan.runMs : 0;
    lines.forEach((line, index) => {
      const offset = lines.length === 0 ? 0 : Math.floor((spread * index) / lines.length);
      if (offset === 0) instance.print(started, line);
      else
        this.#after(
          run,
          offset,
          () => instance.print(this.#host.clock.date().getTime(), line),
          container.timers,
        );
    });
    if (typeof readyAfter === 'number' && readyAfter > 0 && !container.init) {
      this.#after(
        run,
        readyAfter,
        () =>
          this.#commit(run, (pod) =>
            this.#setContainer(pod, container, (status) => ({ ...status, ready: true })),
          ),
        container.timers,
      );
    }
    if (Number.isFinite(plan.runMs)) {
      this.#after(
        run,
        plan.runMs,
        () => this.#exited(run, container, plan.exitCode, plan.reason),
        container.timers,
      );
    }
  }

  /** The container's instance ended (its own exit, SIGTERM, or SIGKILL). */
  #exited(run: Run, container: ContainerRun, exitCode: number, reason: string): void {
    this.#clearContainer(container);
    container.running = false;
    container.exitCode = exitCode;
    container.instance?.end();
    const finished = this.#host.clock.now();
    this.#commit(run, (pod, time) =>
      this.#setContainer(pod, container, (status) => ({
        ...status,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason,
            startedAt: status.state?.running?.startedAt ?? time,
            finishedAt: time,
            containerID: status.containerID,
          },
        },
      })),
    );
    if (run.terminating) {
      if ([...run.init, ...run.containers].every((candidate) => !candidate.running))
        this.#finishTermination(run);
      return;
    }
    const policy = this.#pod(run).spec?.restartPolicy ?? 'Always';
    const restart =
      policy === 'Always' ||
      (policy === 'OnFailure' && exitCode !== 0) ||
      (container.init && policy !== 'Never' && exitCode !== 0);
    if (container.init && exitCode === 0) {
      const index = run.init.indexOf(container);
      const following = run.init[index + 1];
      if (following !== undefined) this.#startContainer(run, following);
      else this.#startApp(run, 0);
      return;
    }
    if (!restart) {
      this.#maybeDone(run);
      return;
    }
    this.#restart(run, container, finished);
  }

  /**
   * The kubelet's crash-loop back-off (kuberuntime_manager.go doBackOff with flowcontrol.Backoff): the
   * first exit restarts at once and starts a 10 s back-off; an exit within the back-off waits it out
   * (CrashLoopBackOff), and each restart doubles it up to 5 min; an entry untouched for 10 min starts over.
   */
  #restart(run: Run, container: ContainerRun, finished: number): void {
    const entry = container.backoff;
    const inBackOff =
      entry !== undefined &&
      finished - entry.lastUpdate <= BACKOFF_RESET_MS &&
      this.#host.clock.now() - finished < entry.ms;
    if (!inBackOff) {
      container.backoff = nextBackoff(entry, finished, this.#host.clock.now());
      this.#startContainer(run, container);
      return;
    }
    const pod = this.#pod(run);
    const podName = `${pod.metadata?.name}_${pod.metadata?.namespace}(${run.uid})`;
    const wait = entry.ms - (this.#host.clock.now() - finished);
    this.#event(
      run,
      'BackOff',
      `Back-off restarting failed container ${container.spec.name} in pod ${podName}`,
      'Warning',
      container,
    );
    this.#commit(run, (next) =>
      this.#setContainer(next, container, (status) => ({
        ...status,
        ...(status.state?.terminated ? { lastState: { terminated: status.state.terminated } } : {}),
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${goDuration(entry.ms)} restarting failed container=${container.spec.name} pod=${podName}`,
          },
        },
      })),
    );
    this.#after(
      run,
      wait,
      () => {
        container.backoff = nextBackoff(container.backoff, finished, this.#host.clock.now());
        this.#startContainer(run, container);
      },
      container.timers,
    );
  }

  /** preStop, SIGTERM, and SIGKILL at the grace period's end (kuberuntime_container.go killContainer). */
  #kill(run: Run, container: ContainerRun, graceMs: number): void {
    container.stopping = true;
    this.#clearContainer(container);
    this.#event(run, 'Killing', `Stopping container ${container.spec.name}`, 'Normal', container);
    const preStopMs = Math.min(preStopDuration(container.spec), graceMs);
    const remaining = Math.max(graceMs - preStopMs, MINIMUM_GRACE_MS);
    const plan = container.plan;
    const instance = container.instance;
    const sigterm = () => {
      if (container.script.ignoreSigterm) {
        instance?.print(this.#host.clock.date().getTime(), 'podstorage fake: ignoring SIGTERM');
        this.#after(run, remaining, () => this.#exited(run, container, 137, 'Error'), container.timers);
        return;
      }
      if (!plan?.outputGiven)
        instance?.print(this.#host.clock.date().getTime(), 'podstorage fake: SIGTERM received, exiting');
      const stopMs = Math.min(container.script.stopMs ?? STOP_MS, remaining);
      const killed = (container.script.stopMs ?? STOP_MS) > remaining;
      this.#after(
        run,
        stopMs,
        () => this.#exited(run, container, killed ? 137 : 0, killed ? 'Error' : 'Completed'),
        container.timers,
      );
    };
    if (preStopMs > 0) this.#after(run, preStopMs, sigterm, container.timers);
    else sigterm();
  }

  #finishTermination(run: Run): void {
    this.#commit(run, () => {});
    run.done = true;
    this.#runs.delete(run.key);
    this.#roomMayHaveAppeared();
    // An evicted pod stays, Failed, for its owner (or a client) to read and delete.
    if (!run.evicted) this.#host.finishDeletion(run.key, run.uid);
  }
}

/** How long a container's preStop hook takes: `sleep` action seconds, or what an exec command sleeps. */
function preStopDuration(container: ContainerSpec): number {
  const hook = container.lifecycle?.preStop as
    | (NonNullable<NonNullable<ContainerSpec['lifecycle']>['preStop']> & { sleep?: { seconds?: number } })
    | undefined;
  if (hook === undefined) return 0;
  if (hook.sleep?.seconds !== undefined) return hook.sleep.seconds * 1_000;
  if (hook.exec?.command) {
    const behaviour = behaviourFromCommand({ name: 'preStop', command: hook.exec.command });
    return behaviour !== undefined && Number.isFinite(behaviour.runMs) ? behaviour.runMs : 0;
  }
  return 0;
}

/** flowcontrol.Backoff.Next: a new (or expired) entry starts at 10 s, else it doubles up to 5 min. */
function nextBackoff(
  entry: { ms: number; lastUpdate: number } | undefined,
  eventTime: number,
  now: number = eventTime,
): { ms: number; lastUpdate: number } {
  if (entry === undefined || eventTime - entry.lastUpdate > BACKOFF_RESET_MS)
    return { ms: BACKOFF_INITIAL_MS, lastUpdate: now };
  return { ms: Math.min(entry.ms * 2, BACKOFF_MAX_MS), lastUpdate: now };
}

/** When a script's `unschedulable` block ends, for a pod created at `createdAt` (see `Run.blockedUntil`). */
function blockedUntil(script: LifecycleScript, createdAt: number): number {
  const { unschedulable } = script;
  if (unschedulable === true) return Number.POSITIVE_INFINITY;
  if (!unschedulable) return Number.NEGATIVE_INFINITY;
  return createdAt + (script.scheduleAfterMs ?? SCHEDULE_AFTER_MS) + unschedulable.forMs;
}
