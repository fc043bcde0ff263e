import type { Pod, PodPhase, PodStatus, TimerHandle } from '@podstorage/core';
import type { FakeClock } from './fake-clock.js';
import type { MutablePod } from './object-store.js';

/**
 * What the simulated scheduler and kubelet do with one pod. Every duration is on the cluster's clock.
 * A pod's script comes from `createPod(pod, { lifecycle })`, else from the JSON in its
 * `podstorage.dev/lifecycle` annotation, else from the cluster's `defaultLifecycle`, field by field.
 */
export interface LifecycleScript {
  /** Delay from creation to the scheduler's decision. Default 100. */
  readonly scheduleAfterMs?: number;
  /** FailedScheduling warnings (retried every minute) instead of a node: `true` forever, or for `forMs`. */
  readonly unschedulable?: boolean | { readonly forMs: number };
  /** Time each image pull takes (Pulling … Pulled). Default 1000. */
  readonly pullMs?: number;
  /** Pulls fail (ErrImagePull, then ImagePullBackOff with growing back-off): `true` forever, or `times` times. */
  readonly imagePullError?: boolean | { readonly times: number };
  /** Time from Started to the containers' exit. Default 2000. */
  readonly runMs?: number;
  /** The final exit code: 0 (default) ends Succeeded, anything else Failed. */
  readonly exitCode?: number;
  /** Crashes (exit 1, or `exitCode` if non-zero) and restarts after a back-off this many times before the final exit. */
  readonly restarts?: number;
}

/** The annotation that can carry a pod's {@link LifecycleScript} as JSON. */
export const LIFECYCLE_ANNOTATION = 'podstorage.dev/lifecycle';

const DEFAULT_SCRIPT = {
  scheduleAfterMs: 100,
  pullMs: 1_000,
  runMs: 2_000,
  exitCode: 0,
  restarts: 0,
} as const;
const UNSCHEDULABLE_RETRY_MS = 60_000;
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const UNSCHEDULABLE_MESSAGE =
  "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

/** Checks a script's shape; returns a problem description or `undefined`. */
export function lifecycleScriptProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  const script = value as Record<string, unknown>;
  const known = new Set([
    'scheduleAfterMs',
    'unschedulable',
    'pullMs',
    'imagePullError',
    'runMs',
    'exitCode',
    'restarts',
  ]);
  for (const key of Object.keys(script)) if (!known.has(key)) return `unknown field "${key}"`;
  for (const key of ['scheduleAfterMs', 'pullMs', 'runMs', 'restarts']) {
    const field = script[key];
    if (field !== undefined && (typeof field !== 'number' || !Number.isFinite(field) || field < 0)) {
      return `${key} must be a number >= 0`;
    }
  }
  if (script.exitCode !== undefined && !Number.isInteger(script.exitCode))
    return 'exitCode must be an integer';
  const flag = (name: string, inner: string) => {
    const field = script[name];
    if (field === undefined || typeof field === 'boolean') return undefined;
    const number = (field as Record<string, unknown> | null)?.[inner];
    return typeof number === 'number' && number >= 0
      ? undefined
      : `${name} must be a boolean or { ${inner}: number }`;
  };
  return flag('unschedulable', 'forMs') ?? flag('imagePullError', 'times');
}

/** Formats a duration as Go's `time.Duration` does for the kubelet's Pulled message (`1s`, `1.5s`, `800ms`). */
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

function containerNames(pod: Pod): string[] {
  return (pod.spec?.containers ?? []).map((container) => container.name);
}

function imageId(image: string): string {
  let hash = 0;
  for (const character of image) hash = (Math.imul(hash, 31) + character.charCodeAt(0)) >>> 0;
  return `docker.io/library/${image}@sha256:${hash.toString(16).padStart(8, '0').repeat(8)}`;
}

/**
 * Conditions and container statuses consistent with `phase`, as the kubelet would report them: used by
 * the simulator and by `setPodPhase` when the caller gives none.
 */
export function statusForPhase(
  pod: Pod,
  phase: PodPhase,
  now: Date,
): Pick<PodStatus, 'conditions' | 'containerStatuses'> {
  const time = kubernetesTime(now);
  const names = containerNames(pod);
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

/** What the simulator needs from the cluster. */
/** An event the simulated kubelet or scheduler records about a pod. */
export interface PodEventRecord {
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  component: string;
  fieldPath?: string;
}

export interface LifecycleHost {
  readonly clock: FakeClock;
  readonly nodeName: string;
  /** The live pod by key, if it still exists. */
  pod(key: string): Pod | undefined;
  /** Commits a MODIFIED pod built by `change` from a copy of the live one. */
  update(key: string, change: (pod: MutablePod) => void): void;
  /** Records (or aggregates) an event about the pod. */
  record(pod: Pod, event: PodEventRecord): void;
}

interface Run {
  readonly key: string;
  readonly uid: string;
  readonly script: Required<Omit<LifecycleScript, 'unschedulable' | 'imagePullError'>> &
    Pick<LifecycleScript, 'unschedulable' | 'imagePullError'>;
  readonly createdAt: number;
  readonly timers: Set<TimerHandle>;
  pullFailures: number;
  crashes: number;
}

/**
 * Stands in for the scheduler and the kubelet: walks each pod through Pending → Running →
 * Succeeded/Failed on the clock, updating status and recording the events a real cluster records.
 */
export class LifecycleSimulator {
  readonly #host: LifecycleHost;
  readonly #runs = new Map<string, Run>();

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** Starts simulating a newly created pod. */
  start(key: string, pod: Pod, script: LifecycleScript): void {
    const run: Run = {
      key,
      uid: pod.metadata?.uid ?? '',
      script: { ...DEFAULT_SCRIPT, ...script },
      createdAt: this.#host.clock.now(),
      timers: new Set(),
      pullFailures: 0,
      crashes: 0,
    };
    this.#runs.set(key, run);
    if (pod.spec?.nodeName) this.#after(run, 0, () => this.#kubeletStart(run));
    else this.#after(run, run.script.scheduleAfterMs, () => this.#schedule(run));
  }

  /** The pod is being deleted: the kubelet stops its running containers (Killing) and the script ends. */
  terminate(key: string): void {
    const run = this.#runs.get(key);
    this.stop(key);
    const pod = this.#host.pod(key);
    if (run === undefined || pod === undefined || pod.metadata?.uid !== run.uid) return;
    for (const status of pod.status?.containerStatuses ?? []) {
      if (status.state?.running) {
        this.#event(pod, 'Killing', `Stopping container ${status.name}`, 'Normal', status.name);
      }
    }
  }

  /** Stops simulating a pod (deleted, or finished) and clears its timers. */
  stop(key: string): void {
    const run = this.#runs.get(key);
    if (run === undefined) return;
    for (const timer of run.timers) this.#host.clock.clearTimeout(timer);
    this.#runs.delete(key);
  }

  /** Stops simulating every pod for which `keep(key, uid)` is false (after a restore changed the store). */
  retain(keep: (key: string, uid: string) => boolean): void {
    for (const run of [...this.#runs.values()]) if (!keep(run.key, run.uid)) this.stop(run.key);
  }

  #after(run: Run, ms: number, step: () => void): void {
    const timer = this.#host.clock.setTimeout(() => {
      run.timers.delete(timer);
      const pod = this.#host.pod(run.key);
      if (
        this.#runs.get(run.key) !== run ||
        pod?.metadata?.uid !== run.uid ||
        pod.metadata?.deletionTimestamp
      )
        return;
      step();
    }, ms);
    run.timers.add(timer);
  }

  #pod(run: Run): Pod {
    return this.#host.pod(run.key) as Pod;
  }

  #now(): string {
    return kubernetesTime(this.#host.clock.date());
  }

  #event(pod: Pod, reason: string, message: string, type: 'Normal' | 'Warning', container?: string): void {
    this.#host.record(pod, {
      reason,
      message,
      type,
      component: 'kubelet',
      ...(container === undefined ? {} : { fieldPath: `spec.containers{${container}}` }),
    });
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

  #setContainers(pod: MutablePod, change: (status: ContainerStatus) => ContainerStatus): void {
    const status = pod.status ?? {};
    pod.status = status;
    status.containerStatuses = (status.containerStatuses ?? []).map(change);
  }

  #schedule(run: Run): void {
    const { unschedulable } = run.script;
    const elapsed = this.#host.clock.now() - run.createdAt - run.script.scheduleAfterMs;
    const blockedFor =
      unschedulable === true ? Number.POSITIVE_INFINITY : unschedulable ? unschedulable.forMs : 0;
    if (elapsed < blockedFor) {
      const pod = this.#pod(run);
      this.#host.record(pod, {
        reason: 'FailedScheduling',
        message: UNSCHEDULABLE_MESSAGE,
        type: 'Warning',
        component: 'default-scheduler',
      });
      const already = pod.status?.conditions?.some((existing) => existing.type === 'PodScheduled');
      if (!already) {
        this.#host.update(run.key, (next) => {
          this.#setCondition(
            next,
            condition('PodScheduled', 'False', this.#now(), 'Unschedulable', UNSCHEDULABLE_MESSAGE),
          );
        });
      }
      this.#after(run, Math.min(UNSCHEDULABLE_RETRY_MS, blockedFor - elapsed), () => this.#schedule(run));
      return;
    }
    const namespace = this.#pod(run).metadata?.namespace;
    const name = this.#pod(run).metadata?.name;
    this.#host.update(run.key, (next) => {
      next.spec = { ...next.spec, containers: next.spec?.containers ?? [], nodeName: this.#host.nodeName };
      this.#setCondition(next, condition('PodScheduled', 'True', this.#now()));
    });
    this.#host.record(this.#pod(run), {
      reason: 'Scheduled',
      message: `Successfully assigned ${namespace}/${name} to ${this.#host.nodeName}`,
      type: 'Normal',
      component: 'default-scheduler',
    });
    this.#kubeletStart(run);
  }

  #kubeletStart(run: Run): void {
    const names = containerNames(this.#pod(run));
    this.#host.update(run.key, (pod) => {
      const time = this.#now();
      pod.status = {
        ...pod.status,
        phase: 'Pending',
        hostIP: '10.0.0.1',
        hostIPs: [{ ip: '10.0.0.1' }],
        podIP: `10.244.0.${(this.#hash(run.uid) % 250) + 2}`,
        startTime: time,
      };
      pod.status.podIPs = [{ ip: pod.status.podIP as string }];
      this.#setCondition(pod, condition('Initialized', 'True', time));
      const unready = `containers with unready status: [${names.join(' ')}]`;
      this.#setCondition(pod, condition('Ready', 'False', time, 'ContainersNotReady', unready));
      this.#setCondition(pod, condition('ContainersReady', 'False', time, 'ContainersNotReady', unready));
      pod.status.containerStatuses = names.map((name) => ({
        name,
        image: pod.spec?.containers?.find((container) => container.name === name)?.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: 'ContainerCreating' } },
      }));
    });
    this.#pull(run, 0);
  }

  #hash(text: string): number {
    let hash = 0;
    for (const character of text) hash = (Math.imul(hash, 31) + character.charCodeAt(0)) >>> 0;
    return hash;
  }

  #pull(run: Run, index: number): void {
    const container = this.#pod(run).spec?.containers?.[index];
    if (container === undefined) {
      this.#running(run);
      return;
    }
    const image = container.image ?? '';
    this.#event(this.#pod(run), 'Pulling', `Pulling image "${image}"`, 'Normal', container.name);
    this.#after(run, run.script.pullMs, () => {
      const { imagePullError } = run.script;
      const failures =
        imagePullError === true ? Number.POSITIVE_INFINITY : imagePullError ? imagePullError.times : 0;
      if (run.pullFailures < failures) {
        run.pullFailures++;
        const pod = this.#pod(run);
        const reference = image.includes('/') ? image : `docker.io/library/${image}`;
        const failure = `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
        this.#event(pod, 'Failed', failure, 'Warning', container.name);
        this.#event(pod, 'Failed', 'Error: ErrImagePull', 'Warning', container.name);
        this.#host.update(run.key, (next) =>
          this.#setContainers(next, (status) =>
            status.name === container.name
              ? { ...status, state: { waiting: { reason: 'ErrImagePull', message: failure } } }
              : status,
          ),
        );
        const backOff = `Back-off pulling image "${image}"`;
        this.#event(this.#pod(run), 'BackOff', backOff, 'Normal', container.name);
        this.#event(this.#pod(run), 'Failed', 'Error: ImagePullBackOff', 'Warning', container.name);
        this.#host.update(run.key, (next) =>
          this.#setContainers(next, (status) =>
            status.name === container.name
              ? { ...status, state: { waiting: { reason: 'ImagePullBackOff', message: backOff } } }
              : status,
          ),
        );
        this.#after(run, backoffMs(run.pullFailures), () => this.#pull(run, index));
        return;
      }
      const pod = this.#pod(run);
      const took = goDuration(run.script.pullMs);
      this.#event(
        pod,
        'Pulled',
        `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: 4269694 bytes.`,
        'Normal',
        container.name,
      );
      this.#event(pod, 'Created', `Created container ${container.name}`, 'Normal', container.name);
      this.#event(pod, 'Started', `Started container ${container.name}`, 'Normal', container.name);
      this.#host.update(run.key, (next) =>
        this.#setContainers(next, (status) =>
          status.name === container.name
            ? {
                ...status,
                imageID: imageId(image),
                containerID: `containerd://${this.#hash(`${run.uid}/${container.name}/${run.crashes}`).toString(16).padStart(8, '0').repeat(8)}`,
                started: true,
                state: { running: { startedAt: this.#now() } },
              }
            : status,
        ),
      );
      this.#pull(run, index + 1);
    });
  }

  #running(run: Run): void {
    this.#host.update(run.key, (pod) => {
      pod.status = { ...pod.status, phase: 'Running' };
      const time = this.#now();
      this.#setContainers(pod, (status) => ({ ...status, ready: true }));
      this.#setCondition(pod, condition('Ready', 'True', time));
      this.#setCondition(pod, condition('ContainersReady', 'True', time));
    });
    this.#after(run, run.script.runMs, () => this.#exit(run));
  }

  #exit(run: Run): void {
    const time = this.#now();
    const pod = this.#pod(run);
    const names = containerNames(pod);
    if (run.crashes < run.script.restarts) {
      run.crashes++;
      const exitCode = run.script.exitCode !== 0 ? run.script.exitCode : 1;
      const podName = `${pod.metadata?.name}_${pod.metadata?.namespace}(${run.uid})`;
      const wait = backoffMs(run.crashes);
      this.#host.update(run.key, (next) => {
        this.#setContainers(next, (status) => ({
          ...status,
          ready: false,
          started: false,
          restartCount: run.crashes,
          lastState: {
            terminated: {
              exitCode,
              reason: 'Error',
              startedAt: status.state?.running?.startedAt ?? time,
              finishedAt: time,
              containerID: status.containerID,
            },
          },
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${goDuration(wait)} restarting failed container=${status.name} pod=${podName}`,
            },
          },
        }));
        const unready = `containers with unready status: [${names.join(' ')}]`;
        this.#setCondition(next, condition('Ready', 'False', time, 'ContainersNotReady', unready));
        this.#setCondition(next, condition('ContainersReady', 'False', time, 'ContainersNotReady', unready));
      });
      for (const name of names) {
        this.#event(
          this.#pod(run),
          'BackOff',
          `Back-off restarting failed container ${name} in pod ${podName}`,
          'Warning',
          name,
        );
      }
      this.#after(run, wait, () => {
        for (const container of this.#pod(run).spec?.containers ?? []) {
          const current = this.#pod(run);
          this.#event(
            current,
            'Pulled',
            `Container image "${container.image}" already present on machine`,
            'Normal',
            container.name,
          );
          this.#event(current, 'Created', `Created container ${container.name}`, 'Normal', container.name);
          this.#event(current, 'Started', `Started container ${container.name}`, 'Normal', container.name);
        }
        this.#host.update(run.key, (next) =>
          this.#setContainers(next, (status) => ({
            ...status,
            started: true,
            state: { running: { startedAt: this.#now() } },
          })),
        );
        this.#running(run);
      });
      return;
    }
    const exitCode = run.script.exitCode;
    this.#host.update(run.key, (next) => {
      next.status = { ...next.status, phase: exitCode === 0 ? 'Succeeded' : 'Failed' };
      this.#setContainers(next, (status) => ({
        ...status,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt: status.state?.running?.startedAt ?? time,
            finishedAt: time,
            containerID: status.containerID,
          },
        },
      }));
      this.#setCondition(next, condition('Ready', 'False', time, 'PodCompleted'));
      this.#setCondition(next, condition('ContainersReady', 'False', time, 'PodCompleted'));
    });
    this.stop(run.key);
  }
}

/** The kubelet's back-off: 10 s doubling per failure, capped at 5 min. */
function backoffMs(failures: number): number {
  return Math.min(BACKOFF_INITIAL_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}
