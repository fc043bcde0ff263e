import type { KubernetesEvent, Pod } from './kubernetes.js';
import type { ResourceName, ResourceTypes } from './transport.js';

/**
 * What a shared watch keeps of each object, and under which key a change is routed to its consumers.
 * The store holds only the fields the engine and its consumers decide from, never whole objects: a pod
 * with its spec, status and managedFields is tens of kilobytes, what a wait needs of it a few dozen bytes.
 * Consumers get whole objects from the changes themselves (watch events and relisted pages).
 */
export interface ResourceShape<T> {
  /** The part of `object` the store keeps: a valid object of the same kind, with fewer fields. */
  slim(object: T): T;
  /** The key consumers subscribe under: the object a change is about. */
  routeKey(object: T): string | undefined;
}

// The five phases as constants: a pod's slim state shares them instead of a parsed copy each.
const PHASES = new Map<string, string>(
  ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'].map((phase) => [phase, phase]),
);

/**
 * A pod as waits and relists need it: identity, version, deletion state and phase. Built as fixed
 * literals (one hidden class each, no dictionary-mode objects): at 50,000 pods every byte counts.
 */
const podShape: ResourceShape<Pod> = {
  slim(pod) {
    const source = pod.metadata;
    const phase = pod.status?.phase;
    const status = phase === undefined ? undefined : { phase: PHASES.get(phase) ?? phase };
    if (source === undefined) return status === undefined ? {} : { status };
    const metadata =
      source.deletionTimestamp === undefined
        ? { name: source.name, uid: source.uid, resourceVersion: source.resourceVersion }
        : {
            name: source.name,
            uid: source.uid,
            resourceVersion: source.resourceVersion,
            deletionTimestamp: source.deletionTimestamp,
          };
    return status === undefined ? { metadata } : { metadata, status };
  },
  routeKey: (pod) => pod.metadata?.name,
};

/**
 * An event as eventsForPod and eventObjectsForPod give it: whole (reason, type, count, series and
 * timestamps are what a caller shows), but without managedFields, which nobody here reads. Events are
 * small and few next to pods, whose slim form is what keeps a namespace-wide watch lean.
 */
const eventShape: ResourceShape<KubernetesEvent> = {
  slim(event) {
    if (event.metadata?.managedFields === undefined) return event;
    const { managedFields: _dropped, ...metadata } = event.metadata;
    return { ...event, metadata };
  },
  routeKey: (event) => event.involvedObject?.name,
};

/** The shape of each resource the engine watches. */
export const RESOURCE_SHAPES: { readonly [R in ResourceName]: ResourceShape<ResourceTypes[R]> } = {
  pods: podShape,
  events: eventShape,
};

/**
 * The objects a shared watch holds, by name, each slimmed by its resource's shape, with an index by
 * route key where that is not the name (events, by the object they are about).
 */
export class ObjectStore<T extends { metadata?: { name?: string } }> {
  readonly #shape: ResourceShape<T>;
  readonly #objects = new Map<string, T>();
  // Names by route key; absent when the route key is the name itself (pods).
  readonly #byKey: Map<string, Set<string>> | undefined;

  constructor(shape: ResourceShape<T>, indexed: boolean) {
    this.#shape = shape;
    this.#byKey = indexed ? new Map() : undefined;
  }

  /** Every object held, by name (read-only: change it through `set` and `delete`). */
  get objects(): ReadonlyMap<string, T> {
    return this.#objects;
  }

  get size(): number {
    return this.#objects.size;
  }

  get(name: string): T | undefined {
    return this.#objects.get(name);
  }

  /** Keeps the slim form of `object` under `name`. */
  set(name: string, object: T): void {
    const slim = this.#shape.slim(object);
    if (this.#byKey !== undefined) {
      const before = this.#objects.get(name);
      const beforeKey = before === undefined ? undefined : this.#shape.routeKey(before);
      const key = this.#shape.routeKey(slim);
      if (beforeKey !== key) this.#unindex(name, beforeKey);
      if (key !== undefined) {
        let names = this.#byKey.get(key);
        if (names === undefined) {
          names = new Set();
          this.#byKey.set(key, names);
        }
        names.add(name);
      }
    }
    this.#objects.set(name, slim);
  }

  delete(name: string): void {
    const before = this.#objects.get(name);
    if (before === undefined) return;
    this.#objects.delete(name);
    if (this.#byKey !== undefined) this.#unindex(name, this.#shape.routeKey(before));
  }

  /** The objects whose route key is `key`: one pod by its name, or the events about one object. */
  related(key: string): T[] {
    if (this.#byKey === undefined) {
      const object = this.#objects.get(key);
      return object === undefined ? [] : [object];
    }
    const names = this.#byKey.get(key);
    if (names === undefined) return [];
    const related: T[] = [];
    for (const name of names) {
      const object = this.#objects.get(name);
      if (object !== undefined) related.push(object);
    }
    return related;
  }

  #unindex(name: string, key: string | undefined): void {
    if (key === undefined || this.#byKey === undefined) return;
    const names = this.#byKey.get(key);
    if (names === undefined) return;
    names.delete(name);
    if (names.size === 0) this.#byKey.delete(key);
  }
}
