import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { InvalidInputError } from './errors.js';

/**
 * A monotonic deadline for one operation. `left()` and `elapsed()` read the clock; `signal` aborts at
 * the deadline with a `TimeoutError`, so every request made under it can be bounded by what is left.
 *
 * The deadline timer is only armed when `signal` is first read, and `dispose()` disarms it, so an
 * operation that finishes early leaves no timer behind.
 */
export class Timeout implements Disposable {
  /** What is being timed, used in error messages (`waitForPhase pod default/web`). */
  readonly operation: string;
  /** The length of the timeout in milliseconds, as given. */
  readonly ms: number;
  // Wall-clock start (ms since the epoch); a Date is made only for a report that needs one.
  readonly #startedAtMs: number;
  readonly #clock: Clock;
  readonly #start: number;
  readonly #deadline: number;
  #controller: AbortController | undefined;
  #timer: TimerHandle | undefined;
  #fired = false;

  constructor(operation: string, ms: number, options: { clock?: Clock } = {}) {
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
      throw new InvalidInputError('timeout', ms, 'must be a number of milliseconds, zero or more');
    }
    this.operation = operation;
    this.ms = ms;
    this.#clock = options.clock ?? systemClock;
    this.#start = this.#clock.now();
    this.#deadline = this.#start + ms;
    this.#startedAtMs = this.#clock.date().getTime();
  }

  /** Wall-clock start, for error reports. */
  get startedAt(): Date {
    return new Date(this.#startedAtMs);
  }

  /** Milliseconds left before the deadline; never negative, and 0 once the signal has fired. */
  left(): number {
    if (this.#fired) return 0;
    return Math.max(0, this.#deadline - this.#clock.now());
  }

  /** Milliseconds since the timeout started. */
  elapsed(): number {
    return this.#clock.now() - this.#start;
  }

  /**
   * True once the deadline has passed. Expiry is one fact: `signal` aborts exactly when this becomes
   * true (reading it past the deadline fires the signal at once), never before.
   */
  get expired(): boolean {
    if (this.#fired) return true;
    if (this.#clock.now() < this.#deadline) return false;
    this.#fire();
    return true;
  }

  /** Aborts at the deadline, with a `TimeoutError` DOMException as its reason. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#fired || this.#clock.now() >= this.#deadline) this.#fire();
      else this.#arm();
    }
    return this.#controller.signal;
  }

  /**
   * A shorter timeout inside this one, for a single step (a request, a final read): it ends after `ms`
   * or at this timeout's deadline, whichever comes first.
   */
  partial(ms: number, operation = this.operation): Timeout {
    return new Timeout(operation, Math.min(ms, this.left()), { clock: this.#clock });
  }

  // A timer may fire a little before the clock reaches the deadline (Node's timers round, and
  // performance.now() is finer): then it is re-armed for the rest, so the signal never runs ahead of
  // `expired`. An infinite deadline arms nothing.
  #arm(): void {
    const left = this.#deadline - this.#clock.now();
    if (left === Number.POSITIVE_INFINITY) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#clock.now() >= this.#deadline) this.#fire();
      else this.#arm();
    }, left);
  }

  #fire(): void {
    if (!this.#fired) {
      this.#fired = true;
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const controller = this.#controller;
    if (controller !== undefined && !controller.signal.aborted) {
      controller.abort(new DOMException(`${this.operation} timed out`, 'TimeoutError'));
    }
  }

  /** Disarms the deadline timer. The signal stays as it is; call when the operation is over. */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
