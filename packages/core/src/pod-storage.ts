import { AsyncQueue, stoppableIterator } from './async-queue.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { CoalescedPodReads } from './coalesced-reads.js';
import {
  InvalidInputError,
  isAbortError,
  KubernetesError,
  PodStorageError,
  PodTimeoutError,
} from './errors.js';
import type { KubernetesEvent, Pod } from './kubernetes.js';
import { type Logger, silentLogger } from './logger.js';
import { type FollowOptions, followObject } from './object-follower.js';
import { isPodPhase, type PodChange, type PodPhase, phaseOf, UNFINISHED_PHASES } from './phases.js';
import { type FollowPodLogsOptions, followPodLogs, type PodLogLine } from './pod-logs.js';
import { type RetrySettings, requestWithRetries } from './retry-policy.js';
import { Timeout } from './timeout.js';
import type { PodTransport } from './transport.js';
import { validateNamespace, validatePodName } from './validation.js';
import { WatchChoice, type WatchSharing } from './watch-choice.js';
import {
  type WatchCounters,
  WatchEngine,
  type WatchSubscriber,
  type WatchSubscription,
} from './watch-engine.js';

/** Options of {@link createPodStorage}. Every field has a sensible default. */
export interface PodStorageOptions {
  /** Time source for timeouts, backoff and stall detection. Tests pass the fake cluster's clock. */
  readonly clock?: Clock;
  /** A pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
  /** Random numbers in [0, 1) for jitter. Tests pass a seeded one. */
  readonly random?: () => number;
  /** A watch that receives nothing (no event, no byte) for this long is stalled and resumed. Default 90 s. */
  readonly inactivityTimeoutMs?: number;
  /** The bound on each list, get and delete request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** The budget of the last read a wait makes after its timeout expired. Default 5 s. */
  readonly finalReadTimeoutMs?: number;
  /** The server is asked to end each watch after a random number of seconds in this range. Default 300–600. */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  /** Retry waits after errors. Default 500 ms doubling to 30 s, reset after 60 s of health. */
  readonly backoff?: BackoffOptions;
  /**
   * When this many pod waits run at once in one namespace, the newest ones share a single watch of the
   * whole namespace instead of opening one field-selected watch each. Counted when each wait subscribes,
   * after the synchronous code that started it: waits started together count each other. Default 3.
   */
  readonly sharedWatchThreshold?: number;
  /** Items per page when listing. Default 500. */
  readonly pageSize?: number;
  /**
   * `eventsForPod(…, { untilPodFinishes: true })` ends this long after it saw the pod finish or go, so
   * that events recorded just before (which may reach the events watch a moment after the pod watch
   * saw the phase change) are still yielded. On the storage's clock. Default 1 000 ms.
   */
  readonly finishedPodEventsGraceMs?: number;
}

/** Options of {@link PodStorage.waitForPhase}. */
export interface WaitForPhaseOptions {
  /** Wait while the pod's phase is one of these. Must not be empty. */
  readonly untilNot: readonly PodPhase[];
  /** Cancels the wait: it rejects with the signal's reason and closes its watch. */
  readonly signal?: AbortSignal;
}

/** Options of operations that only take cancellation. */
export interface CancelOptions {
  readonly signal?: AbortSignal;
}

/** Options of {@link PodStorage.eventsForPod}. */
export interface EventsForPodOptions extends CancelOptions {
  /** Only events about this incarnation of the pod. Default: the uid of the pod when the iteration starts. */
  readonly uid?: string;
  /**
   * End the iteration once the pod has finished (left Pending, Running and Unknown) or is gone (deleted,
   * replaced by another pod of the same name, or absent from the start), after yielding the events
   * recorded up to then: it ends `finishedPodEventsGraceMs` after the pod watch saw the pod finish, so
   * events that land just after the phase change are yielded too. The timeout still ends it earlier.
   * Default: false (the iteration runs until the timeout or the caller stops).
   */
  readonly untilPodFinishes?: boolean;
}

/** Options of {@link PodStorage.logsForPod}: kubectl logs' flags, and cancellation. */
export interface LogsForPodOptions extends CancelOptions, FollowPodLogsOptions {}

/** A timeout in milliseconds, or a {@link Timeout} shared with other steps of the caller. */
export type TimeoutLike = number | Timeout;

/** The four pod lifecycle operations, over any {@link PodTransport}. */
export interface PodStorage {
  /**
   * Waits until the pod's phase is not one of `untilNot`, and returns that phase; `null` if the pod does
   * not exist or is deleted while waiting. Rejects with {@link PodTimeoutError} when the timeout expires.
   */
  waitForPhase(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: WaitForPhaseOptions,
  ): Promise<PodPhase | null>;
  /**
   * Waits until the pod has finished (left Pending, Running and Unknown), then deletes it, only if it is
   * still the same pod (uid precondition). Does not wait for the deletion to complete. Returns the final
   * phase, or `null` if the pod was already gone.
   */
  deleteAfterCompletion(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options?: CancelOptions,
  ): Promise<PodPhase | null>;
  /**
   * The messages of the Kubernetes events about the pod: existing ones first, then new ones as they
   * happen. Ends quietly when the timeout expires; stop early with `break` or the signal.
   */
  eventsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options?: EventsForPodOptions,
  ): AsyncIterableIterator<string>;
  /**
   * The same events as {@link PodStorage.eventsForPod}, yielded as the whole Event objects (reason,
   * type, `count`, `series`, timestamps) rather than their messages: each when first seen and again
   * whenever its count grows, so a caller can show a recurring event as one line with its count.
   */
  eventObjectsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options?: EventsForPodOptions,
  ): AsyncIterableIterator<KubernetesEvent>;
  /**
   * The lines of a container's log, as `kubectl logs -f` shows them: existing lines, then new ones until
   * the container ends. Waits for a container that has not started; resumes a broken stream from the last
   * line's timestamp without repeating lines. Ends quietly when the timeout expires or the pod is gone;
   * stop early with `break` or the signal. Needs a transport with `readPodLog`.
   */
  logsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options?: LogsForPodOptions,
  ): AsyncIterableIterator<PodLogLine>;
  /**
   * Every modification of a pod in the namespace, until the consumer stops. Its view begins with the
   * namespace's state as the storage's watch holds it: the list the watch starts from (or, when a watch
   * of the namespace is already running, its current state). What that list holds is the baseline, as
   * an informer's first list is; every later modification is yielded.
   */
  watchPodChanges(namespace: string, options?: CancelOptions): AsyncIterableIterator<PodChange>;
}

/** A {@link PodStorage} that owns watches: close it (or `await using` it) when done. */
export interface ManagedPodStorage extends PodStorage, AsyncDisposable {
  /** A snapshot of the watch engine's counters. */
  counters(): WatchCounters;
  /** Stops every watch and rejects pending operations. Idempotent. */
  close(): Promise<void>;
}

/**
 * Up to this many different pods read at once in a namespace are read with a GET each; more share one
 * paged list of the namespace (when that takes fewer requests than the GETs would).
 */
const READS_BEFORE_A_LIST = 8;

/** What a wait learned: the phase it returns and the pod it saw (for the uid precondition). */
interface WaitOutcome {
  readonly phase: PodPhase;
  readonly pod: Pod;
}

/**
 * Creates a {@link PodStorage} over `transport`. The result owns a watch engine shared by all its
 * operations; close it when done.
 */
export function createPodStorage(
  transport: PodTransport,
  options: PodStorageOptions = {},
): ManagedPodStorage {
  return new EnginePodStorage(transport, options);
}

class EnginePodStorage implements ManagedPodStorage {
  readonly #transport: PodTransport;
  readonly #engine: WatchEngine;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #requestTimeoutMs: number;
  readonly #finalReadTimeoutMs: number;
  readonly #sharedWatchThreshold: number;
  readonly #finishedPodEventsGraceMs: number;
  readonly #retrySettings: RetrySettings;
  readonly #reads: CoalescedPodReads;
  readonly #closed = new AbortController();
  // Pod waits and eventsForPod iterations running per namespace, to decide when they share one
  // namespace-wide watch (see WatchChoice).
  readonly #podWaits: WatchSharing;
  readonly #eventIterations: WatchSharing;

  constructor(transport: PodTransport, options: PodStorageOptions) {
    this.#transport = transport;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 30_000);
    this.#finalReadTimeoutMs = positive('finalReadTimeoutMs', options.finalReadTimeoutMs ?? 5_000);
    this.#sharedWatchThreshold = positive('sharedWatchThreshold', options.sharedWatchThreshold ?? 3);
    this.#finishedPodEventsGraceMs = zeroOrMore(
      'finishedPodEventsGraceMs',
      options.finishedPodEventsGraceMs ?? 1_000,
    );
    const watchTimeoutSeconds = options.watchTimeoutSeconds ?? { min: 300, max: 600 };
    if (
      !(watchTimeoutSeconds.min > 0 && watchTimeoutSeconds.max >= watchTimeoutSeconds.min) ||
      !Number.isFinite(watchTimeoutSeconds.max)
    ) {
      throw new InvalidInputError('watchTimeoutSeconds', watchTimeoutSeconds, 'needs 0 < min <= max');
    }
    const random = options.random ?? Math.random;
    const backoff = options.backoff ?? {};
    // Validates the backoff now, so a bad one fails here rather than in a watch later.
    new Backoff(backoff, random);
    const pageSize = positive('pageSize', options.pageSize ?? 500);
    this.#engine = new WatchEngine(transport, {
      clock: this.#clock,
      logger: this.#logger,
      random,
      pageSize,
      requestTimeoutMs: this.#requestTimeoutMs,
      inactivityTimeoutMs: positive('inactivityTimeoutMs', options.inactivityTimeoutMs ?? 90_000),
      watchTimeoutSeconds,
      backoff,
    });
    const sharing = (): WatchSharing => ({
      engine: this.#engine,
      running: new Map(),
      threshold: this.#sharedWatchThreshold,
    });
    this.#podWaits = sharing();
    this.#eventIterations = sharing();
    this.#retrySettings = {
      clock: this.#clock,
      logger: this.#logger,
      random,
      backoff,
      requestTimeoutMs: this.#requestTimeoutMs,
      transport,
    };
    const counters = this.#engine.mutableCounters;
    this.#reads = new CoalescedPodReads({
      retry: this.#retrySettings,
      pager: {
        transport,
        clock: this.#clock,
        logger: this.#logger,
        pageSize,
        requestTimeoutMs: this.#requestTimeoutMs,
        onRequest: () => (counters.lists += 1),
      },
      listAbove: READS_BEFORE_A_LIST,
      namespaceSize: (namespace) => this.#engine.heldBy('pods', namespace, undefined),
      onGet: () => (counters.reads += 1),
    });
  }

  waitForPhase(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: WaitForPhaseOptions,
  ): Promise<PodPhase | null> {
    // Not async: #wait's frame is the one a waiting call holds (it validates, so bad input rejects).
    return this.#wait(name, namespace, timeout, options?.untilNot, 'waitForPhase', options?.signal).then(
      phaseOfOutcome,
    );
  }

  async deleteAfterCompletion(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: CancelOptions = {},
  ): Promise<PodPhase | null> {
    return this.#withTimeout(timeout, `deleteAfterCompletion pod ${namespace}/${name}`, async (deadline) => {
      const outcome = await this.#wait(
        name,
        namespace,
        deadline,
        UNFINISHED_PHASES,
        'deleteAfterCompletion',
        options.signal,
      );
      if (outcome === null) {
        this.#logger.warn({ namespace, pod: name }, 'pod was already gone: nothing to delete');
        return null;
      }
      const uid = outcome.pod.metadata?.uid;
      const signal = this.#signal(deadline, options.signal);
      try {
        // Safe to retry: with the uid precondition a repeated delete answers 404 or 409, both success.
        await requestWithRetries(
          `delete pod ${namespace}/${name}`,
          this.#retrySettings,
          deadline,
          signal,
          (attempt) =>
            this.#transport.delete('pods', namespace, name, {
              preconditions: uid === undefined ? undefined : { uid },
              signal: attempt,
            }),
        );
        this.#logger.info({ namespace, pod: name, phase: outcome.phase }, 'deleted finished pod');
      } catch (error) {
        // Both mean the pod we waited for is gone (a new one may carry its name): our job is done.
        if (KubernetesError.isInstance(error) && (error.code === 404 || error.code === 409)) {
          this.#logger.info(
            { namespace, pod: name, code: error.code },
            'finished pod was already gone or replaced',
          );
        } else {
          throw this.#translateAbort(error, deadline, options.signal, outcome.phase);
        }
      }
      return outcome.phase;
    });
  }

  eventsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: EventsForPodOptions = {},
  ): AsyncIterableIterator<string> {
    validatePodName(name);
    validateNamespace(namespace);
    const deadline = toTimeout(timeout, `eventsForPod pod ${namespace}/${name}`, this.#clock);
    return stoppableIterator((stopped) =>
      messagesOf(this.#events(name, namespace, deadline, timeout !== deadline, options, stopped)),
    );
  }

  eventObjectsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: EventsForPodOptions = {},
  ): AsyncIterableIterator<KubernetesEvent> {
    validatePodName(name);
    validateNamespace(namespace);
    const deadline = toTimeout(timeout, `eventObjectsForPod pod ${namespace}/${name}`, this.#clock);
    return stoppableIterator((stopped) =>
      this.#events(name, namespace, deadline, timeout !== deadline, options, stopped),
    );
  }

  logsForPod(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    options: LogsForPodOptions = {},
  ): AsyncIterableIterator<PodLogLine> {
    validatePodName(name);
    validateNamespace(namespace);
    this.#throwIfClosed();
    const deadline = toTimeout(timeout, `logsForPod pod ${namespace}/${name}`, this.#clock);
    const owned = timeout !== deadline;
    return stoppableIterator(
      async function* (this: EnginePodStorage, stopped: AbortSignal) {
        const signal = AbortSignal.any([
          stopped,
          this.#closed.signal,
          ...(options.signal ? [options.signal] : []),
        ]);
        try {
          yield* followPodLogs(this.#retrySettings, namespace, name, deadline, signal, options);
        } finally {
          if (owned) deadline.dispose();
        }
      }.bind(this),
    );
  }

  watchPodChanges(namespace: string, options: CancelOptions = {}): AsyncIterableIterator<PodChange> {
    validateNamespace(namespace);
    return stoppableIterator((stopped) => this.#podChanges(namespace, options.signal, stopped));
  }

  counters(): WatchCounters {
    return this.#engine.counters();
  }

  async close(): Promise<void> {
    const reason = new PodStorageError('PodStorage was closed');
    if (!this.#closed.signal.aborted) this.#closed.abort(reason);
    await this.#engine.close(this.#closed.signal.reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The wait behind waitForPhase and deleteAfterCompletion; also returns the pod it decided on. */
  async #wait(
    name: string,
    namespace: string,
    timeout: TimeoutLike,
    untilNotGiven: unknown,
    operation: string,
    userSignal: AbortSignal | undefined,
  ): Promise<WaitOutcome | null> {
    const untilNot = validateUntilNot(untilNotGiven);
    validatePodName(name);
    validateNamespace(namespace);
    this.#throwIfClosed();
    // One async frame and one follower per wait, no composed signal unless one is shared: 10,000 armed
    // waits are 10,000 of these, and what each holds is what a garbage collection copies.
    const deadline = toTimeout(timeout, `${operation} pod ${namespace}/${name}`, this.#clock);
    const watch = new WatchChoice(this.#podWaits, 'pods', namespace, { 'metadata.name': name });
    let uid: string | undefined;
    let lastPhase: PodPhase | undefined;
    try {
      // Closing the storage ends the follow through the watch (it fails its consumers), so the follow
      // needs only the deadline and the caller's signal; its reads add the closing (see PodFollow).
      const signal =
        userSignal === undefined && deadline !== timeout
          ? deadline.signal
          : AbortSignal.any(userSignal === undefined ? [deadline.signal] : [deadline.signal, userSignal]);
      // Let the caller's synchronous code (a loop starting many waits) run first, so that the watch
      // chosen at subscribe time counts all of them.
      await Promise.resolve();
      const decided = await followObject<Pod, { outcome: WaitOutcome | null }>(
        new PodFollow(name, namespace, deadline, signal, watch, this.#reads, this.#closed.signal),
        (pod) => {
          if (pod === undefined) return { outcome: null };
          uid ??= pod.metadata?.uid;
          // Another pod that carries the same name: ours is gone.
          if (pod.metadata?.uid !== uid) return { outcome: null };
          lastPhase = phaseOf(pod);
          return untilNot.includes(lastPhase) ? undefined : { outcome: { phase: lastPhase, pod } };
        },
      );
      return decided.outcome;
    } catch (error) {
      if (this.#timedOut(error, deadline, userSignal)) {
        return this.#finalRead(name, namespace, uid, untilNot, deadline, lastPhase, userSignal);
      }
      throw this.#translateAbort(error, deadline, userSignal, lastPhase);
    } finally {
      watch.release();
      if (deadline !== timeout) deadline.dispose();
    }
  }

  /**
   * The last read of a wait whose timeout expired: the pod may have finished or gone while the watch
   * was stalled or reconnecting. Decides from it, or throws the timeout.
   */
  async #finalRead(
    name: string,
    namespace: string,
    uid: string | undefined,
    untilNot: readonly PodPhase[],
    deadline: Timeout,
    lastPhase: PodPhase | undefined,
    userSignal: AbortSignal | undefined,
  ): Promise<WaitOutcome | null> {
    const read = new Timeout(`final read of pod ${namespace}/${name}`, this.#finalReadTimeoutMs, {
      clock: this.#clock,
    });
    let cause: unknown;
    try {
      const signals = [read.signal, this.#closed.signal];
      if (userSignal) signals.push(userSignal);
      const pod = await this.#readPod(name, namespace, read, AbortSignal.any(signals));
      if (pod === undefined || (uid !== undefined && pod.metadata?.uid !== uid)) return null;
      const phase = phaseOf(pod);
      if (!untilNot.includes(phase)) return { phase, pod };
      lastPhase = phase;
    } catch (error) {
      if (userSignal?.aborted) throw userSignal.reason;
      if (this.#closed.signal.aborted) throw this.#closed.signal.reason;
      cause = error;
    } finally {
      read.dispose();
    }
    throw timeoutError(deadline, this.#clock, lastPhase, cause);
  }

  async *#events(
    name: string,
    namespace: string,
    deadline: Timeout,
    ownsDeadline: boolean,
    options: EventsForPodOptions,
    stopped: AbortSignal,
  ): AsyncGenerator<KubernetesEvent, void, undefined> {
    const queue = new AsyncQueue<KubernetesEvent>();
    // Counts already yielded, by event: a recurring event (count grows) is yielded again, a replay is not.
    const yielded = new Map<string, number>();
    let subscription: WatchSubscription<KubernetesEvent> | undefined;
    const watch = new WatchChoice(this.#eventIterations, 'events', namespace, {
      'involvedObject.kind': 'Pod',
      'involvedObject.name': name,
    });
    // Ends the follow of the pod (untilPodFinishes) with the iteration, however it ends.
    const following = new AbortController();
    let grace: TimerHandle | undefined;
    try {
      this.#throwIfClosed();
      const signal = AbortSignal.any([this.#signal(deadline, options.signal), stopped]);
      // The uid tells this pod's events from those of an earlier or later pod of the same name.
      const uid = options.uid ?? (await this.#readPod(name, namespace, deadline, signal))?.metadata?.uid;
      const about = (event: KubernetesEvent) =>
        event.involvedObject?.kind === 'Pod' &&
        event.involvedObject.name === name &&
        (uid === undefined || event.involvedObject.uid === undefined || event.involvedObject.uid === uid);
      // untilPodFinishes: the grace starts once the pod has finished and the existing events are queued.
      let listed = false;
      let finished = false;
      const endAfterGrace = () => {
        if (!listed || !finished || grace !== undefined) return;
        grace = this.#clock.setTimeout(() => queue.end(), this.#finishedPodEventsGraceMs);
      };
      subscription = watch.subscribe(
        {
          onSync: (_events, view) => {
            // The events about this pod only, from the index: a shared watch may hold a busy namespace's.
            for (const event of view.related(name).filter(about).sort(byOccurrence)) queue.push(event);
            listed = true;
            endAfterGrace();
          },
          onChange: (change) => {
            if (change.type !== 'DELETED' && about(change.object)) queue.push(change.object);
          },
          onError: (error) => queue.fail(error),
        },
        { key: name },
      );
      if (options.untilPodFinishes) {
        this.#untilFinished(name, namespace, uid, deadline, AbortSignal.any([signal, following.signal])).then(
          () => {
            finished = true;
            endAfterGrace();
          },
          (error) => {
            if (!following.signal.aborted && !signal.aborted) queue.fail(error);
          },
        );
      }
      for (;;) {
        const event = await queue.take(signal);
        if (event === undefined) return;
        const message = event.message?.trim();
        if (!message) continue;
        const key = event.metadata?.uid ?? `${event.metadata?.namespace}/${event.metadata?.name}`;
        const count = event.count ?? event.series?.count ?? 1;
        const seen = yielded.get(key);
        if (seen !== undefined && count <= seen) continue;
        yielded.set(key, count);
        yield event;
      }
    } catch (error) {
      // The consumer stopped (return() or break): the iteration is over, quietly, as it asked.
      if (stopped.aborted) return;
      // The timeout ends the iteration quietly; anything else (the caller's signal, an error) is raised.
      if (this.#timedOut(error, deadline, options.signal)) return;
      throw this.#translateAbort(error, deadline, options.signal, undefined);
    } finally {
      following.abort(new DOMException('the events iteration ended', 'AbortError'));
      if (grace !== undefined) this.#clock.clearTimeout(grace);
      subscription?.close();
      watch.release();
      if (ownsDeadline) deadline.dispose();
    }
  }

  /**
   * Resolves once the pod has finished (left the unfinished phases) or is gone: deleted, replaced by
   * another of its name, or absent. `uid`: the incarnation to follow, when known.
   */
  async #untilFinished(
    name: string,
    namespace: string,
    uid: string | undefined,
    deadline: Timeout,
    signal: AbortSignal,
  ): Promise<void> {
    const watch = new WatchChoice(this.#podWaits, 'pods', namespace, { 'metadata.name': name });
    let followed = uid;
    try {
      await Promise.resolve(); // as in #wait: waits started together choose their watch together
      await followObject<Pod, true>(
        new PodFollow(name, namespace, deadline, signal, watch, this.#reads, this.#closed.signal),
        (pod) => {
          if (pod === undefined) return true;
          followed ??= pod.metadata?.uid;
          if (pod.metadata?.uid !== followed) return true;
          return UNFINISHED_PHASES.includes(phaseOf(pod)) ? undefined : true;
        },
      );
    } finally {
      watch.release();
    }
  }

  /**
   * Reads the pod now, retrying network errors, 429 and 5xx within `deadline` (each attempt bounded by
   * the request timeout); `undefined` when it does not exist. Reads started together (10,000 waits
   * joining one watch) share their requests: see {@link CoalescedPodReads}.
   */
  #readPod(
    name: string,
    namespace: string,
    deadline: Timeout,
    signal: AbortSignal,
  ): Promise<Pod | undefined> {
    return this.#reads.read(name, namespace, deadline, signal);
  }

  async *#podChanges(
    namespace: string,
    userSignal: AbortSignal | undefined,
    stopped: AbortSignal,
  ): AsyncGenerator<PodChange, void, undefined> {
    const signals = [this.#closed.signal, stopped];
    if (userSignal) signals.push(userSignal);
    const signal = AbortSignal.any(signals);
    // Keyed by pod (uid): a consumer slower than the changes holds each pod's newest state once, so
    // memory is bounded by the number of pods, and no pod's latest state is ever lost.
    const queue = new AsyncQueue<Pod>();
    let subscription: WatchSubscription<Pod> | undefined;
    try {
      this.#throwIfClosed();
      subscription = this.#engine.subscribe('pods', namespace, undefined, {
        onSync: () => {},
        onChange: (change) => {
          const { metadata } = change.object;
          if (change.type === 'MODIFIED') queue.push(change.object, metadata?.uid ?? metadata?.name);
        },
        onError: (error) => queue.fail(error),
      });
      for (;;) {
        const pod = await queue.take(signal);
        if (pod === undefined) return;
        yield { pod, phase: phaseOf(pod) };
      }
    } catch (error) {
      if (stopped.aborted) return;
      if (userSignal?.aborted) throw userSignal.reason;
      throw error;
    } finally {
      subscription?.close();
    }
  }

  /** Operations on a closed storage reject at once, before any request. */
  #throwIfClosed(): void {
    if (this.#closed.signal.aborted) throw this.#closed.signal.reason;
  }

  /** True when `error` is this operation's own deadline running out (not the caller's signal, not close()). */
  #timedOut(error: unknown, deadline: Timeout, userSignal: AbortSignal | undefined): boolean {
    return isAbortError(error) && deadline.expired && !userSignal?.aborted && !this.#closed.signal.aborted;
  }

  /** Runs `body` under a Timeout made from `timeout`, disposing it afterwards if it was made here. */
  async #withTimeout<T>(
    timeout: TimeoutLike,
    operation: string,
    body: (deadline: Timeout) => Promise<T>,
  ): Promise<T> {
    const deadline = toTimeout(timeout, operation, this.#clock);
    try {
      return await body(deadline);
    } finally {
      if (deadline !== timeout) deadline.dispose();
    }
  }

  /** One signal for an operation: its deadline, the caller's signal, and this storage being closed. */
  #signal(deadline: Timeout, userSignal: AbortSignal | undefined): AbortSignal {
    const signals = [deadline.signal, this.#closed.signal];
    if (userSignal) signals.push(userSignal);
    return AbortSignal.any(signals);
  }

  /** Turns an abort into what the caller expects: their own reason, the closed error, or the timeout. */
  #translateAbort(
    error: unknown,
    deadline: Timeout,
    userSignal: AbortSignal | undefined,
    lastPhase: PodPhase | undefined,
  ): unknown {
    if (userSignal?.aborted) return userSignal.reason;
    if (this.#closed.signal.aborted) return this.#closed.signal.reason;
    if (deadline.expired && isAbortError(error)) return timeoutError(deadline, this.#clock, lastPhase, error);
    return error;
  }
}

const phaseOfOutcome = (outcome: WaitOutcome | null): PodPhase | null => outcome?.phase ?? null;

function timeoutError(
  deadline: Timeout,
  clock: Clock,
  lastPhase: PodPhase | undefined,
  cause: unknown,
): PodTimeoutError {
  return new PodTimeoutError(
    deadline.operation,
    { elapsedMs: deadline.elapsed(), startedAt: deadline.startedAt, failedAt: clock.date() },
    { lastPhase, cause },
  );
}

function toTimeout(timeout: TimeoutLike, operation: string, clock: Clock): Timeout {
  if (timeout instanceof Timeout) return timeout;
  if (typeof timeout !== 'number') {
    throw new InvalidInputError('timeout', timeout, 'must be a number of milliseconds or a Timeout');
  }
  return new Timeout(operation, timeout, { clock });
}

function validateUntilNot(untilNot: unknown): readonly PodPhase[] {
  if (!Array.isArray(untilNot) || untilNot.length === 0) {
    throw new InvalidInputError('untilNot', untilNot, 'must be a non-empty array of pod phases');
  }
  for (const phase of untilNot) {
    if (!isPodPhase(phase)) {
      throw new InvalidInputError('untilNot', untilNot, `${JSON.stringify(phase)} is not a pod phase`);
    }
  }
  return untilNot;
}

function zeroOrMore(option: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new InvalidInputError(option, value, 'must be a finite number, zero or more');
  }
  return value;
}

function positive(option: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidInputError(option, value, 'must be a positive number');
  }
  return value;
}

/**
 * Orders events as they happened: by first occurrence. Ties keep the server's order (the sort is
 * stable); resourceVersions are never ordered (see `sameResourceVersion`).
 */
function byOccurrence(a: KubernetesEvent, b: KubernetesEvent): number {
  const time = (event: KubernetesEvent) =>
    Date.parse(event.firstTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? '') || 0;
  return time(a) - time(b);
}

/** The messages of events (which `#events` yields only with a message). */
async function* messagesOf(
  events: AsyncGenerator<KubernetesEvent, void, undefined>,
): AsyncGenerator<string, void, undefined> {
  for await (const event of events) yield event.message as string;
}

/**
 * How the follow of one pod joins its watch and reads the pod (see {@link FollowOptions}): one object
 * per wait rather than closures. Its reads end when the storage closes, as well as with `signal`.
 */
class PodFollow implements FollowOptions<Pod> {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly #namespace: string;
  readonly #deadline: Timeout;
  readonly #watch: WatchChoice<'pods'>;
  readonly #reads: CoalescedPodReads;
  readonly #closed: AbortSignal;

  constructor(
    name: string,
    namespace: string,
    deadline: Timeout,
    signal: AbortSignal,
    watch: WatchChoice<'pods'>,
    reads: CoalescedPodReads,
    closed: AbortSignal,
  ) {
    this.name = name;
    this.signal = signal;
    this.#namespace = namespace;
    this.#deadline = deadline;
    this.#watch = watch;
    this.#reads = reads;
    this.#closed = closed;
  }

  subscribe(subscriber: WatchSubscriber<Pod>): WatchSubscription<Pod> {
    return this.#watch.subscribe(subscriber, { key: this.name });
  }

  read(signal: AbortSignal): Promise<Pod | undefined> {
    return this.#reads.read(
      this.name,
      this.#namespace,
      this.#deadline,
      AbortSignal.any([signal, this.#closed]),
    );
  }
}
