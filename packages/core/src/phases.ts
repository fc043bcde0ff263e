import type { Pod } from './kubernetes.js';

/** The phases of a pod, with the string values Kubernetes uses. */
export const PodPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Unknown: 'Unknown',
} as const;

/** One of the five pod phases Kubernetes reports in `status.phase`. */
export type PodPhase = (typeof PodPhase)[keyof typeof PodPhase];

/** A modification of a pod that existed before and after it, as `watchPodChanges` yields it. */
export interface PodChange {
  readonly pod: Pod;
  readonly phase: PodPhase;
}

/** The phases in which a pod has not finished: `deleteAfterCompletion` waits until the pod leaves them. */
export const UNFINISHED_PHASES: readonly PodPhase[] = [PodPhase.Pending, PodPhase.Running, PodPhase.Unknown];

const KNOWN_PHASES = new Set<string>(Object.values(PodPhase));

/** True when `value` is one of the five phase names. */
export function isPodPhase(value: unknown): value is PodPhase {
  return typeof value === 'string' && KNOWN_PHASES.has(value);
}

/**
 * The phase of a pod. A pod without `status.phase` has not been seen by the scheduler yet, so it counts
 * as Pending; a phase this version does not know is reported as Unknown rather than trusted.
 */
export function phaseOf(pod: Pod): PodPhase {
  const phase = pod.status?.phase;
  if (phase === undefined || phase === '') return PodPhase.Pending;
  return isPodPhase(phase) ? phase : PodPhase.Unknown;
}
