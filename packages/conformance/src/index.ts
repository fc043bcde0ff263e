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
