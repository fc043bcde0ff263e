import type { BackoffOptions } from './backoff.js';
import { type Clock, delay, type TimerHandle } from './clock.js';
import { isAbortError, KubernetesError, PodStorageError } from './errors.js';
import type { ObjectMeta } from './kubernetes.js';
import type { Logger } from './logger.js';
import { listAllPages } from './pager.js';
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
 * A consumer of a shared watch. `onSync` is called once, with the objects known when the consumer
 * joins (synchronously, inside `subscribe`, if the watch is synced) or when the first list completes,
 * and every change after that follows through `onChange`: together they are one consistent view of
 * the watch. That view may lag behind what the consumer knows (a pod it created a moment ago): see
 * {@link WatchSubscription.fresh} and `followObject`, which makes a lagging view safe to decide from.
 */
export interface WatchSubscriber<T> {
  onSync(objects: ReadonlyMap<string, T>, view: { readonly fresh: boolean }): void;
  onChange(change: StoreChange<T>): void;
  /** The watch failed for good (a non-retryable error, or the storage was closed). */
  onError(error: unknown): void;
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
 * {@link listAllPages}'.
 */
class SharedWatch<R extends ResourceName> {
  readonly #engine: WatchEngine;
  readonly #transport: PodTransport;
  readonly #settings: WatchEngineSettings;
  readonly #counters: WatchCounters;
  readonly #resource: R;
  readonly #namespace: string;
  readonly #fieldSelector: FieldSelector | undefined;
  readonly #description: string;
  // Each consumer, and whether its first view is fresh (see WatchSubscription.fresh).
  readonly #subscribers = new Map<WatchSubscriber<ResourceTypes[R]>, boolean>();
  readonly #controller = new AbortController();
  #objects = new Map<string, ResourceTypes[R]>();
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
  }

  get running(): Promise<void> | undefined {
    return this.#running;
  }

  subscribe(subscriber: WatchSubscriber<ResourceTypes[R]>): WatchSubscription<ResourceTypes[R]> {
    const fresh = this.#listsStarted === 0;
    this.#subscribers.set(subscriber, fresh);
    let subscribed = true;
    const subscription: WatchSubscription<ResourceTypes[R]> = {
      fresh,
      get: (name) => this.#objects.get(name),
      close: () => {
        if (!subscribed) return;
        subscribed = false;
        if (this.#subscribers.delete(subscriber) && this.#subscribers.size === 0) this.stop();
      },
    };
    if (this.#synced) subscriber.onSync(this.#objects, { fresh: false });
    // onSync may have closed the subscription already (the consumer had all it needed).
    if (subscribed) this.#running ??= this.#run();
    return subscription;
  }

  /** Stops the watch and fails its consumers with `error`. */
  fail(error: unknown): void {
    const subscribers = [...this.#subscribers.keys()];
    this.#subscribers.clear();
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

  /** Lists every page, then reports what differs from what was known (nothing on the first list). */
  async #list(signal: AbortSignal): Promise<void> {
    this.#listsStarted += 1;
    const { objects: listed, resourceVersion } = await listAllPages(
      { ...this.#settings, transport: this.#transport, onRequest: () => (this.#counters.lists += 1) },
      this.#resource,
      this.#namespace,
      this.#fieldSelector,
      signal,
    );
    signal.throwIfAborted();

    const known = this.#objects;
    this.#objects = listed;
    this.#resourceVersion = resourceVersion;
    this.#freshFromList = true;
    if (!this.#synced) {
      this.#synced = true;
      for (const [subscriber, fresh] of [...this.#subscribers]) {
        if (this.#subscribers.has(subscriber)) subscriber.onSync(this.#objects, { fresh });
      }
      return;
    }
    this.#counters.relists += 1;
    for (const [name, before] of known) {
      const after = listed.get(name);
      if (after === undefined || uidOf(after) !== uidOf(before))
        this.#emit({ type: 'DELETED', object: before });
    }
    for (const [name, after] of listed) {
      const before = known.get(name);
      if (before === undefined || uidOf(after) !== uidOf(before))
        this.#emit({ type: 'ADDED', object: after });
      else if (versionOf(after) !== versionOf(before)) this.#emit({ type: 'MODIFIED', object: after });
    }
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
    const started = clock.now();
    const startVersion = this.#resourceVersion;
    // A stalled stream was alive only until the last thing it sent: a server that accepts watches and
    // then says nothing must not count as healthy for the inactivity timeout it made us wait.
    const ending = (outcome: StreamEnding['outcome']): StreamEnding => ({
      outcome,
      lastedMs: (outcome === 'stalled' ? lastActivity : clock.now()) - started,
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
    let before = this.#objects.get(name);
    const sameObject = before !== undefined && uidOf(before) === uidOf(object as KubernetesObject);
    if (type === 'DELETED') {
      // A deletion of an incarnation we no longer hold is old news.
      if (!sameObject) return;
      this.#objects.delete(name);
      this.#emit({ type: 'DELETED', object });
      return;
    }
    if (before !== undefined && !sameObject) {
      // Same name, new uid: the old pod is gone even if its DELETED event never reached us.
      this.#objects.delete(name);
      this.#emit({ type: 'DELETED', object: before });
      before = undefined;
    }
    if (before !== undefined && versionOf(before) === version) return; // already seen this version
    this.#objects.set(name, object);
    this.#emit({ type: before === undefined ? 'ADDED' : 'MODIFIED', object });
  }

  #emit(change: StoreChange<ResourceTypes[R]>): void {
    for (const subscriber of [...this.#subscribers.keys()]) {
      if (this.#subscribers.has(subscriber)) subscriber.onChange(change);
    }
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
  ): WatchSubscription<ResourceTypes[R]> {
    // A closed engine opens nothing: not even the first list.
    if (this.#closedReason !== undefined) throw this.#closedReason.reason;
    const key = watchKey(resource, namespace, fieldSelector);
    let watch = this.#watches.get(key) as SharedWatch<R> | undefined;
    if (watch === undefined) {
      watch = new SharedWatch(this, resource, namespace, fieldSelector);
      this.#watches.set(key, watch as unknown as SharedWatch<ResourceName>);
    }
    const subscription = watch.subscribe(subscriber);
    const running = watch.running;
    if (running !== undefined && !this.#running.has(running)) {
      this.#running.add(running);
      void running.finally(() => this.#running.delete(running));
    }
    return subscription;
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
