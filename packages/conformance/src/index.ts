// First, as an external module that bundlers keep ahead of every dependency: refuses an unsupported
// Node with a clear message before undici or @kubernetes/client-node can crash on it.
import '@podstorage/core/supported-node';

export { ConformanceAssertionError } from './check.js';
export type { ConformanceClock } from './harness.js';
export { ALL_CAPABILITIES, runConformance } from './run-conformance.js';
export {
  DEFAULT_SOAK_TIMINGS,
  runSoak,
  SoakFailure,
  type SoakOptions,
  type SoakSummary,
  type SoakTimings,
  SoakViolation,
} from './soak.js';
export type {
  ConformanceBackend,
  ConformanceCapabilities,
  ConformanceDescribe,
  ConformanceExpect,
  ConformanceFactory,
  ConformanceIt,
  ConformanceMatchers,
  ConformanceOptions,
  ConformanceRunner,
  ConformanceTestFunction,
} from './types.js';
export { ConditionTimeoutError, DEFAULT_PATIENCE, type Patience } from './waiting.js';
