import type { FakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { type ConformanceBackend, runConformance } from './index.js';

// The factory as the READMEs write it: the transport's own openHandles() and close().
const inProcess = (cluster: FakeCluster): ConformanceBackend => {
  const transport = cluster.transport();
  return { transport, openHandles: () => transport.openHandles(), close: () => transport.close() };
};

// What CI runs: the suite against the fake cluster's own in-process transport, on the fake clock
// (deterministic) and on the system clock (real timers, the cluster's clock following real time).
runConformance({ describe, it, expect }, inProcess, {
  name: 'PodStorage conformance: in-process fake transport',
});
runConformance({ describe, it, expect }, inProcess, {
  name: 'PodStorage conformance: in-process fake transport, system clock',
  clock: 'system',
  // Most of a system-clock test is waiting on real time: several at once keep the run short.
  concurrent: true,
});
