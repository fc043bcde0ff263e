import type { FakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { runSoak } from './index.js';

// The soak against the fake cluster's in-process transport: on its manual clock (deterministic per seed,
// and cheap, so many runs) and on the system clock with the cluster following real time. SOAK_SEED,
// SOAK_RUNS, SOAK_DURATION_MS… run it longer (`pnpm soak`).
const inProcess = (cluster: FakeCluster) => ({ transport: cluster.transport() });

runSoak({ describe, it, expect }, inProcess, {
  name: 'soak: in-process fake transport, fake clock',
  clock: 'fake',
  runs: 100,
});
runSoak({ describe, it, expect }, inProcess, {
  name: 'soak: in-process fake transport, system clock',
  runs: 3,
});
