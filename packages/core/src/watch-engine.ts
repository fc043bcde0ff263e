import type { BackoffOptions } from './backoff.js';
import { type Clock, delay, nextTurn, type TimerHandle } from './clock.js';
import { isAbortError, KubernetesError, PodStorageError } from './errors.js';
import type { ObjectMeta } from './kubernetes.js';
import type { Logger } from './logger.js';
import { ObjectStore, RESOURCE_SHAPES } from './object-store.js';
import { listPages } from './pager.js';
import { classifyFailure, type StreamEnding, WatchRetryPolicy } from './retry-policy.js';
import { type FieldSelector, formatFieldSelector } from './selectors.js';
import type { PodTransport, ResourceName, ResourceTypes } from './transport.js';

/** Counters the engine keeps, for tests, benchmarks and metrics. All are totals except `watchesActive`. */
export interface WatchCounters {
  /** Watch requests started. */
  watchesOpened: number;
  /** Watch requests open right now. */
  watchesActive: number;
  /** List requests (pages) sent. */
  lists: number;
  /** Watches reopened from the last resourceVersion seen, without a relist. */
  resumes: number;
  /** Full relists after the first one (after 410 Expired). */
  relists: number;
  /** Streams closed because nothing arrived for `inactivityTimeoutMs`. */
  stalls: number;
  /** Watch events received, bookmarks included. */
  events: number;
  /** Waits before retrying after an error (backoff). */
  retries: number;
  /** Reads of a single pod (GETs) sent by waits and eventsForPod; many at once share a list instead. */
  reads: number;
}

/** A change to the set of objects a shared watch holds. */
export interface StoreChange<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /**
   * The object after the change; for DELETED, the last state the watch knew. A DELETED the engine
   * infers (the object was missing from a relist, or another object took its name) carries the older
   * state it held: a deletion is news whatever the version of the object it carries.
   */
  readonly object: T;
}

/**
 * What a consumer's first view says besides the objects: whether it is fresh (see
 * {@link WatchSubscription.fresh}), and the objects about one key (see {@link SubscribeOptions.key}).
 */
export interface SyncView<T> {
  readonly fresh: boolean;
  /** The objects held whose route key is `key`: the pod of that name, or the events about it. */
  related(key: string): T[];
}

/**
 * A consumer of a shared watch. `onSync` is called once, with the objects known when the consumer
 * joins (synchronously, inside `subscribe`, if the watch is synced) or when the first list completes,
 * and every change after that follows through `onChange`: together they are one consistent view of
 * the watch. That view may lag behind what the consumer knows (a pod it created a moment ago): see
 * {@link WatchSubscription.fresh} and `followObject`, which makes a lagging view safe to decide from.
 *
 * The objects the watch holds (in `onSync` and `get`) are slim: identity, version, phase or message,
 * what the engine decides from. The objects of changes are whole, as the server sent them, except for
 * a deletion the engine infers, which carries the slim state it held.
 */
export interface WatchSubscriber<T> {
  onSync(objects: ReadonlyMap<string, T>, view: SyncView<T>): void;
  onChange(change: StoreChange<T>): void;
  /**
   * The watch listed afresh after losing its place (410, too large a version, a second silent stall),
   * and has reported every difference it could see. An object that came and went inside the gap is in
   * neither view, so no change tells of it: a consumer that knows of such an object (it read it) must
   * look again.
   */
  onRelist?(): void;
  /** The watch failed for good (a non-retryable error, or the storage was closed). */
  onError(error: unknown): void;
}

/** How a consumer joins a shared watch. */
export interface SubscribeOptions {
  /**
   * Only changes about this key reach the consumer: a pod's name (for pods), or the name of the object
   * events are about (for events). Absent: every change of the watch. Keyed consumers cost nothing per
   * change of other objects, so 10,000 waits on one watch get one callback per change, not 10,000.
   */
  readonly key?: string;
}

/** A consumer's place in a shared watch. */
export interface WatchSubscription<T> {
  /**
   * True when this consumer's first view will come from a list sent after it joined, so it is at least
   * as new as anything the consumer knew before joining. False when it joined a watch that had already
   * started listing: its view may lag.
   */
  readonly fresh: boolean;
  /** The object the watch holds now under `name` (its latest state), if any. */
  get(name: string): T | undefined;
  /** Leaves the watch; the watch stops when its last consumer leaves. Idempotent. */
  close(): void;
}

/** The engine's settings, resolved from `PodStorageOptions`. */
export interface WatchEngineSettings {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  readonly inactivityTimeoutMs: number;
  readonly watchTimeoutSeconds: { readonly min: number; readonly max: number };
  readonly backoff: BackoffOptions;
}

type KubernetesObject = { metadata?: ObjectMeta };

/** How one watch request ended. `broken`: it failed or broke with `error`. */
type Attempt =
  | StreamEnding
  | (Omit<StreamEnding, 'outcome'> & { readonly outcome: 'broken'; readonly error: unknown });

const uidOf = (object: KubernetesObject | undefined) => object?.metadata?.uid;
const versionOf = (object: KubernetesObject | undefined) => object?.metadata?.resourceVersion;

/**
 * One list-then-watch of a (resource, namespace, field selector), shared by all its consumers: an
 * informer. It keeps the objects it has seen, resumes from the last resourceVersion after a stream ends,
 * breaks or stalls, relists and reports the differences after 410 or a lost history, and stops as soon
 * as its last consumer leaves. When to retry is {@link WatchRetryPolicy}'s decision, paging is
 * {@link listPages}'.
 */
class SharedWatch<R extends ResourceName> implements SubscribedWatch<ResourceTypes[R]> {
  readonly #engine: WatchEngine;
  readonly #transport: PodTransport;
  readonly #settings: WatchEngineSettings;
  readonly #counters: WatchCounters;
  readonly #resource: R;
  readonly #namespace: string;
  readonly #fieldSelector: FieldSelector | undefined;
  readonly #description: string;
  // Each consumer and its place (whether its first view is fresh, its key).
  readonly #subscribers = new Map<WatchSubscriber<ResourceTypes[R]>, Subscription<ResourceTypes[R]>>();
  // Consumers of every change, and consumers by key (one alone, the common case, or a set of them): a
  // change reaches only those that want it.
  readonly #everything = new Set<WatchSubscriber<ResourceTypes[R]>>();
  readonly #byKey = new Map<
    string,
    WatchSubscriber<ResourceTypes[R]> | Set<WatchSubscriber<ResourceTypes[R]>>
  >();
  readonly #controller = new AbortController();
  readonly #store: ObjectStore<ResourceTypes[R]>;
  readonly #routeKey: (object: KubernetesObject) => string | undefined;
  #resourceVersion = '';
  #synced = false;
  #listsStarted = 0;
  #freshFromList = false;
  #running: Promise<void> | undefined;

  constructor(engine: WatchEngine, resource: R, namespace: string, fieldSelector: FieldSelector | undefined) {
    this.#engine = engine;
    this.#transport = engine.transport;
    this.#settings = engine.settings;
    this.#counters = engine.mutableCounters;
    this.#resource = resource;
    this.#namespace = namespace;
    this.#fieldSelector = fieldSelector;
    const selector = formatFieldSelector(fieldSelector);
    this.#description = `${resource} in ${namespace}${selector ? ` where ${selector}` : ''}`;
    const shape = RESOURCE_SHAPES[resource];
    this.#store = new ObjectStore(shape, resource !== 'pods');
    this.#routeKey = shape.routeKey as (object: KubernetesObject) => string | undefined;
  }

  /** How many objects the watch holds now. */
  get size(): number {
    return this.#store.size;
  }

  /** True once the first list has completed. */
  get synced(): boolean {
    return this.#synced;
  }

  get running(): Promise<void> | undefined {
    return this.#running;
  }

  subscribe(
    subscriber: WatchSubscriber<ResourceTypes[R]>,
    options: SubscribeOptions = {},
  ): WatchSubscription<ResourceTypes[R]> {
    const subscription = new Subscription(this, subscriber, this.#listsStarted === 0, options.key);
    this.#subscribers.set(subscriber, subscription);
    this.#index(subscriber, options.key);
    if (this.#synced) subscriber.onSync(this.#store.objects, this.#view(false));
    // onSync may have closed the subscription already (the consumer had all it needed).
    if (this.#subscribers.get(subscriber) === subscription) this.#running ??= this.#run();
    return subscription;
  }

  /** The object the watch holds now under `name`. */
  held(name: string): ResourceTypes[R] | undefined {
    return this.#store.get(name);
  }

  /** A consumer leaves (see {@link Subscription.close}). */
  leave(subscription: Subscription<ResourceTypes[R]>): void {
    const { subscriber, key } = subscription;
    if (this.#subscribers.get(subscriber) !== subscription) return;
    this.#subscribers.delete(subscriber);
    this.#unindex(subscriber, key);
    if (this.#subscribers.size === 0) this.stop();
  }

  #view(fresh: boolean): SyncView<ResourceTypes[R]> {
    return { fresh, related: (key) => this.#store.related(key) };
  }

  #index(subscriber: WatchSubscriber<ResourceTypes[R]>, key: string | undefined): void {
    if (key === undefined) {
      this.#everything.add(subscriber);
      return;
    }
    const held = this.#byKey.get(key);
    if (held === undefined) this.#byKey.set(key, subscriber);
    else if (held instanceof Set) held.add(subscriber);
    else this.#byKey.set(key, new Set([held, subscriber]));
  }

  #unindex(subscriber: WatchSubscriber<ResourceTypes[R]>, key: string | undefined): void {
    if (key === undefined) {
      this.#everything.delete(subscriber);
      return;
    }
    const held = this.#byKey.get(key);
    if (held === subscriber) this.#byKey.delete(key);
    else if (held instanceof Set) {
      held.delete(subscriber);
      if (held.size === 0) this.#byKey.delete(key);
    }
  }

  /** Stops the watch and fails its consumers with `error`. */
  fail(error: unknown): void {
    const subscribers = [...this.#subscribers.keys()];
    this.#subscribers.clear();
    this.#everything.clear();
    this.#byKey.clear();
    this.stop();
    for (const subscriber of subscribers) subscriber.onError(error);
  }

  stop(): void {
    this.#engine.forget(this);
    this.#controller.abort(new DOMException(`watch of ${this.#description} stopped`, 'AbortError'));
  }

  async #run(): Promise<void> {
    const { clock, logger } = this.#settings;
    const signal = this.#controller.signal;
    const policy = new WatchRetryPolicy(this.#settings.backoff, this.#settings.random);
    let needList = true;
    // The first list goes out on the next turn: every consumer that joins in the same burst (10,000
    // waits started in one loop) is then fresh, its first view from a list sent after it joined, and
    // needs no read of its own.
    await new Promise<void>((resolve) => nextTurn(resolve));
    while (!signal.aborted) {
      let attempt: Attempt;
      if (needList) {
        try {
          await this.#list(signal);
          needList = false;
        } catch (error) {
          attempt = { outcome: 'broken', error, lastedMs: 0, progressed: false };
        }
        // The consumers may have had all they needed from the list.
        if (signal.aborted) break;
      }
      attempt ??= await this.#watchOnce(signal);
      if (signal.aborted) break;
      let wait: number;
      if (attempt.outcome === 'broken') {
        const { error } = attempt;
        const decision = classifyFailure(error);
        logger.warn({ watch: this.#description, err: error, decision }, 'watch request failed');
        if (decision === 'fail') {
          logger.error({ watch: this.#description, err: error }, 'watch failed');
          this.fail(error);
          break;
        }
        if (decision === 'refresh-credentials') {
          if (!(await this.#refreshCredentials(policy, error, signal))) break;
          continue;
        }
        if (decision === 'relist') needList = true;
        wait = policy.afterError(decision, error, attempt.lastedMs, attempt.progressed);
      } else {
        logger.debug({ watch: this.#description, ...attempt }, 'watch stream ended');
        if (attempt.outcome === 'expired' || policy.shouldRelistAfter(attempt)) needList = true;
        wait = policy.afterStream(attempt);
        if (wait > 0 && attempt.outcome === 'closed') {
          logger.warn({ watch: this.#description }, 'watch stream ended at once with nothing sent');
        }
      }
      if (wait === 0) continue;
      this.#counters.retries += 1;
      logger.debug({ watch: this.#description, waitMs: wait }, 'backing off');
      try {
        await delay(clock, wait, signal);
      } catch {
        break;
      }
    }
  }

  /** Refreshes credentials after a 401, once per working period; false when the watch failed instead. */
  async #refreshCredentials(policy: WatchRetryPolicy, error: unknown, signal: AbortSignal): Promise<boolean> {
    const refresh = this.#transport.refreshCredentials;
    if (refresh === undefined || !policy.mayRefreshCredentials()) {
      this.fail(error);
      return false;
    }
    this.#settings.logger.info(
      { watch: this.#description },
      'credentials rejected (401): refreshing them once',
    );
    try {
      await refresh.call(this.#transport, { signal });
      return true;
    } catch (refreshError) {
      if (!signal.aborted) this.fail(refreshError);
      return false;
    }
  }

  /**
   * Lists every page and reports what differs from what was known (nothing on the first list). Each
   * page is taken into the store as it arrives and then dropped: the store keeps only slim objects, in
   * place, so a relist of 50,000 pods never holds the whole list nor a second store. Changes are reported
   * page by page, with whole objects; deletions (names no page had) once the last page is in.
   */
  async #list(signal: AbortSignal): Promise<void> {
    this.#listsStarted += 1;
    const relist = this.#synced;
    let listed = new Set<string>();
    let counted = false;
    const resourceVersion = await listPages(
      { ...this.#settings, transport: this.#transport, onRequest: () => (this.#counters.lists += 1) },
      this.#resource,
      this.#namespace,
      this.#fieldSelector,
      signal,
      (items, { restarted }) => {
        // A full list after an expired continue token supersedes the pages taken so far.
        if (restarted) listed = new Set();
        if (signal.aborted) return;
        // Counted as the relist is answered, before its changes: a consumer they satisfy may stop the
        // watch before the last page is in.
        if (relist && !counted) {
          counted = true;
          this.#counters.relists += 1;
        }
        for (const item of items) {
          const name = (item as KubernetesObject).metadata?.name;
          if (name === undefined) continue;
          listed.add(name);
          this.#take(name, item, relist);
        }
      },
    );
    signal.throwIfAborted();
    for (const [name, before] of [...this.#store.objects]) {
      if (listed.has(name)) continue;
      this.#store.delete(name);
      if (relist) this.#emit({ type: 'DELETED', object: before });
    }
    this.#resourceVersion = resourceVersion;
    this.#freshFromList = true;
    if (relist) {
      for (const subscriber of [...this.#subscribers.keys()]) {
        if (this.#subscribers.has(subscriber)) subscriber.onRelist?.();
      }
      return;
    }
    this.#synced = true;
    for (const [subscriber, { fresh }] of [...this.#subscribers]) {
      if (this.#subscribers.has(subscriber)) subscriber.onSync(this.#store.objects, this.#view(fresh));
    }
  }

  /** Takes one listed object into the store; on a relist, reports how it differs from what was held. */
  #take(name: string, object: ResourceTypes[R], report: boolean): void {
    const before = this.#store.get(name);
    const sameObject = before !== undefined && uidOf(before) === uidOf(object as KubernetesObject);
    if (sameObject && versionOf(before) === versionOf(object as KubernetesObject)) return;
    this.#store.set(name, object);
    if (!report) return;
    // Same name, new uid: the old pod is gone, and was deleted before the new one was added.
    if (before !== undefined && !sameObject) this.#emit({ type: 'DELETED', object: before });
    this.#emit({ type: sameObject ? 'MODIFIED' : 'ADDED', object });
  }

  /** One watch request, from the last resourceVersion seen, until it ends, expires, stalls or breaks. */
  async #watchOnce(signal: AbortSignal): Promise<Attempt> {
    const { clock, inactivityTimeoutMs, watchTimeoutSeconds, random } = this.#settings;
    const stream = new AbortController();
    const abortStream = () => stream.abort(signal.reason);
    signal.addEventListener('abort', abortStream, { once: true });
    let stalled = false;
    let inactivity: TimerHandle | undefined;
    let lastActivity = clock.now();
    // Every byte or event re-arms the timer: a quiet stream that still sends keep-alives is healthy.
    const markActivity = () => {
      lastActivity = clock.now();
      if (inactivity !== undefined) clock.clearTimeout(inactivity);
      inactivity = clock.setTimeout(() => {
        stalled = true;
        inactivity = undefined;
        stream.abort(new DOMException(`no data for ${inactivityTimeoutMs} ms`, 'TimeoutError'));
      }, inactivityTimeoutMs);
    };
    markActivity();
    if (!this.#freshFromList) this.#counters.resumes += 1;
    this.#freshFromList = false;
    this.#counters.watchesOpened += 1;
    this.#counters.watchesActive += 1;
    // When the response headers came: a request refused after a while (a 503 after 2 s) never had a
    // stream and must back off like any failure, not pass for a working connection.
    let opened: number | undefined;
    const startVersion = this.#resourceVersion;
    // A stalled stream was alive only until the last thing it sent: a server that accepts watches and
    // then says nothing must not count as healthy for the inactivity timeout it made us wait.
    const ending = (outcome: StreamEnding['outcome']): StreamEnding => ({
      outcome,
      lastedMs:
        opened === undefined ? 0 : Math.max(0, (outcome === 'stalled' ? lastActivity : clock.now()) - opened),
      progressed: this.#resourceVersion !== startVersion,
    });
    try {
      const timeoutSeconds = Math.round(
        watchTimeoutSeconds.min + (watchTimeoutSeconds.max - watchTimeoutSeconds.min) * random(),
      );
      const watch = await this.#transport.watch(this.#resource, this.#namespace, {
        fieldSelector: this.#fieldSelector,
        resourceVersion: this.#resourceVersion || undefined,
        allowWatchBookmarks: true,
        timeoutSeconds,
        signal: stream.signal,
        onActivity: markActivity,
      });
      opened = clock.now();
      markActivity();
      for await (const event of watch) {
        markActivity();
        this.#counters.events += 1;
        if (event.type === 'ERROR') {
          const error = KubernetesError.fromStatus(event.object, {
            operation: `watch ${this.#resource}`,
            namespace: this.#namespace,
          });
          // An expired or unknown resourceVersion ends the stream: relist. Anything else is an error.
          if (classifyFailure(error) === 'relist') return ending('expired');
          return { ...ending('closed'), outcome: 'broken', error };
        }
        if (event.type === 'BOOKMARK') {
          this.#resourceVersion = event.object.metadata.resourceVersion || this.#resourceVersion;
          continue;
        }
        this.#apply(event.type, event.object);
      }
      return ending(stalled ? 'stalled' : 'closed');
    } catch (error) {
      if (stalled && !signal.aborted) return ending('stalled');
      if (isAbortError(error) && !signal.aborted) {
        const aborted = new PodStorageError(`watch of ${this.#description} was aborted by the transport`, {
          cause: error,
          retryable: true,
        });
        return { ...ending('closed'), outcome: 'broken', error: aborted };
      }
      return { ...ending('closed'), outcome: 'broken', error };
    } finally {
      if (stalled) this.#counters.stalls += 1;
      if (inactivity !== undefined) clock.clearTimeout(inactivity);
      signal.removeEventListener('abort', abortStream);
      stream.abort(new DOMException('watch stream no longer needed', 'AbortError'));
      this.#counters.watchesActive -= 1;
    }
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: ResourceTypes[R]): void {
    const name = (object as KubernetesObject).metadata?.name;
    const version = versionOf(object as KubernetesObject);
    if (version) this.#resourceVersion = version;
    if (name === undefined) return;
    let before = this.#store.get(name);
    const sameObject = before !== undefined && uidOf(before) === uidOf(object as KubernetesObject);
    if (type === 'DELETED') {
      // A deletion of an incarnation we no longer hold is old news.
      if (!sameObject) return;
      this.#store.delete(name);
      this.#emit({ type: 'DELETED', object });
      return;
    }
    if (before !== undefined && !sameObject) {
      // Same name, new uid: the old pod is gone even if its DELETED event never reached us.
      this.#store.delete(name);
      this.#emit({ type: 'DELETED', object: before });
      before = undefined;
    }
    if (before !== undefined && versionOf(before) === version) return; // already seen this version
    this.#store.set(name, object);
    this.#emit({ type: before === undefined ? 'ADDED' : 'MODIFIED', object });
  }

  /** Hands `change` to the consumers of every change and to those of its key, and to no one else. */
  #emit(change: StoreChange<ResourceTypes[R]>): void {
    const key = this.#routeKey(change.object as KubernetesObject);
    const keyed = key === undefined ? undefined : this.#byKey.get(key);
    // A copy, so a consumer that leaves (or makes another leave) inside onChange changes nothing here.
    // A consumer has one key or none, so the two groups never overlap.
    const targets = this.#everything.size === 0 ? [] : [...this.#everything];
    if (keyed instanceof Set) targets.push(...keyed);
    else if (keyed !== undefined) targets.push(keyed);
    for (const subscriber of targets) {
      if (this.#subscribers.has(subscriber)) subscriber.onChange(change);
    }
  }
}

/** What a {@link Subscription} asks of its watch. */
interface SubscribedWatch<T> {
  held(name: string): T | undefined;
  leave(subscription: Subscription<T>): void;
}

/** A consumer's place in a {@link SharedWatch}: a class, as 10,000 waits each hold one. */
class Subscription<T> implements WatchSubscription<T> {
  readonly #watch: SubscribedWatch<T>;
  readonly subscriber: WatchSubscriber<T>;
  readonly fresh: boolean;
  readonly key: string | undefined;

  constructor(
    watch: SubscribedWatch<T>,
    subscriber: WatchSubscriber<T>,
    fresh: boolean,
    key: string | undefined,
  ) {
    this.#watch = watch;
    this.subscriber = subscriber;
    this.fresh = fresh;
    this.key = key;
  }

  get(name: string): T | undefined {
    return this.#watch.held(name);
  }

  close(): void {
    this.#watch.leave(this);
  }
}

/**
 * Owns the shared watches of one `PodStorage`: at most one per (resource, namespace, field selector),
 * created when the first consumer subscribes and stopped when the last one leaves.
 */
export class WatchEngine {
  readonly transport: PodTransport;
  readonly settings: WatchEngineSettings;
  /** Mutable counters, written by the shared watches. Read a copy through {@link WatchEngine.counters}. */
  readonly mutableCounters: WatchCounters = {
    watchesOpened: 0,
    watchesActive: 0,
    lists: 0,
    resumes: 0,
    relists: 0,
    stalls: 0,
    events: 0,
    retries: 0,
    reads: 0,
  };
  readonly #watches = new Map<string, SharedWatch<ResourceName>>();
  readonly #running = new Set<Promise<void>>();
  #closedReason: { readonly reason: unknown } | undefined;

  constructor(transport: PodTransport, settings: WatchEngineSettings) {
    this.transport = transport;
    this.settings = settings;
  }

  /** Joins (or starts) the shared watch of `resource` in `namespace` matching `fieldSelector`. */
  subscribe<R extends ResourceName>(
    resource: R,
    namespace: string,
    fieldSelector: FieldSelector | undefined,
    subscriber: WatchSubscriber<ResourceTypes[R]>,
    options: SubscribeOptions = {},
  ): WatchSubscription<ResourceTypes[R]> {
    // A closed engine opens nothing: not even the first list.
    if (this.#closedReason !== undefined) throw this.#closedReason.reason;
    const key = watchKey(resource, namespace, fieldSelector);
    let watch = this.#watches.get(key) as SharedWatch<R> | undefined;
    if (watch === undefined) {
      watch = new SharedWatch(this, resource, namespace, fieldSelector);
      this.#watches.set(key, watch as unknown as SharedWatch<ResourceName>);
    }
    const subscription = watch.subscribe(subscriber, options);
    const running = watch.running;
    if (running !== undefined && !this.#running.has(running)) {
      this.#running.add(running);
      void running.finally(() => this.#running.delete(running));
    }
    return subscription;
  }

  /**
   * How many objects the shared watch for exactly this key holds, once it has listed; `undefined` when
   * there is no such watch or it has not listed yet.
   */
  heldBy(
    resource: ResourceName,
    namespace: string,
    fieldSelector: FieldSelector | undefined,
  ): number | undefined {
    const watch = this.#watches.get(watchKey(resource, namespace, fieldSelector));
    return watch?.synced ? watch.size : undefined;
  }

  /** True while a shared watch for exactly this key is running. */
  isWatching(resource: ResourceName, namespace: string, fieldSelector: FieldSelector | undefined): boolean {
    return this.#watches.has(watchKey(resource, namespace, fieldSelector));
  }

  /** Called by a shared watch when it stops, so the next consumer starts a fresh one. */
  forget(watch: SharedWatch<ResourceName>): void {
    for (const [key, candidate] of this.#watches) if (candidate === watch) this.#watches.delete(key);
  }

  counters(): WatchCounters {
    return { ...this.mutableCounters };
  }

  /** Stops every watch, failing its consumers with `reason`, and waits until all have wound down. */
  async close(reason: unknown): Promise<void> {
    this.#closedReason ??= { reason };
    for (const watch of [...this.#watches.values()]) watch.fail(reason);
    await Promise.allSettled([...this.#running]);
  }
}

function watchKey(
  resource: ResourceName,
  namespace: string,
  fieldSelector: FieldSelector | undefined,
): string {
  return `${resource}\u0000${namespace}\u0000${formatFieldSelector(fieldSelector)}`;
}
