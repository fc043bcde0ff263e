import { Backoff, type BackoffOptions } from './backoff.js';
import { type Clock, delay } from './clock.js';
import { isAbortError, isTooLargeResourceVersion, KubernetesError, PodStorageError } from './errors.js';
import type { Logger } from './logger.js';
import type { Timeout } from './timeout.js';
import type { PodTransport } from './transport.js';

/**
 * What to do about a failed request or a broken watch. The one classification the engine and the single
 * requests share (client-go's reflector is the model):
 * - `relist`: the server no longer has our resourceVersion (410 Expired/Gone) or never had it (504
 *   ResourceVersionTooLarge after history was lost): list afresh.
 * - `refresh-credentials`: 401: ask the transport to reload credentials, once.
 * - `retry`: network failures, payload errors, request timeouts, 408, 429 and 5xx: the same request may
 *   succeed later.
 * - `fail`: everything else (403, 404, 422, a transport error marked `retryable: false`): final.
 */
export type FailureDecision = 'relist' | 'refresh-credentials' | 'retry' | 'fail';

/** Classifies a failure; see {@link FailureDecision}. */
export function classifyFailure(error: unknown): FailureDecision {
  if (!KubernetesError.isInstance(error)) {
    // A transport that knows a failure is final says so (an exec credential plugin that is not
    // installed); anything else (network reset, payload error, request timeout) is worth retrying.
    return PodStorageError.isInstance(error) && !error.retryable ? 'fail' : 'retry';
  }
  if (error.code === 410 || isTooLargeResourceVersion(error)) return 'relist';
  if (error.code === 401) return 'refresh-credentials';
  if (error.code === 429 || error.code === 408 || error.code >= 500) return 'retry';
  return 'fail';
}

/** The seconds the server asked us to wait (429 and some 5xx), if it did. */
export function retryAfterOf(error: unknown): number | undefined {
  return KubernetesError.isInstance(error) ? error.retryAfterSeconds : undefined;
}

// A stream that lasted at least this long was a working connection: its end (clean, reset, stalled)
// is resumed at once. A shorter one that moved the resourceVersion on was working too.
const MIN_HEALTHY_STREAM_MS = 1_000;

/** How one watch stream ended, as the retry policy needs to know it. */
export interface StreamEnding {
  /** `closed`: the server ended it (or the connection broke: see `error`); `stalled`: nothing arrived for too long; `expired`: the server no longer has our resourceVersion. */
  readonly outcome: 'closed' | 'stalled' | 'expired';
  /** How long the stream was open and alive (for a stall: until the last thing it sent), on the engine's clock. */
  readonly lastedMs: number;
  /** Whether the stream moved our resourceVersion on (an event or a bookmark with a new version). */
  readonly progressed: boolean;
}

/**
 * The engine's retry policy for one shared watch: when to retry at once, when to wait and how long, and
 * when to start over. Every ending counts, however the stream ended: a stream that stayed open for
 * `resetAfterMs` resets the backoff; repeated expiries, stalls and errors all back off, so no server
 * answer (an ERROR 410 on every watch, a silent server, a reset on every connect) makes a hot loop.
 */
export class WatchRetryPolicy {
  readonly #backoff: Backoff;
  // A stream healthy long enough to reset the backoff has certainly worked, even with a short reset.
  readonly #minWorkingMs: number;
  #credentialsRefreshed = false;
  #silentStalls = 0;

  constructor(options: BackoffOptions, random: () => number) {
    this.#backoff = new Backoff(options, random);
    this.#minWorkingMs = Math.min(MIN_HEALTHY_STREAM_MS, this.#backoff.resetAfterMs);
  }

  /** Milliseconds to wait after a stream ended (0: reconnect at once). */
  afterStream(ending: StreamEnding): number {
    const working = this.#noteHealth(ending.lastedMs, ending.progressed);
    if (ending.outcome === 'expired') return this.#afterExpiry();
    if (working && ending.outcome === 'closed') return 0;
    return this.#backoff.next();
  }

  /**
   * Milliseconds to wait after a failed list or watch request, or a stream that broke with `error`
   * after `lastedMs` (0 when it never opened). `decision` is {@link classifyFailure}'s.
   */
  afterError(decision: FailureDecision, error: unknown, lastedMs = 0, progressed = false): number {
    const working = this.#noteHealth(lastedMs, progressed);
    if (decision === 'relist') return this.#afterExpiry();
    // A connection that worked and then broke (a reset, a proxy idle timeout) is resumed at once.
    if (working && retryAfterOf(error) === undefined) return 0;
    return this.#backoff.next(retryAfterOf(error));
  }

  /**
   * True when the stream that just ended is the second in a row that stalled without moving our
   * resourceVersion on: the server may not know that version at all. A watch cache that lost its history
   * answers a watch from a future version with silence, not with 504, until it catches up
   * (apiserver cacher: events and bookmarks at or below a watcher's version are never sent), and
   * every change up to it would be lost. A relist is the cure. The first stall is just resumed.
   */
  shouldRelistAfter(ending: StreamEnding): boolean {
    if (ending.outcome !== 'stalled' || ending.progressed) {
      this.#silentStalls = 0;
      return false;
    }
    this.#silentStalls += 1;
    if (this.#silentStalls < 2) return false;
    this.#silentStalls = 0;
    return true;
  }

  /** True the first time after a working period: the caller may refresh credentials once. */
  mayRefreshCredentials(): boolean {
    if (this.#credentialsRefreshed) return false;
    this.#credentialsRefreshed = true;
    return true;
  }

  /** Failures counted since the last reset. */
  get failures(): number {
    return this.#backoff.failures;
  }

  // A stream alive for resetAfterMs resets the backoff, however it ended; says whether it worked. The
  // credentials worked for a stream that worked: a later 401 may refresh them again.
  #noteHealth(lastedMs: number, progressed: boolean): boolean {
    if (lastedMs >= this.#backoff.resetAfterMs) this.#backoff.reset();
    const working = lastedMs >= this.#minWorkingMs || progressed;
    if (working) this.#credentialsRefreshed = false;
    return working;
  }

  // The first expiry after a healthy period is normal (history moved on): relist at once. Repeated
  // ones back off like any failure.
  #afterExpiry(): number {
    const first = this.#backoff.failures === 0;
    const wait = this.#backoff.next();
    return first ? 0 : wait;
  }
}

/** What {@link requestWithRetries} needs. */
export interface RetrySettings {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly backoff: BackoffOptions;
  /** The bound on each attempt. */
  readonly requestTimeoutMs: number;
  readonly transport: PodTransport;
}

/**
 * Runs one request (a get, a delete) until it succeeds, a failure is final, or `deadline` or `signal`
 * ends it. Each attempt is bounded by `requestTimeoutMs` and by what is left of the deadline; network
 * errors, attempt timeouts, 429 and 5xx are retried with the engine's backoff and the server's
 * Retry-After; a 401 refreshes credentials once. Only idempotent requests belong here.
 */
export async function requestWithRetries<T>(
  description: string,
  settings: RetrySettings,
  deadline: Timeout,
  signal: AbortSignal,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const backoff = new Backoff(settings.backoff, settings.random);
  let refreshed = false;
  for (;;) {
    signal.throwIfAborted();
    const request = deadline.partial(settings.requestTimeoutMs, description);
    let error: unknown;
    try {
      return await attempt(AbortSignal.any([signal, request.signal]));
    } catch (caught) {
      error = caught;
    } finally {
      request.dispose();
    }
    if (signal.aborted) throw signal.reason;
    // Our own attempt bound ran out: the server was slow, which is worth another try.
    const attemptTimedOut = request.expired && isAbortError(error);
    const decision = attemptTimedOut ? 'retry' : classifyFailure(error);
    if (decision === 'refresh-credentials' && !refreshed && settings.transport.refreshCredentials) {
      refreshed = true;
      settings.logger.info({ request: description }, 'credentials rejected (401): refreshing them once');
      await settings.transport.refreshCredentials({ signal });
      continue;
    }
    if (decision !== 'retry') throw error;
    const wait = backoff.next(retryAfterOf(error));
    settings.logger.warn({ request: description, err: error, waitMs: wait }, 'request failed: retrying');
    // Waiting past the deadline is pointless: the deadline's own signal ends the wait as a timeout.
    await delay(settings.clock, Math.min(wait, deadline.left() + 1), signal);
  }
}
