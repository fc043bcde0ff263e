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

// A found failure, kept: the storage's own delete landed while its namespace list was in flight (5 ms
// latency), so the list already held the deletion's version; the soak's truth, observed only later,
// expected the consumer to yield it as a change after its view. The view is the list (client-go's
// reflector semantics: what the list holds is the baseline), so the oracle now observes the cluster
// before it records where a consumer's view begins.
runSoak({ describe, it, expect }, inProcess, {
  name: 'soak regression: a delete during the first list is part of the view',
  clock: 'fake',
  commands: 80,
  seed: -1309288361,
  path: '415:2:2:2:2:2:2:6:12:1:16:0:17:18:22:23:22:23:25:23:23:11:12:12:17:17',
  replayPath: '///////I:/D',
  env: false,
});

// A found failure, kept: a wait that joined a running watch read its pod at a version the watch had not
// reached; the pod was deleted and the history compacted, so the relist held it in neither view and no
// change told the wait of it: it stayed pending for good. A relist now sends such followers to read again.
runSoak({ describe, it, expect }, inProcess, {
  name: 'soak regression: a pod that lived and went inside a relisted gap ends its wait',
  clock: 'fake',
  commands: 80,
  seed: -2027245381,
  path: '280:1:1:1:1:1:1:5:4:0:5:9:10:16:17:27:29:33:33:14:15:18:18',
  replayPath: '/////////I:/P',
  env: false,
});
