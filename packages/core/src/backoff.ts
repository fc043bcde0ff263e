import { InvalidInputError } from './errors.js';

/** How the watch engine waits between failed attempts. */
export interface BackoffOptions {
  /** The first wait, in milliseconds. Default 500. */
  readonly initialMs?: number;
  /** The longest wait, in milliseconds. Default 30 000. */
  readonly maxMs?: number;
  /** A stream that stays healthy this long resets the backoff to its first step. Default 60 000. */
  readonly resetAfterMs?: number;
}

/**
 * Capped exponential backoff with jitter. Jitter spreads the retries of many clients after a server
 * restart, so they do not all come back in the same instant (the "thundering herd" of informers).
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
  readonly #random: () => number;
  #failures = 0;

  /** Throws {@link InvalidInputError} for a wait that is not a positive number (a zero or NaN wait is a hot loop). */
  constructor(options: BackoffOptions, random: () => number) {
    this.initialMs = positive('backoff.initialMs', options.initialMs ?? 500);
    this.maxMs = positive('backoff.maxMs', options.maxMs ?? 30_000);
    this.resetAfterMs = positive('backoff.resetAfterMs', options.resetAfterMs ?? 60_000);
    if (this.maxMs < this.initialMs) {
      throw new InvalidInputError('backoff', options, 'maxMs must not be smaller than initialMs');
    }
    this.#random = random;
  }

  /**
   * The wait before the next attempt, at least `retryAfterSeconds` when the server asked for it.
   * Between half and all of the capped exponential step, so it never hot-loops at zero.
   */
  next(retryAfterSeconds?: number): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** this.#failures);
    this.#failures += 1;
    const jittered = step / 2 + (step / 2) * this.#random();
    const asked = Number.isFinite(retryAfterSeconds) ? (retryAfterSeconds as number) * 1000 : 0;
    return Math.max(jittered, asked);
  }

  /** Forget past failures, after a healthy period. */
  reset(): void {
    this.#failures = 0;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }
}

function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || value === Number.POSITIVE_INFINITY) {
    throw new InvalidInputError(option, value, 'must be a positive, finite number of milliseconds');
  }
  return value;
}
