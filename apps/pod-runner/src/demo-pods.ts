import type { Pod } from '@podstorage/core';
import type { LifecycleScript } from '@podstorage/fake';

/** A pod for the demo, with the lifecycle the fake cluster's simulated kubelet plays for it. */
export interface DemoPod {
  readonly pod: Pod;
  readonly lifecycle: LifecycleScript;
}

function pod(name: string, image: string, restartPolicy: 'Never' | 'OnFailure' = 'Never'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'podstorage-demo' } },
    spec: { restartPolicy, containers: [{ name: 'main', image, command: ['sh', '-c', 'run-job'] }] },
  };
}

/** A realistic mix: a quick success, a slow image pull, a failure, and a pod that crashes before it succeeds. */
export const demoPods: readonly DemoPod[] = [
  { pod: pod('quick-success', 'busybox:1.36'), lifecycle: { pullMs: 400, runMs: 1_500 } },
  {
    pod: pod('slow-image-pull', 'registry.example/ml/trainer:2.4'),
    lifecycle: { pullMs: 6_000, runMs: 2_000 },
  },
  { pod: pod('failing-job', 'alpine:3.20'), lifecycle: { pullMs: 500, runMs: 1_200, exitCode: 1 } },
  {
    pod: pod('flaky-retry', 'python:3.12-slim', 'OnFailure'),
    lifecycle: { pullMs: 800, runMs: 1_000, restarts: 2 },
  },
];
