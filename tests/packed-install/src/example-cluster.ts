// The cluster the README programs run against: the fake Kubernetes API server on real time, with the
// simulated kubelet, holding the pods the examples name. A program finds it as a user's program finds
// a cluster: through KUBECONFIG.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock, FakeCluster, serveFakeCluster } from '@podstorage/fake';

/** The pods the README examples use, by namespace. */
export const EXAMPLE_PODS: Readonly<Record<string, readonly string[]>> = {
  default: ['job-42', 'my-job', 'job-1'],
  batch: ['job-1'],
  // The spawner-web README's real-cluster command starts pods there.
  sandbox: [],
};

/** A running example cluster: `kubeconfig` is the file to point KUBECONFIG at. */
export interface ExampleCluster {
  readonly cluster: FakeCluster;
  readonly kubeconfig: string;
  close(): Promise<void>;
}

/** Starts a cluster whose example pods run for a second and succeed, and writes its kubeconfig into `directory`. */
export async function startExampleCluster(directory: string, name: string): Promise<ExampleCluster> {
  const clock = new FakeClock({ start: new Date() });
  const cluster = new FakeCluster({ clock, namespaces: Object.keys(EXAMPLE_PODS) });
  const stopClock = clock.followRealTime();
  for (const [namespace, pods] of Object.entries(EXAMPLE_PODS))
    for (const pod of pods)
      cluster.createPod(
        {
          metadata: { name: pod, namespace },
          // A job: with the default restartPolicy (Always) the kubelet would restart it for ever.
          spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
        },
        { lifecycle: { runMs: 1_000, exitCode: 0 } },
      );
  const server = await serveFakeCluster(cluster);
  const kubeconfig = join(directory, `${name}.kubeconfig`);
  writeFileSync(kubeconfig, server.kubeconfig);
  return {
    cluster,
    kubeconfig,
    async close() {
      await server.close();
      stopClock();
    },
  };
}
