export { ConformanceAssertionError } from './check.js';
export type { ConformanceClock } from './harness.js';
export { ALL_CAPABILITIES, runConformance } from './run-conformance.js';
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
