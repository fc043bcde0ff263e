// The pod the spawner starts, and how a pod is shown as a row of the table.
import { type Pod, type PodPhase, phaseOf } from '@podstorage/core';
import { LIFECYCLE_ANNOTATION } from '@podstorage/fake';
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
}

/** The pod the spawner starts: runs `seconds` and exits; on the fake, a lifecycle script says the same. */
export function spawnedPod(namespace: string, image: string, seconds: number, fake: boolean): Pod {
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
      restartPolicy: 'Never',
      // `sleep` as PID 1 ignores SIGTERM: a short grace period makes Stop quick.
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'main',
          image,
          command: ['sh', '-c', `echo "spawned by podstorage"; sleep ${seconds}`],
        },
      ],
    },
  };
}

/**
 * A pod as a row of the table. `progress` is the pod's progress as the server knows it (its
 * `ProgressBook`); by default what the pod object alone proves.
 */
export function podRow(pod: Pod, progress: Progress = new ProgressTracker(pod).current()): PodRow {
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
  };
}
