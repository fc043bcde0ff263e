import { describe, expect, it } from 'vitest';
import { runConformance } from './index.js';

// What CI runs: the suite against the fake cluster's own in-process transport.
runConformance({ describe, it, expect }, (cluster) => ({ transport: cluster.transport() }), {
  name: 'PodStorage conformance: in-process fake transport',
});
