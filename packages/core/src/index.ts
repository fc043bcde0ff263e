export type { BackoffOptions } from './backoff.js';
export { type Clock, delay, systemClock, type TimerHandle } from './clock.js';
export {
  InvalidInputError,
  isAbortError,
  KubernetesError,
  type KubernetesErrorContext,
  PodStorageError,
  PodTimeoutError,
  reasonForCode,
} from './errors.js';
export type {
  KubernetesEvent,
  ListMeta,
  ObjectList,
  ObjectMeta,
  Pod,
  PodStatus,
  Status,
  StatusDetails,
} from './kubernetes.js';
export { type Logger, silentLogger } from './logger.js';
export { isPodPhase, type PodChange, PodPhase, phaseOf, UNFINISHED_PHASES } from './phases.js';
export type { FollowPodLogsOptions, PodLogLine } from './pod-logs.js';
export {
  type CancelOptions,
  createPodStorage,
  type EventsForPodOptions,
  type LogsForPodOptions,
  type ManagedPodStorage,
  type PodStorage,
  type PodStorageOptions,
  type TimeoutLike,
  type WaitForPhaseOptions,
} from './pod-storage.js';
export { sameResourceVersion } from './resource-versions.js';
export { type FieldSelector, formatFieldSelector } from './selectors.js';
export { Timeout } from './timeout.js';
export type {
  BookmarkObject,
  DeleteOptions,
  ListOptions,
  PodLogOptions,
  PodTransport,
  RequestOptions,
  ResourceName,
  ResourceTypes,
  WatchEvent,
  WatchOptions,
} from './transport.js';
export { validateNamespace, validatePodName } from './validation.js';
export type { StoreChange, WatchCounters, WatchSubscriber, WatchSubscription } from './watch-engine.js';
