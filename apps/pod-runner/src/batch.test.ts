import { createPodStorage, type PodPhase } from '@podstorage/core';
import { FakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { type BatchReporter, type PodOutcome, runBatch } from './batch.js';
import { demoPods } from './demo-pods.js';

async function runDemoBatch() {
  const cluster = new FakeCluster();
  const storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
  const lines: string[] = [];
  const phases: string[] = [];
  const reporter: BatchReporter = {
    event: (pod, message) => lines.push(`${pod} event ${message}`),
    phase: (pod: string, from: PodPhase | undefined, to: PodPhase) => phases.push(`${pod} ${from}->${to}`),
    step: (pod, message) => lines.push(`${pod} ${message}`),
  };
  const lifecycles = new Map(demoPods.map((item) => [item.pod.metadata?.name, item.lifecycle]));
  let outcomes: PodOutcome[] | undefined;
  const batch = runBatch(
    {
      storage,
      namespace: 'default',
      reporter,
      now: () => cluster.clock.now(),
      createPod: async (pod) => cluster.createPod(pod, { lifecycle: lifecycles.get(pod.metadata?.name) }),
    },
    demoPods.map(({ pod }) => ({ pod, timeoutMs: 120_000 })),
  ).then((result) => {
    outcomes = result;
  });
  // Drive the cluster's clock until the batch is done; the bound turns a hang into a failure.
  for (let step = 0; outcomes === undefined && step < 2_000; step += 1) await cluster.clock.advance(100);
  await batch;
  await storage.close();
  return { cluster, outcomes: outcomes ?? [], lines, phases, counters: storage.counters() };
}

describe('runBatch', () => {
  it('runs every demo pod to its scripted end, streams its events and deletes it', async () => {
    const { cluster, outcomes, lines, phases } = await runDemoBatch();
    expect(Object.fromEntries(outcomes.map((outcome) => [outcome.name, outcome.phase]))).toEqual({
      'quick-success': 'Succeeded',
      'slow-image-pull': 'Succeeded',
      'failing-job': 'Failed',
      'flaky-retry': 'Succeeded',
    });
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined();
      expect(outcome.events).toBeGreaterThanOrEqual(5);
    }
    expect(lines).toContain('quick-success event Successfully assigned default/quick-success to fake-node-1');
    expect(lines).toContain('slow-image-pull event Pulling image "registry.example/ml/trainer:2.4"');
    expect(lines.filter((line) => line.startsWith('flaky-retry event Back-off restarting'))).toHaveLength(2);
    expect(phases).toContain('failing-job Running->Failed');
    expect(phases).toContain('quick-success Pending->Running');
    const left = cluster.listPods('default').items.filter((pod) => !pod.metadata?.deletionTimestamp);
    expect(left).toEqual([]);
  });

  it('leaves no watch open when it is done', async () => {
    const { cluster, counters } = await runDemoBatch();
    expect(cluster.stats().activeWatches).toBe(0);
    expect(counters.watchesActive).toBe(0);
  });
});
