export { DEFAULT_FAKE_CLOCK_START, FakeClock } from './fake-clock.js';
export {
  type ClusterSnapshot,
  type DeleteQuery,
  FakeCluster,
  type FakeClusterOptions,
  type FakeClusterStats,
  type FakeNodeOptions,
  type ListQuery,
  type ListResult,
  type Namespace,
  type Node,
  type NodeReadiness,
  type PodLogQuery,
  type WatchObject,
  type WatchQuery,
} from './fake-cluster.js';
export type {
  FaultFilter,
  FaultInjector,
  InjectedStatus,
  RequestFaultFilter,
  RequestVerb,
} from './fault-injector.js';
export { createInProcessTransport } from './in-process-transport.js';
export { type ContainerScript, LIFECYCLE_ANNOTATION, type LifecycleScript } from './lifecycle.js';
export {
  type FieldRequirement,
  type LabelOperator,
  type LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
export { type FakeClusterServer, type ServeFakeClusterOptions, serveFakeCluster } from './server/serve.js';
export { tooLargeResourceVersion } from './status.js';
export {
  DEFAULT_WATCHDOG,
  type RequestWatchdog,
  type WatchdogOptions,
  type WatchdogViolation,
} from './watchdog.js';
