// The pod the spawner starts, and how a pod is shown as a row of the table.
import { type Pod, type PodPhase, phaseOf } from '@podstorage/core';
import { LIFECYCLE_ANNOTATION, podColumns } from '@podstorage/fake';
import type { RestartPolicy } from './input.js';
import { type Progress, ProgressTracker } from './progress.js';

/** The label that marks pods the spawner started. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The value of {@link MANAGED_BY_LABEL} on pods the spawner started. */
export const MANAGED_BY = 'podstorage-spawner';
/** The image of spawned pods unless the page or a flag asks for another. */
export const DEFAULT_IMAGE = 'busybox:1.36';

/** One row of the pods table, as the page receives it. */
export interface PodRow {
  readonly name: string;
  readonly uid: string;
  readonly phase: PodPhase;
  readonly progress: Progress;
  readonly node: string | null;
  readonly image: string | null;
  readonly createdAt: string | null;
  readonly terminating: boolean;
  /** Started by this spawner (carries its managed-by label). */
  readonly spawned: boolean;
  /** `kubectl get pods` READY: `1/1`. */
  readonly ready: string;
  /**
   * `kubectl get pods` STATUS: the phase, or the reason kubectl shows instead (`CrashLoopBackOff`,
   * `Error`, `Completed`, `ErrImagePull`, `Terminating` …).
   */
  readonly status: string;
  /** `kubectl get pods` RESTARTS when the row was made: `3 (12s ago)`. */
  readonly restarts: string;
  /** Restarts of all its containers. */
  readonly restartCount: number;
  /** The first container (the spawner's pods have one), as a user follows it; `null` before the kubelet reports it. */
  readonly container: ContainerView | null;
}

/** One container's state, as `kubectl describe pod` shows it (State, Last State, Restart Count). */
export interface ContainerView {
  readonly name: string;
  readonly restartCount: number;
  /** `State:`: waiting (with the kubelet's reason, such as `CrashLoopBackOff`), running or terminated. */
  readonly state: 'waiting' | 'running' | 'terminated' | null;
  /** The reason of a waiting or terminated state (`CrashLoopBackOff`, `Error`, `Completed` …). */
  readonly reason: string | null;
  /** The kubelet's message with it (`back-off 20s restarting failed container=main pod=…`). */
  readonly message: string | null;
  /** Since when the current state holds (started or finished), if the kubelet said. */
  readonly since: string | null;
  /** How its last instance ended: the current state if terminated, else `lastState.terminated`. */
  readonly lastTermination: Termination | null;
}

/** How a container instance ended. */
export interface Termination {
  readonly exitCode: number;
  readonly reason: string | null;
  readonly signal: number | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** How the spawned container behaves: it runs `seconds`, then exits with `exitCode`. */
export interface SpawnedBehaviour {
  readonly seconds: number;
  readonly exitCode: number;
  readonly restartPolicy: RestartPolicy;
}

/**
 * The pod the spawner starts: runs `seconds` and exits with `exitCode`, restarted as `restartPolicy`
 * says (`Always`, or `OnFailure` with a non-zero code, crash-loops). On the fake, a lifecycle script
 * gives the run time (the simulated kubelet reads the exit code from the command).
 */
export function spawnedPod(
  namespace: string,
  image: string,
  behaviour: SpawnedBehaviour,
  fake: boolean,
): Pod {
  const { seconds, exitCode, restartPolicy } = behaviour;
  const script = [
    'echo "spawned by podstorage"',
    `sleep ${seconds}`,
    ...(exitCode === 0 ? [] : [`exit ${exitCode}`]),
  ].join('; ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'spawn-',
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      ...(fake
        ? { annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ runMs: seconds * 1_000 }) } }
        : {}),
    },
    spec: {
      restartPolicy,
      // `sleep` as PID 1 ignores SIGTERM: a short grace period makes Stop quick.
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'main',
          image,
          command: ['sh', '-c', script],
        },
      ],
    },
  };
}

/**
 * A pod as a row of the table. `progress` is the pod's progress as the server knows it (its
 * `ProgressBook`); by default what the pod object alone proves.
 */
export function podRow(
  pod: Pod,
  progress: Progress = new ProgressTracker(pod).current(),
  now: Date = new Date(),
): PodRow {
  const columns = podColumns(pod, now);
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    phase: phaseOf(pod),
    progress,
    node: pod.spec?.nodeName ?? null,
    image: pod.spec?.containers?.[0]?.image ?? null,
    createdAt: pod.metadata?.creationTimestamp ?? null,
    terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
    spawned: pod.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
    ready: columns.ready,
    status: columns.status,
    restarts: columns.restarts,
    restartCount: statuses.reduce((sum, status) => sum + (status.restartCount ?? 0), 0),
    container: containerView(pod),
  };
}

type ContainerStatus = NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number];
type TerminatedState = NonNullable<NonNullable<ContainerStatus['state']>['terminated']>;

/** The first container's status as a {@link ContainerView}; `null` while the kubelet reports none. */
export function containerView(pod: Pod): ContainerView | null {
  const status = pod.status?.containerStatuses?.[0];
  if (status === undefined) return null;
  const { waiting, running, terminated } = status.state ?? {};
  const ended = terminated ?? status.lastState?.terminated;
  return {
    name: status.name,
    restartCount: status.restartCount ?? 0,
    state: waiting ? 'waiting' : running ? 'running' : terminated ? 'terminated' : null,
    reason: waiting?.reason ?? terminated?.reason ?? null,
    message: waiting?.message ?? terminated?.message ?? null,
    since: running?.startedAt ?? terminated?.finishedAt ?? null,
    lastTermination: ended === undefined ? null : termination(ended),
  };
}

function termination(state: TerminatedState): Termination {
  return {
    exitCode: state.exitCode,
    reason: state.reason ?? null,
    signal: state.signal ?? null,
    startedAt: state.startedAt ?? null,
    finishedAt: state.finishedAt ?? null,
  };
}
