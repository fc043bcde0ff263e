import type { Pod } from '@podstorage/core';
import { LIFECYCLE_ANNOTATION, type LifecycleScript } from '@podstorage/fake';

/**
 * A job pod: never restarted (or only on failure), running a command that exits. The fake cluster's
 * simulated kubelet reads the command (`echo`, `sleep`, `exit`) and the lifecycle annotation (pull time,
 * crashes); a real cluster runs the command and ignores the annotation.
 */
function pod(
  name: string,
  image: string,
  command: string,
  lifecycle: LifecycleScript,
  restartPolicy: 'Never' | 'OnFailure' = 'Never',
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/managed-by': 'podstorage-run' },
      annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify(lifecycle) },
    },
    spec: { restartPolicy, containers: [{ name: 'main', image, command: ['sh', '-c', command] }] },
  };
}

/** What `demo` runs: a quick success, a slow image pull, a failure, and a pod that crashes before it succeeds. */
export function demoPods(): Pod[] {
  return [
    pod('quick-success', 'busybox:1.36', 'echo hello from podstorage; sleep 1.5', { pullMs: 400 }),
    pod('slow-image-pull', 'registry.example/ml/trainer:2.4', 'echo training; sleep 2', { pullMs: 6_000 }),
    pod('failing-job', 'alpine:3.20', 'echo processing; sleep 1.2; exit 1', { pullMs: 500 }),
    pod(
      'flaky-retry',
      'python:3.12-slim',
      'echo attempt; sleep 1',
      { pullMs: 800, restarts: 2 },
      'OnFailure',
    ),
  ];
}

/**
 * Pods from `--image` and `--count`; the server names them from `generateName`. `words` (what follows
 * `--`) become the container's args, or its command with `asCommand`, as `kubectl run` does.
 */
export function podsFromFlags(
  image: string,
  count: number,
  words: readonly string[] | undefined = undefined,
  asCommand = false,
): Pod[] {
  const run =
    words === undefined || words.length === 0
      ? {}
      : asCommand
        ? { command: [...words] }
        : { args: [...words] };
  return Array.from({ length: count }, () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'podstorage-run-',
      labels: { 'app.kubernetes.io/managed-by': 'podstorage-run' },
    },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image, ...run }],
    },
  }));
}
