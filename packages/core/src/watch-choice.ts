import type { FieldSelector } from './selectors.js';
import type { ResourceTypes } from './transport.js';
import type { SubscribeOptions, WatchEngine, WatchSubscriber, WatchSubscription } from './watch-engine.js';

type Resource = 'pods' | 'events';

/** What the consumers of one resource share: the engine, how many run per namespace, the threshold. */
export interface WatchSharing {
  readonly engine: WatchEngine;
  /** Consumers running per namespace. */
  readonly running: Map<string, number>;
  /** From this many consumers in a namespace on, they share one namespace-wide watch. */
  readonly threshold: number;
}

/**
 * One consumer's claim on a watch of its object: counted among its namespace's consumers from the
 * start, and choosing between its own field-selected watch and the namespace-wide one when it
 * subscribes. A class, as 10,000 waits each hold one.
 */
export class WatchChoice<R extends Resource> {
  readonly #sharing: WatchSharing;
  readonly #resource: R;
  readonly #namespace: string;
  readonly #selector: FieldSelector;
  #released = false;

  constructor(sharing: WatchSharing, resource: R, namespace: string, selector: FieldSelector) {
    this.#sharing = sharing;
    this.#resource = resource;
    this.#namespace = namespace;
    this.#selector = selector;
    sharing.running.set(namespace, (sharing.running.get(namespace) ?? 0) + 1);
  }

  /**
   * Joins the watch. Decided now, counting every consumer running by then: waits started together (one
   * loop) all see each other and share, instead of the first few watching alone.
   */
  subscribe(
    subscriber: WatchSubscriber<ResourceTypes[R]>,
    options: SubscribeOptions,
  ): WatchSubscription<ResourceTypes[R]> {
    const { engine, running, threshold } = this.#sharing;
    const shared =
      (running.get(this.#namespace) ?? 0) >= threshold ||
      engine.isWatching(this.#resource, this.#namespace, undefined);
    return engine.subscribe(
      this.#resource,
      this.#namespace,
      shared ? undefined : this.#selector,
      subscriber,
      options,
    );
  }

  /** The consumer is done: it no longer counts. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const { running } = this.#sharing;
    const left = (running.get(this.#namespace) ?? 1) - 1;
    if (left === 0) running.delete(this.#namespace);
    else running.set(this.#namespace, left);
  }
}
