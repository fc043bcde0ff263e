import type { KubernetesEvent, ObjectMeta, Pod } from '@podstorage/core';
import { badRequest } from './status.js';

/** The kinds of object the fake cluster keeps. */
export type StoredResource = 'namespaces' | 'pods' | 'events' | 'nodes' | 'leases';

/**
 * Resources whose changes the history keeps apart, as the apiserver's watch cache is per resource: the
 * kubelets' lease renewals (one per node every 10 s) never push other resources' versions out of it.
 */
const OWN_HISTORY: ReadonlySet<StoredResource> = new Set(['leases']);

/** Anything with Kubernetes object metadata. */
export interface StoredObject {
  metadata?: ObjectMeta;
}

/** A change recorded in the history: enough to replay it to a watcher and to undo it for a snapshot. */
export interface Change {
  readonly resourceVersion: number;
  readonly resource: StoredResource;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly key: string;
  /** The object after the change (for DELETED: its last state, carrying the deletion's resourceVersion). */
  readonly object: StoredObject;
  /** The object before the change, for MODIFIED and DELETED. */
  readonly previous: StoredObject | undefined;
}

/** The store key: `namespace/name`, or `name` for cluster-scoped objects; lists sort by it, as etcd does. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

/**
 * The fields a field selector can name, per resource, as the API server registers them
 * (`GetAttrs`/`ToSelectableFields`).
 */
export function selectableFields(resource: StoredResource, object: StoredObject): Record<string, string> {
  const metadata = object.metadata ?? {};
  const common = { 'metadata.name': metadata.name ?? '', 'metadata.namespace': metadata.namespace ?? '' };
  if (resource === 'pods') {
    const pod = object as Pod;
    return {
      ...common,
      'spec.nodeName': pod.spec?.nodeName ?? '',
      'spec.restartPolicy': pod.spec?.restartPolicy ?? '',
      'spec.schedulerName': pod.spec?.schedulerName ?? '',
      'spec.serviceAccountName': pod.spec?.serviceAccountName ?? '',
      'spec.hostNetwork': String(pod.spec?.hostNetwork ?? false),
      'status.phase': pod.status?.phase ?? '',
      'status.podIP': pod.status?.podIP ?? '',
      'status.nominatedNodeName': pod.status?.nominatedNodeName ?? '',
    };
  }
  if (resource === 'events') {
    const event = object as KubernetesEvent;
    const involved = event.involvedObject ?? {};
    return {
      ...common,
      'involvedObject.kind': involved.kind ?? '',
      'involvedObject.namespace': involved.namespace ?? '',
      'involvedObject.name': involved.name ?? '',
      'involvedObject.uid': involved.uid ?? '',
      'involvedObject.apiVersion': involved.apiVersion ?? '',
      'involvedObject.resourceVersion': involved.resourceVersion ?? '',
      'involvedObject.fieldPath': involved.fieldPath ?? '',
      reason: event.reason ?? '',
      reportingComponent: event.reportingComponent ?? '',
      source: event.source?.component ?? '',
      type: event.type ?? '',
    };
  }
  if (resource === 'nodes') {
    // pkg/registry/core/node/strategy.go NodeToSelectableFields.
    return {
      'metadata.name': metadata.name ?? '',
      'spec.unschedulable': String(
        (object as { spec?: { unschedulable?: boolean } }).spec?.unschedulable ?? false,
      ),
    };
  }
  if (resource === 'leases') return common;
  return {
    'metadata.name': metadata.name ?? '',
    'status.phase': (object as { status?: { phase?: string } }).status?.phase ?? '',
  };
}

const SELECTABLE_PROBE: Record<StoredResource, ReadonlySet<string>> = {
  pods: new Set(Object.keys(selectableFields('pods', {}))),
  events: new Set(Object.keys(selectableFields('events', {}))),
  namespaces: new Set(Object.keys(selectableFields('namespaces', {}))),
  nodes: new Set(Object.keys(selectableFields('nodes', {}))),
  leases: new Set(Object.keys(selectableFields('leases', {}))),
};

/** Throws the API server's 400 for a field selector naming a field the resource does not support. */
export function checkSelectableFields(
  resource: StoredResource,
  fields: readonly string[],
  selectorText: string,
): void {
  for (const field of fields) {
    if (!SELECTABLE_PROBE[resource].has(field)) {
      throw badRequest(
        `Unable to find "/v1, Resource=${resource}" that match label selector "", field selector "${selectorText}": field label not supported: ${field}`,
      );
    }
  }
}

/** What {@link ObjectStore.page} reads: one page of a resource at a version, in key order. */
export interface PageQuery {
  /** The version to read at (the current one, or one the history still covers). */
  readonly resourceVersion: number;
  /** Only keys with this prefix (`namespace/`); `''` for all. */
  readonly prefix: string;
  /** The first key to serve (inclusive): the continue token's start; `''` for the beginning. */
  readonly start: string;
  /** Items per page; 0 for all. */
  readonly limit: number;
  /** Whether an object is served (selectors); without it, every object in the range is. */
  readonly filter?: (object: StoredObject) => boolean;
}

/** One page: its objects, whether more follow, and (without a filter) how many. */
export interface Page {
  readonly items: { readonly key: string; readonly object: StoredObject }[];
  /** At least one more object follows the page. */
  readonly more: boolean;
  /** Objects after the page, counted without visiting them; only without a filter. */
  readonly remaining: number | undefined;
}

/** A deep copy of a store's objects and resourceVersion counter, as {@link ObjectStore.state} takes it. */
export interface StoreState {
  readonly resourceVersion: number;
  readonly objects: Readonly<Record<StoredResource, ReadonlyMap<string, StoredObject>>>;
}

function copyObjects(
  objects: Readonly<Record<StoredResource, ReadonlyMap<string, StoredObject>>>,
): Record<StoredResource, Map<string, StoredObject>> {
  return {
    namespaces: new Map(structuredClone([...objects.namespaces])),
    pods: new Map(structuredClone([...objects.pods])),
    events: new Map(structuredClone([...objects.events])),
    nodes: new Map(structuredClone([...objects.nodes])),
    leases: new Map(structuredClone([...(objects.leases ?? [])])),
  };
}

/**
 * The storage: one global resourceVersion counter over every resource, the current objects, and a
 * bounded history of changes. A resourceVersion R is still served (watch from R, snapshot at R) when
 * every change after R is in the history, that is when R >= {@link ObjectStore.oldestServable}.
 */
export class ObjectStore {
  readonly #historySize: number;
  #objects: Record<StoredResource, Map<string, StoredObject>> = {
    namespaces: new Map(),
    pods: new Map(),
    events: new Map(),
    nodes: new Map(),
    leases: new Map(),
  };
  // Each resource's keys in key order, kept sorted on every create and delete, so a page of a list
  // is found by binary search and read in O(page size), never by sorting the whole store.
  #keys: Record<StoredResource, string[]> = { namespaces: [], pods: [], events: [], nodes: [], leases: [] };
  #visited = 0;
  readonly #history: Change[] = [];
  // The changes of the resources with a history of their own (OWN_HISTORY), each bounded alike.
  readonly #ownHistory = new Map<StoredResource, Change[]>();
  readonly #ownCompactedThrough = new Map<StoredResource, number>();
  readonly #listeners = new Set<(change: Change) => void>();
  #resourceVersion = 0;
  // The newest resourceVersion whose following changes are no longer all held.
  #compactedThrough = 0;

  constructor(historySize: number) {
    if (!Number.isInteger(historySize) || historySize < 1) {
      throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
    }
    this.#historySize = historySize;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  /** The oldest resourceVersion still servable from history; anything older is expired (410). */
  get oldestServable(): number {
    return this.#compactedThrough;
  }

  /**
   * The oldest resourceVersion a list or watch of `resource` can still be served from: the shared
   * history's, or for a resource with a history of its own (leases), that one's.
   */
  oldestServableOf(resource: StoredResource): number {
    return OWN_HISTORY.has(resource)
      ? (this.#ownCompactedThrough.get(resource) ?? this.#compactedThrough)
      : this.#compactedThrough;
  }

  #historyOf(resource: StoredResource): readonly Change[] {
    return OWN_HISTORY.has(resource) ? (this.#ownHistory.get(resource) ?? []) : this.#history;
  }

  /** The live object (not a copy; callers copy before handing it out). */
  get(resource: StoredResource, key: string): StoredObject | undefined {
    return this.#objects[resource].get(key);
  }

  /** Live objects of a resource, in key order. */
  values(resource: StoredResource): StoredObject[] {
    const objects = this.#objects[resource];
    return this.#keys[resource].map((key) => objects.get(key) as StoredObject);
  }

  /** How many objects {@link ObjectStore.page} has looked at so far: what a page costs, for tests. */
  get visited(): number {
    return this.#visited;
  }

  /**
   * One page of a resource as it was at `query.resourceVersion`, in key order: binary search to the
   * start, then the objects from there, up to the page and one more. At an older version, the changes
   * since then (bounded by the history) are laid over the current keys. The caller checks that the
   * version is still servable.
   */
  page(resource: StoredResource, query: PageQuery): Page {
    const keys = this.#keys[resource];
    const current = this.#objects[resource];
    // Whichever comes later: the continue token's start or the namespace's first key.
    let from = query.prefix;
    if (query.start > from) from = query.start;
    // The state at the version of each key changed since then: undefined where it did not exist.
    const past = new Map<string, StoredObject | undefined>();
    if (query.resourceVersion < this.#resourceVersion) {
      const history = this.#historyOf(resource);
      for (let index = history.length - 1; index >= 0; index--) {
        const change = history[index] as Change;
        if (change.resourceVersion <= query.resourceVersion) break;
        if (change.resource === resource) past.set(change.key, change.previous);
      }
    }
    const inRange = (key: string) => key >= from && key.startsWith(query.prefix);
    const changed = [...past.keys()].filter(inRange).sort(compareKeys);
    const at = (key: string) => (past.has(key) ? past.get(key) : current.get(key));

    const items: { key: string; object: StoredObject }[] = [];
    let more = false;
    let index = lowerBound(keys, from);
    let next = 0;
    let lastKey: string | undefined;
    for (;;) {
      // Merge the current keys with the keys changed since the version, in key order, once each.
      const live = index < keys.length && keys[index]?.startsWith(query.prefix) ? keys[index] : undefined;
      const old = changed[next];
      let key: string;
      if (live !== undefined && (old === undefined || compareKeys(live, old) <= 0)) {
        key = live;
        index += 1;
        if (old === live) next += 1;
      } else if (old !== undefined) {
        key = old;
        next += 1;
      } else {
        break;
      }
      const object = at(key);
      if (object === undefined) continue;
      this.#visited += 1;
      if (query.filter !== undefined && !query.filter(object)) continue;
      if (query.limit > 0 && items.length === query.limit) {
        more = true;
        break;
      }
      items.push({ key, object });
      lastKey = key;
    }
    let remaining: number | undefined;
    if (more && query.filter === undefined && lastKey !== undefined) {
      remaining = this.#countAfter(resource, lastKey, query.prefix, past);
    }
    return { items, more, remaining };
  }

  /** Objects after `key` under `prefix` at the version `past` describes, by binary search. */
  #countAfter(
    resource: StoredResource,
    key: string,
    prefix: string,
    past: ReadonlyMap<string, StoredObject | undefined>,
  ): number {
    const keys = this.#keys[resource];
    const first = lowerBound(keys, `${key}\u0000`);
    const end = partitionPoint(keys, (candidate) => candidate < prefix || candidate.startsWith(prefix));
    let count = Math.max(0, end - first);
    for (const [changed, then] of past) {
      if (!(changed > key && changed.startsWith(prefix))) continue;
      const now = this.#objects[resource].has(changed);
      if (then !== undefined && !now) count += 1;
      if (then === undefined && now) count -= 1;
    }
    return count;
  }

  /**
   * Records a change: stamps the next resourceVersion on `object`, stores it (or removes it for DELETED),
   * appends to the history and tells every listener, synchronously and in order.
   */
  commit(resource: StoredResource, type: Change['type'], key: string, object: StoredObject): StoredObject {
    const previous = this.#objects[resource].get(key);
    const resourceVersion = ++this.#resourceVersion;
    const stamped = structuredClone(object);
    stamped.metadata = { ...stamped.metadata, resourceVersion: String(resourceVersion) };
    if (type === 'DELETED') {
      if (this.#objects[resource].delete(key))
        this.#keys[resource].splice(lowerBound(this.#keys[resource], key), 1);
    } else {
      if (previous === undefined) this.#keys[resource].splice(lowerBound(this.#keys[resource], key), 0, key);
      this.#objects[resource].set(key, stamped);
    }
    const change: Change = { resourceVersion, resource, type, key, object: stamped, previous };
    if (OWN_HISTORY.has(resource)) {
      const history = this.#ownHistory.get(resource) ?? [];
      this.#ownHistory.set(resource, history);
      history.push(change);
      while (history.length > this.#historySize) {
        const dropped = history.shift() as Change;
        this.#ownCompactedThrough.set(resource, dropped.resourceVersion);
      }
    } else {
      this.#history.push(change);
      while (this.#history.length > this.#historySize) {
        const dropped = this.#history.shift() as Change;
        this.#compactedThrough = dropped.resourceVersion;
      }
    }
    for (const listener of this.#listeners) listener(change);
    return stamped;
  }

  /** Forgets every change: all resourceVersions before now expire. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedThrough = this.#resourceVersion;
    this.#ownHistory.clear();
    this.#ownCompactedThrough.clear();
  }

  /** A deep copy of the objects and the resourceVersion counter (not the history). */
  state(): StoreState {
    return { resourceVersion: this.#resourceVersion, objects: copyObjects(this.#objects) };
  }

  /**
   * Puts the objects and the counter back as `state` holds them and forgets every change, as a store
   * restored from a backup does: versions after `state.resourceVersion` are handed out again, versions
   * before it are expired, and listeners hear nothing (a restore is not a change).
   */
  restore(state: StoreState): void {
    this.#objects = copyObjects(state.objects);
    this.#keys = {
      namespaces: [...this.#objects.namespaces.keys()].sort(compareKeys),
      pods: [...this.#objects.pods.keys()].sort(compareKeys),
      events: [...this.#objects.events.keys()].sort(compareKeys),
      nodes: [...this.#objects.nodes.keys()].sort(compareKeys),
      leases: [...this.#objects.leases.keys()].sort(compareKeys),
    };
    this.#resourceVersion = state.resourceVersion;
    this.#history.length = 0;
    this.#compactedThrough = state.resourceVersion;
    this.#ownHistory.clear();
    this.#ownCompactedThrough.clear();
  }

  /**
   * Changes after `resourceVersion`, oldest first: of the shared history, or of `resource`'s own. The
   * caller checks that it is still servable.
   */
  changesAfter(resourceVersion: number, resource?: StoredResource): Change[] {
    const history = resource === undefined ? this.#history : this.#historyOf(resource);
    return history.filter((change) => change.resourceVersion > resourceVersion);
  }

  /**
   * The objects of a resource as they were at `resourceVersion`, in key order, rebuilt by undoing the
   * later changes. The caller checks that `resourceVersion` is still servable.
   */
  snapshot(resource: StoredResource, resourceVersion: number): StoredObject[] {
    if (resourceVersion >= this.#resourceVersion) return this.values(resource);
    return this.page(resource, { resourceVersion, prefix: '', start: '', limit: 0 }).items.map(
      ({ object }) => object,
    );
  }

  /** Subscribes to every committed change; returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The first index of sorted `keys` whose key is not before `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  return partitionPoint(keys, (candidate) => candidate < key);
}

/** The first index of `keys` where `before` is false; `before` holds for a prefix of `keys`. */
function partitionPoint(keys: readonly string[], before: (key: string) => boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(keys[middle] as string)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Byte-wise key order, as etcd sorts keys. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `T` with every `readonly` removed, deeply: the Kubernetes types are read-only, the store edits copies. */
export type DeepWritable<T> = T extends readonly (infer U)[]
  ? DeepWritable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepWritable<T[K]> }
    : T;

/** A pod the store is building or editing. */
export type MutablePod = DeepWritable<Pod>;
