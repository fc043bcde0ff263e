import { runConformance } from '@podstorage/conformance';
import { describe, expect, it } from 'vitest';

// The conformance suite as packages/conformance/src/in-process.test.ts runs it, on the fake clock only.
// Its system-clock run spends seconds of real time per test and Stryker runs tests one at a time, so
// against every mutant it would cost minutes and depend on machine speed; the fake-clock run checks
// the same scenarios deterministically. Only vitest.mutation.config.ts runs this file.
runConformance({ describe, it, expect }, (cluster) => ({ transport: cluster.transport() }), {
  name: 'PodStorage conformance: in-process fake transport',
});
