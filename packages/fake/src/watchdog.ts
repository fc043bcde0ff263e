import type { Logger } from '@podstorage/core';
import type { FakeClock } from './fake-clock.js';
import type { RequestVerb } from './fault-injector.js';
import { statusError } from './status.js';

/** The request rate above which a client counts as hot-looping. */
export interface WatchdogOptions {
  /** Requests allowed within any `perMs` of cluster-clock time. */
  readonly maxRequests: number;
  /** The window, in cluster-clock milliseconds. */
  readonly perMs: number;
}

/**
 * The default limit: 2 000 requests within 1 s of cluster time. A client that backs off (500 ms initial
 * backoff, as the conformance suite configures) makes a handful of requests per second per retry loop,
 * so even hundreds of concurrent operations stay far below it; the relist loop of issue 9 (1 000
 * list+watch cycles in 59 ms) crosses it within milliseconds.
 */
export const DEFAULT_WATCHDOG: WatchdogOptions = { maxRequests: 2_000, perMs: 1_000 };

/** One time the watchdog tripped: a client went over the limit. */
export interface WatchdogViolation {
  /** Cluster-clock time (ms) of the request that crossed the limit. */
  readonly at: number;
  /** Requests inside the window when it tripped (`maxRequests + 1`). */
  readonly requests: number;
  /** Cluster-clock time those requests spanned: 0 when the clock stood still (a microtask loop). */
  readonly clusterElapsedMs: number;
  /** Real time those requests spanned. */
  readonly realElapsedMs: number;
  /** The same requests by verb. */
  readonly verbs: Readonly<Partial<Record<RequestVerb, number>>>;
  /** The limit that was crossed. */
  readonly limit: WatchdogOptions;
  /** Requests answered 429 while over the limit, up to now. */
  readonly rejected: number;
  /** Requests held until their client aborted, because it kept going after as many 429s as the limit. */
  readonly held: number;
}

/** What the watchdog reports: its limit, whether it is tripped now, and every violation so far. */
export interface RequestWatchdog {
  /** The limit, or `false` when the watchdog is off. */
  readonly limit: WatchdogOptions | false;
  /** True while the request rate is over the limit (requests are being refused). */
  readonly tripped: boolean;
  /** Every violation since the cluster started (or since {@link RequestWatchdog.clear}), oldest first. */
  violations(): WatchdogViolation[];
  /**
   * Throws an Error describing the first violation (rate, verbs, window) if the watchdog ever tripped.
   * Call it when a test ends, so a hot loop fails the test that caused it.
   */
  assertNoHotLoop(): void;
  /** Forgets the violations and the requests counted so far (for a test that trips the watchdog on purpose). */
  clear(): void;
}

interface Violation {
  at: number;
  requests: number;
  clusterElapsedMs: number;
  realElapsedMs: number;
  verbs: Partial<Record<RequestVerb, number>>;
  rejected: number;
  held: number;
}

/** How a violation reads in an error message or a log line. */
export function describeViolation(violation: WatchdogViolation): string {
  const verbs = Object.entries(violation.verbs)
    .map(([verb, count]) => `${verb} ${count}`)
    .join(', ');
  const { maxRequests, perMs } = violation.limit;
  return (
    `${violation.requests} requests (${verbs}) within ${violation.clusterElapsedMs} ms of cluster-clock time ` +
    `(${Math.round(violation.realElapsedMs)} ms of real time), over the limit of ${maxRequests} per ${perMs} ms, ` +
    `at cluster time ${violation.at} ms; ${violation.rejected} requests answered 429, ${violation.held} held`
  );
}

/**
 * Counts every request that reaches the cluster's request layer (`transport()` and the API server alike)
 * in a sliding window on the cluster clock. The window is counted in requests, not only in time: on a
 * fake clock that does not move, a client looping through microtasks makes every request at one instant,
 * and they all fall into one window. Over the limit, requests are refused with 429 and `Retry-After`
 * (a client that honours it slows down, and its test can then fail with {@link RequestWatchdog.assertNoHotLoop});
 * a client that ignores as many 429s as the limit has its further requests held until it aborts them,
 * which ends a loop that never yields to timers or I/O instead of letting it starve the process.
 */
export class RequestWatchdogImplementation implements RequestWatchdog {
  readonly limit: WatchdogOptions | false;
  readonly #clock: FakeClock;
  readonly #logger: Logger;
  // Ring buffers of the last maxRequests + 1 requests: cluster time, real time, verb.
  readonly #times: Float64Array;
  readonly #realTimes: Float64Array;
  readonly #verbs: RequestVerb[];
  #count = 0;
  #current: Violation | undefined;
  #violations: Violation[] = [];

  constructor(options: { clock: FakeClock; logger: Logger; limit: WatchdogOptions | false | undefined }) {
    const limit = options.limit ?? DEFAULT_WATCHDOG;
    if (limit !== false) {
      if (!Number.isInteger(limit.maxRequests) || limit.maxRequests < 1) {
        throw new RangeError(`watchdog.maxRequests must be an integer >= 1, got ${limit.maxRequests}`);
      }
      if (!Number.isFinite(limit.perMs) || limit.perMs <= 0) {
        throw new RangeError(`watchdog.perMs must be a finite number > 0, got ${limit.perMs}`);
      }
    }
    this.limit = limit === false ? false : { maxRequests: limit.maxRequests, perMs: limit.perMs };
    this.#clock = options.clock;
    this.#logger = options.logger;
    const size = limit === false ? 0 : limit.maxRequests + 1;
    this.#times = new Float64Array(size);
    this.#realTimes = new Float64Array(size);
    this.#verbs = new Array<RequestVerb>(size);
  }

  get tripped(): boolean {
    return this.#current !== undefined;
  }

  violations(): WatchdogViolation[] {
    const limit = this.limit as WatchdogOptions;
    return this.#violations.map((violation) => ({ ...violation, verbs: { ...violation.verbs }, limit }));
  }

  assertNoHotLoop(): void {
    const [first] = this.violations();
    if (first === undefined) return;
    const more = this.#violations.length > 1 ? ` (and ${this.#violations.length - 1} more violations)` : '';
    throw new Error(
      `fake cluster watchdog: a client hot-looped: ${describeViolation(first)}${more}. A client must back off between retries.`,
    );
  }

  clear(): void {
    this.#violations = [];
    this.#current = undefined;
    this.#count = 0;
  }

  /**
   * Counts one request. Resolves at once when under the limit; over it, throws the 429 `KubernetesError`,
   * or (for a client that ignored as many 429s as the limit) returns a promise that only the signal
   * ends, with its abort reason.
   */
  admit(verb: RequestVerb, signal: AbortSignal): Promise<void> | undefined {
    const limit = this.limit;
    if (limit === false) return undefined;
    const size = limit.maxRequests + 1;
    const now = this.#clock.now();
    const slot = this.#count % size;
    this.#times[slot] = now;
    this.#realTimes[slot] = performance.now();
    this.#verbs[slot] = verb;
    this.#count++;
    // The oldest of the last maxRequests + 1 requests: if it is inside the window, the window holds too many.
    const oldest = this.#count % size;
    const over = this.#count >= size && now - (this.#times[oldest] as number) < limit.perMs;
    if (!over) {
      this.#current = undefined;
      return undefined;
    }
    let current = this.#current;
    if (current === undefined) {
      current = this.#trip(now, oldest, size);
      this.#current = current;
      this.#violations.push(current);
      this.#logger.warn(
        { watchdog: this.violations().at(-1) },
        `fake cluster watchdog: hot loop: ${describeViolation(this.violations().at(-1) as WatchdogViolation)}; answering 429 until the rate drops`,
      );
    }
    if (current.rejected < limit.maxRequests) {
      current.rejected++;
      const retryAfterSeconds = Math.max(1, Math.ceil(limit.perMs / 1_000));
      throw statusError(
        429,
        `Too many requests: the fake cluster's watchdog saw more than ${limit.maxRequests} requests within ${limit.perMs} ms; please back off`,
        { retryAfterSeconds },
        'TooManyRequests',
      );
    }
    if (current.held === 0) {
      this.#logger.warn(
        { watchdog: this.violations().at(-1) },
        'fake cluster watchdog: the client ignores 429 and Retry-After: holding its requests until it aborts them',
      );
    }
    current.held++;
    return new Promise<void>((_, reject) => {
      const fail = () =>
        reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
  }

  #trip(now: number, oldest: number, size: number): Violation {
    const verbs: Partial<Record<RequestVerb, number>> = {};
    for (const verb of this.#verbs) verbs[verb] = (verbs[verb] ?? 0) + 1;
    const newest = (this.#count - 1) % size;
    return {
      at: now,
      requests: size,
      clusterElapsedMs: now - (this.#times[oldest] as number),
      realElapsedMs: (this.#realTimes[newest] as number) - (this.#realTimes[oldest] as number),
      verbs,
      rejected: 0,
      held: 0,
    };
  }
}
