// The example of the root README ("Use the fake in your tests"), kept here so that it keeps working.
import { createPodStorage } from '@podstorage/core';
import { expect, it } from 'vitest';
import { FakeCluster } from './index.js';

it('waits for my job to finish, even when the watch breaks', async () => {
  const cluster = new FakeCluster(); // simulated scheduler and kubelet
  await using storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
  cluster.createPod({
    metadata: { name: 'job' },
    // A job: never restarted, its command runs 5 s and exits 0 (the simulated kubelet reads it).
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo working; sleep 5'] }],
    },
  });

  const done = storage.waitForPhase('job', 'default', 60_000, { untilNot: ['Pending', 'Running'] });
  await cluster.clock.advance(1_000);
  cluster.faults.resetWatches(); // the connection breaks mid-stream
  cluster.faults.compact(); // and history moves on: 410 on resume
  await cluster.clock.advance(10_000); // time, not sleep
  expect(await done).toBe('Succeeded');
});
