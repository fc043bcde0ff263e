import type { KubernetesEvent, ObjectMeta, Pod } from '@podstorage/core';
import { badRequest } from './status.js';

/** The kinds of object the fake cluster keeps. */
export type StoredResource = 'namespaces' | 'pods' | 'events' | 'nodes';

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
  };
  readonly #history: Change[] = [];
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

  /** The live object (not a copy; callers copy before handing it out). */
  get(resource: StoredResource, key: string): StoredObject | undefined {
    return this.#objects[resource].get(key);
  }

  /** Live objects of a resource, in key order. */
  values(resource: StoredResource): StoredObject[] {
    return [...this.#objects[resource].entries()]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([, object]) => object);
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
    if (type === 'DELETED') this.#objects[resource].delete(key);
    else this.#objects[resource].set(key, stamped);
    const change: Change = { resourceVersion, resource, type, key, object: stamped, previous };
    this.#history.push(change);
    while (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift() as Change;
      this.#compactedThrough = dropped.resourceVersion;
    }
    for (const listener of this.#listeners) listener(change);
    return stamped;
  }

  /** Forgets every change: all resourceVersions before now expire. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedThrough = this.#resourceVersion;
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
    this.#resourceVersion = state.resourceVersion;
    this.#history.length = 0;
    this.#compactedThrough = state.resourceVersion;
  }

  /** Changes after `resourceVersion`, oldest first. The caller checks that it is still servable. */
  changesAfter(resourceVersion: number): Change[] {
    return this.#history.filter((change) => change.resourceVersion > resourceVersion);
  }

  /**
   * The objects of a resource as they were at `resourceVersion`, in key order, rebuilt by undoing the
   * later changes. The caller checks that `resourceVersion` is still servable.
   */
  snapshot(resource: StoredResource, resourceVersion: number): StoredObject[] {
    if (resourceVersion >= this.#resourceVersion) return this.values(resource);
    const state = new Map(this.#objects[resource]);
    for (let index = this.#history.length - 1; index >= 0; index--) {
      const change = this.#history[index] as Change;
      if (change.resourceVersion <= resourceVersion) break;
      if (change.resource !== resource) continue;
      if (change.previous === undefined) state.delete(change.key);
      else state.set(change.key, change.previous);
    }
    return [...state.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, object]) => object);
  }

  /** Subscribes to every committed change; returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
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
