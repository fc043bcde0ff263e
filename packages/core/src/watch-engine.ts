import { Backoff, type BackoffOptions } from './backoff.js';
import { type Clock, delay, type TimerHandle } from './clock.js';
import { isAbortError, KubernetesError, PodStorageError } from './errors.js';
import type { ObjectMeta } from './kubernetes.js';
import type { Logger } from './logger.js';
import { type FieldSelector, formatFieldSelector } from './selectors.js';
import { Timeout } from './timeout.js';
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
  readonly object: T;
}

/**
 * A consumer of a shared watch. `onSync` is called once, synchronously, with the objects known at the
 * moment the consumer joins (or when the first list completes), and every change after that follows
 * through `onChange`: together they are a consistent view, never a mix of older and newer states.
 *
 * `fresh` says whether that view was listed after the consumer joined. When it was not (the consumer
 * joined a watch that was already running), the view may lag behind what the consumer knows, such as
 * a pod it has just created: read the object itself before deciding from its absence.
 */
export interface WatchSubscriber<T> {
  onSync(objects: ReadonlyMap<string, T>, view: { readonly fresh: boolean }): void;
  onChange(change: StoreChange<T>): void;
  /** The watch failed for good (a non-retryable error, or the storage was closed). */
  onError(error: unknown): void;
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

// A stream that ends this quickly having sent nothing is treated as a failure, so a server that
// closes every watch at once is retried with backoff rather than in a hot loop.
const MIN_HEALTHY_STREAM_MS = 1_000;

/** What the engine does about an error from the transport. */
type ErrorDecision = 'relist' | 'refresh-credentials' | 'retry' | 'fail';

function decide(error: unknown): ErrorDecision {
  if (!KubernetesError.isInstance(error)) {
    // A transport that knows a failure is final says so (an exec credential plugin that is not
    // installed); anything else (network reset, payload error, request timeout) is worth retrying.
    return PodStorageError.isInstance(error) && !error.retryable ? 'fail' : 'retry';
  }
  if (error.code === 410) return 'relist';
  if (error.code === 401) return 'refresh-credentials';
  if (error.code === 429 || error.code === 408 || error.code >= 500) return 'retry';
  return 'fail';
}

const uidOf = (object: KubernetesObject | undefined) => object?.metadata?.uid;
const versionOf = (object: KubernetesObject | undefined) => object?.metadata?.resourceVersion;

/**
 * One list-then-watch of a (resource, namespace, field selector), shared by all its consumers: an
 * informer. It keeps the objects it has seen, resumes from the last resourceVersion after a stream ends,
 * breaks or stalls, relists and reports the differences after 410, and stops as soon as its last consumer
 * leaves.
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
  readonly #subscribers = new Set<WatchSubscriber<ResourceTypes[R]>>();
  readonly #controller = new AbortController();
  #objects = new Map<string, ResourceTypes[R]>();
  #resourceVersion = '';
  #synced = false;
  #freshFromList = false;
  #running: Promise<void> | undefined;
  // Lists started so far, and how many had started when each consumer joined: a list started after
  // a consumer joined is fresh for it.
  #listsStarted = 0;
  readonly #joinedAfterLists = new Map<WatchSubscriber<ResourceTypes[R]>, number>();

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

  subscribe(subscriber: WatchSubscriber<ResourceTypes[R]>): () => void {
    this.#subscribers.add(subscriber);
    if (this.#synced) subscriber.onSync(this.#objects, { fresh: false });
    else this.#joinedAfterLists.set(subscriber, this.#listsStarted);
    this.#running ??= this.#run();
    return () => {
      this.#joinedAfterLists.delete(subscriber);
      if (this.#subscribers.delete(subscriber) && this.#subscribers.size === 0) this.stop();
    };
  }

  /** Stops the watch and fails its consumers with `error`. */
  fail(error: unknown): void {
    const subscribers = [...this.#subscribers];
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
    const backoff = new Backoff(this.#settings.backoff, this.#settings.random);
    let needList = true;
    let refreshedCredentials = false;
    while (!signal.aborted) {
      let retryAfterSeconds: number | undefined;
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
          // The consumers may have had all they needed from the list.
          if (signal.aborted) break;
        }
        const started = clock.now();
        const { outcome, events } = await this.#watchOnce(signal);
        refreshedCredentials = false;
        const lasted = clock.now() - started;
        if (lasted >= backoff.resetAfterMs) backoff.reset();
        logger.debug({ watch: this.#description, outcome, events, lastedMs: lasted }, 'watch stream ended');
        if (outcome === 'expired') needList = true;
        if (outcome === 'stalled' || events > 0 || lasted >= MIN_HEALTHY_STREAM_MS) continue;
        logger.warn({ watch: this.#description, outcome }, 'watch stream ended at once with nothing sent');
      } catch (error) {
        if (signal.aborted) break;
        const decision = decide(error);
        if (decision === 'fail') {
          logger.error({ watch: this.#description, err: error }, 'watch failed');
          this.fail(error);
          break;
        }
        if (decision === 'refresh-credentials') {
          const refresh = this.#transport.refreshCredentials;
          if (refresh === undefined || refreshedCredentials) {
            this.fail(error);
            break;
          }
          refreshedCredentials = true;
          logger.info({ watch: this.#description }, 'credentials rejected (401): refreshing them once');
          try {
            await refresh.call(this.#transport, { signal });
          } catch (refreshError) {
            if (!signal.aborted) this.fail(refreshError);
            break;
          }
          continue;
        }
        if (decision === 'relist') needList = true;
        if (KubernetesError.isInstance(error)) retryAfterSeconds = error.retryAfterSeconds;
        logger.warn({ watch: this.#description, err: error, decision }, 'watch request failed');
        // The first 410 is normal (history moved on): relist at once. Repeated ones back off like errors.
        if (decision === 'relist' && backoff.failures === 0) {
          backoff.next();
          continue;
        }
      }
      if (signal.aborted) break;
      this.#counters.retries += 1;
      const wait = backoff.next(retryAfterSeconds);
      logger.debug({ watch: this.#description, waitMs: wait }, 'backing off');
      try {
        await delay(clock, wait, signal);
      } catch {
        break;
      }
    }
  }

  /** Lists every page, then reports what differs from what was known (nothing on the first list). */
  async #list(signal: AbortSignal): Promise<void> {
    const listed = new Map<string, ResourceTypes[R]>();
    this.#listsStarted += 1;
    const listNumber = this.#listsStarted;
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      this.#counters.lists += 1;
      const requestTimeout = new Timeout(`list ${this.#description}`, this.#settings.requestTimeoutMs, {
        clock: this.#settings.clock,
      });
      try {
        const page = await this.#transport.list(this.#resource, this.#namespace, {
          fieldSelector: this.#fieldSelector,
          limit: this.#settings.pageSize,
          continue: continueToken,
          signal: AbortSignal.any([signal, requestTimeout.signal]),
        });
        for (const item of page.items) {
          const name = (item as KubernetesObject).metadata?.name;
          if (name !== undefined) listed.set(name, item);
        }
        continueToken = page.metadata.continue || undefined;
        resourceVersion = page.metadata.resourceVersion ?? '';
      } finally {
        requestTimeout.dispose();
      }
    } while (continueToken !== undefined);
    signal.throwIfAborted();

    const known = this.#objects;
    this.#objects = listed;
    this.#resourceVersion = resourceVersion;
    this.#freshFromList = true;
    if (!this.#synced) {
      this.#synced = true;
      const joinedAfterLists = new Map(this.#joinedAfterLists);
      this.#joinedAfterLists.clear();
      for (const subscriber of [...this.#subscribers]) {
        subscriber.onSync(this.#objects, {
          fresh: listNumber > (joinedAfterLists.get(subscriber) ?? listNumber),
        });
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
  async #watchOnce(
    signal: AbortSignal,
  ): Promise<{ outcome: 'closed' | 'stalled' | 'expired'; events: number }> {
    const { clock, inactivityTimeoutMs, watchTimeoutSeconds, random } = this.#settings;
    const stream = new AbortController();
    const abortStream = () => stream.abort(signal.reason);
    signal.addEventListener('abort', abortStream, { once: true });
    let stalled = false;
    let inactivity: TimerHandle | undefined;
    // Every byte or event re-arms the timer: a quiet stream that still sends keep-alives is healthy.
    const markActivity = () => {
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
    let events = 0;
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
        events += 1;
        this.#counters.events += 1;
        if (event.type === 'ERROR') {
          if (event.object.code === 410) return { outcome: 'expired', events };
          throw KubernetesError.fromStatus(event.object, {
            operation: `watch ${this.#resource}`,
            namespace: this.#namespace,
          });
        }
        if (event.type === 'BOOKMARK') {
          this.#resourceVersion = event.object.metadata.resourceVersion || this.#resourceVersion;
          continue;
        }
        this.#apply(event.type, event.object);
      }
      return { outcome: stalled ? 'stalled' : 'closed', events };
    } catch (error) {
      if (stalled && !signal.aborted) return { outcome: 'stalled', events };
      if (isAbortError(error) && !signal.aborted && !stalled) {
        throw new PodStorageError(`watch of ${this.#description} was aborted by the transport`, {
          cause: error,
          retryable: true,
        });
      }
      throw error;
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
    for (const subscriber of [...this.#subscribers]) subscriber.onChange(change);
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
  ): () => void {
    const key = watchKey(resource, namespace, fieldSelector);
    let watch = this.#watches.get(key) as SharedWatch<R> | undefined;
    if (watch === undefined) {
      watch = new SharedWatch(this, resource, namespace, fieldSelector);
      this.#watches.set(key, watch as unknown as SharedWatch<ResourceName>);
    }
    const unsubscribe = watch.subscribe(subscriber);
    const running = watch.running;
    if (running !== undefined && !this.#running.has(running)) {
      this.#running.add(running);
      void running.finally(() => this.#running.delete(running));
    }
    return unsubscribe;
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
