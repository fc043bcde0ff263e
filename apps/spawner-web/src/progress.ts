import { type Pod, type PodPhase, phaseOf } from '@podstorage/core';

/**
 * The stages a spawned pod goes through, in order. Each is reached only on evidence from the cluster
 * (an event message, a phase, the pod's status), never on a timer.
 */
export const STAGES = ['created', 'scheduled', 'pulling', 'pulled', 'running', 'finished'] as const;

/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];

/** How a pod's life is ending, apart from its stage: being stopped (deleted, in its grace period), or gone. */
export type Ending = 'stopping' | 'deleted';

/** Where a pod stands: its stage, how far along the bar that is, and whether it went wrong. */
export interface Progress {
  readonly stage: Stage;
  /** 0–100, proportional to the stage's position in {@link STAGES}. */
  readonly percent: number;
  /** True once the pod ended Failed. */
  readonly failed: boolean;
  /**
   * `stopping` once the pod is being deleted (its deletionTimestamp, the kubelet's "Stopping
   * container", or a delete the API server accepted), `deleted` once it is gone; `null` before.
   */
  readonly ending: Ending | null;
}

const RANK = new Map<Stage, number>(STAGES.map((stage, index) => [stage, index]));

// The messages the scheduler and kubelet record (k8s.io/kubernetes pkg/kubelet/events and the
// scheduler's "Successfully assigned"); the fake records the same wording.
const MESSAGE_STAGES: readonly (readonly [RegExp, Stage])[] = [
  [/^Successfully assigned /, 'scheduled'],
  [/^Pulling image /, 'pulling'],
  [/^Successfully pulled image |^Container image .* already present on machine/, 'pulled'],
  // v1.32 writes "Created container main", later kubelets "Created container: main".
  [/^Created container:? /, 'pulled'],
  [/^Started container /, 'running'],
];

/** The stage an event message proves, if it proves one. */
export function stageOfMessage(message: string): Stage | undefined {
  for (const [pattern, stage] of MESSAGE_STAGES) if (pattern.test(message)) return stage;
  return undefined;
}

/** The stage a phase proves: Running means started, Succeeded and Failed mean finished. */
export function stageOfPhase(phase: PodPhase): Stage {
  if (phase === 'Running') return 'running';
  if (phase === 'Succeeded' || phase === 'Failed') return 'finished';
  return 'created';
}

/** The stage a pod object proves by its phase, node assignment and container states. */
export function stageOfPod(pod: Pod): Stage {
  const fromPhase = stageOfPhase(phaseOf(pod));
  if (fromPhase !== 'created') return fromPhase;
  const containers = pod.status?.containerStatuses ?? [];
  if (containers.some((status) => status.state?.running || status.state?.terminated)) return 'running';
  if (containers.length > 0 && containers.every((status) => status.imageID)) return 'pulled';
  if (pod.spec?.nodeName) return 'scheduled';
  return 'created';
}

// The kubelet's Killing event (pkg/kubelet/events: "Stopping container %s"), recorded when it stops a
// container of a pod being deleted.
const STOPPING_MESSAGE = /^Stopping container /;

/** The later of two stages: a pod never moves back along the bar. */
export function laterStage(a: Stage, b: Stage | undefined): Stage {
  if (b === undefined) return a;
  return (RANK.get(b) ?? 0) > (RANK.get(a) ?? 0) ? b : a;
}

/**
 * Follows one pod's progress from what the server learns about it: the pod as first read, then each
 * event message and each phase. Stages only move forward.
 */
export class ProgressTracker {
  #stage: Stage = 'created';
  #failed = false;
  #ending: Ending | null = null;

  /** Starts from the pod as read (it may already be far along). */
  constructor(pod?: Pod) {
    if (pod !== undefined) this.pod(pod);
  }

  /** Takes in the pod object. */
  pod(pod: Pod): Progress {
    this.#stage = laterStage(this.#stage, stageOfPod(pod));
    if (phaseOf(pod) === 'Failed') this.#failed = true;
    if (pod.metadata?.deletionTimestamp) this.stopping();
    return this.current();
  }

  /** Takes in an event message. */
  message(message: string): Progress {
    this.#stage = laterStage(this.#stage, stageOfMessage(message));
    if (STOPPING_MESSAGE.test(message)) this.stopping();
    return this.current();
  }

  /** Takes in a phase. */
  phase(phase: PodPhase): Progress {
    this.#stage = laterStage(this.#stage, stageOfPhase(phase));
    if (phase === 'Failed') this.#failed = true;
    return this.current();
  }

  /** Takes in that the pod is being deleted. */
  stopping(): Progress {
    this.#ending ??= 'stopping';
    return this.current();
  }

  /** Takes in that the pod is gone. */
  gone(): Progress {
    this.#ending = 'deleted';
    return this.current();
  }

  /** Where the pod stands now. */
  current(): Progress {
    const rank = RANK.get(this.#stage) ?? 0;
    return {
      stage: this.#stage,
      percent: Math.round(((rank + 1) / STAGES.length) * 100),
      failed: this.#failed,
      ending: this.#ending,
    };
  }
}
