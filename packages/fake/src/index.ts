// First, as an external module that bundlers keep ahead of every dependency: refuses an unsupported
// Node with a clear message before undici or @kubernetes/client-node can crash on it.
import '@podstorage/core/supported-node';

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
export { createInProcessTransport, type FakeClusterTransport } from './in-process-transport.js';
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
export { type PodColumns, podColumns } from './server/tables.js';
export { tooLargeResourceVersion } from './status.js';
export {
  DEFAULT_WATCHDOG,
  type RequestWatchdog,
  type WatchdogOptions,
  type WatchdogViolation,
} from './watchdog.js';
