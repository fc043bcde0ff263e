import type { Status } from '@podstorage/core';
import type { FakeClock } from '../fake-clock.js';
import type { LifecycleScript, LifecycleSimulator } from '../lifecycle.js';
import type { SeededRandom } from '../names.js';
import type { ObjectStore, StoredResource } from '../object-store.js';
import { statusError } from '../status.js';
import type { DeletionTimers } from './deletion.js';
import type { NodeLeases } from './node-leases.js';
import type { EvictionManager } from './node-pressure.js';
import type { NodeEvictions } from './nodes.js';

/**
 * What the cluster's API modules (pods, events, namespaces, deletion, lists) share: the store, the
 * clock and the simulator. {@link FakeCluster} builds one and hands it to each module's functions.
 */
export interface ClusterContext {
  readonly clock: FakeClock;
  readonly store: ObjectStore;
  readonly random: SeededRandom;
  readonly mode: 'simulated' | 'manual';
  readonly nodeName: string;
  readonly defaultLifecycle: LifecycleScript;
  readonly simulator: LifecycleSimulator;
  readonly deletion: DeletionTimers;
  /** The taint-eviction controller's timers for pods on tainted nodes. */
  readonly nodeEvictions: NodeEvictions;
  /** The kubelets' eviction managers, for nodes under scripted pressure. */
  readonly evictionManager: EvictionManager;
  /** The kubelets' heartbeats in kube-node-lease (simulated mode only). */
  readonly nodeLeases: NodeLeases;
  /** Keeps the names of events recorded in the same millisecond apart. */
  readonly eventSequence: { value: number };
}

/** The list kinds, by resource. */
export const LIST_KINDS: Record<StoredResource, string> = {
  pods: 'PodList',
  events: 'EventList',
  namespaces: 'NamespaceList',
  nodes: 'NodeList',
  leases: 'LeaseList',
};

/** The API version each resource is served in. */
export const API_VERSIONS: Record<StoredResource, string> = {
  pods: 'v1',
  events: 'v1',
  namespaces: 'v1',
  nodes: 'v1',
  leases: 'coordination.k8s.io/v1',
};

/** The object kinds, by resource. */
export const OBJECT_KINDS: Record<StoredResource, string> = {
  pods: 'Pod',
  events: 'Event',
  namespaces: 'Namespace',
  nodes: 'Node',
  leases: 'Lease',
};

/** A deep copy: objects go in and out of the cluster as copies. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}

/** The `KubernetesError` carrying a Status built elsewhere (expired, too large). */
export function statusErrorFrom(status: Status) {
  return statusError(status.code ?? 500, status.message ?? '', status.details ?? {}, status.reason);
}
