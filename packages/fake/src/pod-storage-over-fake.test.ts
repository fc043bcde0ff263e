import { createPodStorage } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { pod } from './test-support.js';

describe('core PodStorage over the fake cluster', () => {
  it('waits for a simulated pod to succeed and leaves nothing open', async () => {
    const cluster = new FakeCluster();
    const baseline = cluster.clock.pendingTimers();
    const storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
    cluster.createPod(pod('job'), { lifecycle: { runMs: 5_000 } });
    const phase = storage.waitForPhase('job', 'default', 60_000, { untilNot: ['Pending', 'Running'] });
    for (let step = 0; step < 20; step++) await cluster.clock.advance(1_000);
    expect(await phase).toBe('Succeeded');
    await storage.close();
    expect(cluster.stats().activeWatches).toBe(0);
    expect(cluster.clock.pendingTimers()).toBe(baseline);
  });
});
