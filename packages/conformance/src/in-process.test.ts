import { describe, expect, it } from 'vitest';
import { runConformance } from './index.js';

// What CI runs: the suite against the fake cluster's own in-process transport, on the fake clock
// (deterministic) and on the system clock (real timers, the cluster's clock following real time).
runConformance({ describe, it, expect }, (cluster) => ({ transport: cluster.transport() }), {
  name: 'PodStorage conformance: in-process fake transport',
});
runConformance({ describe, it, expect }, (cluster) => ({ transport: cluster.transport() }), {
  name: 'PodStorage conformance: in-process fake transport, system clock',
  clock: 'system',
  // Most of a system-clock test is waiting on real time: several at once keep the run short.
  concurrent: true,
});
