import { describe, expect, it } from 'vitest';
import { runSoak } from './index.js';

// The soak against the fake cluster's in-process transport: on its manual clock (deterministic per seed,
// so many runs are cheap) and on the system clock with the cluster following real time.
const inProcess = (cluster: import('@podstorage/fake').FakeCluster) => ({ transport: cluster.transport() });

runSoak({ describe, it, expect }, inProcess, {
  name: 'soak: in-process fake transport, fake clock',
  clock: 'fake',
  runs: 20,
});
runSoak({ describe, it, expect }, inProcess, {
  name: 'soak: in-process fake transport, system clock',
  clock: 'system',
  runs: 2,
});
