import { createPodStorage, type PodPhase } from '@podstorage/core';
import { FakeCluster } from '@podstorage/fake';
import { type BatchReporter, type PodOutcome, runBatch } from './batch.js';
import { demoPods } from './demo-pods.js';

// The fake cluster's clock runs this many times faster than the wall clock, so the demo's image
// pulls and runs (about 10 s of cluster time) take a few seconds to watch.
const SPEED = 6;
const NAMESPACE = 'default';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

async function main(): Promise<number> {
  const cluster = new FakeCluster({ namespaces: [NAMESPACE] });
  const stopClock = cluster.clock.followRealTime({ speed: SPEED });
  const storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
  const startedAt = cluster.clock.now();
  const stamp = () => seconds(cluster.clock.now() - startedAt).padStart(6);
  const reporter: BatchReporter = {
    event: (pod, message) => console.log(`${stamp()}  ${pod.padEnd(16)} event   ${message}`),
    phase: (pod, from, to) => console.log(`${stamp()}  ${pod.padEnd(16)} phase   ${from ?? '?'} -> ${to}`),
    step: (pod, message) => console.log(`${stamp()}  ${pod.padEnd(16)} runner  ${message}`),
  };
  const lifecycles = new Map(demoPods.map((item) => [item.pod.metadata?.name, item.lifecycle]));

  console.log(
    `podstorage demo: ${demoPods.length} pods on the embedded fake cluster (cluster time runs x${SPEED})\n`,
  );
  let outcomes: PodOutcome[];
  try {
    outcomes = await runBatch(
      {
        storage,
        namespace: NAMESPACE,
        reporter,
        now: () => cluster.clock.now(),
        createPod: async (pod) => cluster.createPod(pod, { lifecycle: lifecycles.get(pod.metadata?.name) }),
      },
      demoPods.map(({ pod }) => ({ pod, timeoutMs: 120_000 })),
    );
  } finally {
    await storage.close();
    await stopClock();
  }

  console.log('\npod               final phase  duration  events');
  for (const outcome of outcomes) {
    const phase: PodPhase | 'gone' | 'error' = outcome.error ? 'error' : (outcome.phase ?? 'gone');
    console.log(
      `${outcome.name.padEnd(18)}${phase.padEnd(13)}${seconds(outcome.durationMs).padStart(8)}  ${String(outcome.events).padStart(6)}`,
    );
  }
  const left = cluster.listPods(NAMESPACE).items.filter((pod) => !pod.metadata?.deletionTimestamp).length;
  console.log(`\npods left in the cluster (not terminating): ${left}`);
  console.log(`watch engine: ${JSON.stringify(storage.counters())}`);
  // The demo is expected to show a failure; it fails itself only when the runner could not do its job.
  return outcomes.some((outcome) => outcome.error !== undefined) || left > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
