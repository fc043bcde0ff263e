import type { FieldSelector, KubernetesEvent, Pod } from '@podstorage/core';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Namespace, Node } from 'kubernetes-types/core/v1.js';

/** Options of a list call, with the query string already parsed. */
export interface ListQuery {
  /** `a=b,c!=d` (escaped as Kubernetes escapes values) or an object of equalities. */
  readonly fieldSelector?: string | FieldSelector;
  /** Equality- or set-based label selector, such as `app=web,tier in (a,b),!canary`. */
  readonly labelSelector?: string;
  /** Page size; 0 or absent: everything. */
  readonly limit?: number;
  /** The `continue` token of the previous page. */
  readonly continue?: string;
  /** Absent or empty: the latest state. With `Exact`: the state at that version, if history still holds it. */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
}

/** Options of a watch, with the query string already parsed. */
export interface WatchQuery {
  readonly fieldSelector?: string | FieldSelector;
  readonly labelSelector?: string;
  /** Absent or "0": the current state first, as ADDED events. Otherwise: every change after it. */
  readonly resourceVersion?: string;
  /** Accepted for API fidelity; `NotOlderThan` is the only meaningful value for watches. */
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  /** Send a BOOKMARK every `bookmarkIntervalMs` of clock time. */
  readonly allowWatchBookmarks?: boolean;
  /** End the stream cleanly after this many seconds of clock time (default: the cluster's `watchTimeoutSeconds`). */
  readonly timeoutSeconds?: number;
  /** Streaming list: the current state as ADDED, then a BOOKMARK annotated `k8s.io/initial-events-end`. */
  readonly sendInitialEvents?: boolean;
}

/** A list response: `kind`, `apiVersion`, the list's `metadata` and the items (copies). */
export interface ListResult<T> {
  /** `v1`, or `coordination.k8s.io/v1` for leases. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  readonly items: T[];
}

/** Options of {@link FakeCluster.deletePod} and {@link FakeCluster.deleteEvent}. */
export interface DeleteQuery {
  /** Seconds until the object goes; 0 deletes at once. Default: the pod's `terminationGracePeriodSeconds` (30). */
  readonly gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion, else 409 Conflict. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** Validated; pods have no dependents here, so every policy deletes the same way. */
  readonly propagationPolicy?: string;
}

/** The object a watch stream carries for a resource. */
export type WatchObject<R extends 'pods' | 'events' | 'namespaces' | 'nodes' | 'leases'> = R extends 'pods'
  ? Pod
  : R extends 'events'
    ? KubernetesEvent
    : R extends 'nodes'
      ? Node
      : R extends 'leases'
        ? Lease
        : Namespace;
