import type { Clock, TimerHandle } from '@podstorage/core';

/** The wall-clock time a {@link FakeClock} starts at unless told otherwise. */
export const DEFAULT_FAKE_CLOCK_START = new Date('2026-01-01T00:00:00Z');

interface ScheduledTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** The handle a {@link FakeClock} returns from `setTimeout`. */
class FakeTimerHandle {
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
}

// A real macrotask: every promise reaction queued so far (and those they queue) runs before it.
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * More timers than this firing at one instant can only be a timer that re-arms itself without delay:
 * 10,000 operations timing out together are 10,000, not 100,000.
 */
const MAX_TIMERS_AT_ONE_INSTANT = 100_000;

/**
 * A manual, deterministic {@link Clock}. Time stands still until {@link FakeClock.advance} moves it, firing
 * due timers one by one in time order (ties in the order they were scheduled). Between timers it yields a
 * real macrotask, so the promise chains a timer starts settle before the next timer fires, exactly as
 * they would on a real clock; tests therefore never sleep.
 */
export class FakeClock implements Clock {
  readonly #startWall: number;
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, ScheduledTimer>();
  #advancing: Promise<void> = Promise.resolve();

  /** @param options.start the wall-clock time of `now() === 0`; default 2026-01-01T00:00:00Z. */
  constructor(options: { start?: Date } = {}) {
    this.#startWall = (options.start ?? DEFAULT_FAKE_CLOCK_START).getTime();
  }

  /** Milliseconds since the clock was created, moved only by {@link FakeClock.advance}. */
  now(): number {
    return this.#now;
  }

  /** The wall-clock time: the start date plus {@link FakeClock.now}. */
  date(): Date {
    return new Date(this.#startWall + this.#now);
  }

  /** Schedules `callback` at `now() + ms` (negative or NaN count as 0); it fires during an `advance`. */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + delay, callback });
    return new FakeTimerHandle(id);
  }

  /** Cancels a timer; unknown, fired or foreign handles are ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof FakeTimerHandle) this.#timers.delete(handle.id);
  }

  /** How many timers are scheduled and neither fired nor cleared: compare with a baseline to find leaks. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** When the next timer is due, in `now()` milliseconds, or `undefined` when none is scheduled. */
  nextTimerAt(): number | undefined {
    return this.#earliest()?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer due within the window in time order, including timers
   * that fired callbacks schedule inside the window. Awaits a real macrotask before and after each firing
   * so that promise reactions settle. Calls made while another `advance` runs queue behind it. Rejects
   * when more than 100,000 timers fire at one instant (a timer re-arming itself at 0 ms), which would
   * otherwise never end.
   */
  advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      return Promise.reject(new RangeError(`FakeClock.advance: ms must be a finite number >= 0, got ${ms}`));
    }
    const run = this.#advancing.then(() => this.#run(ms));
    // A failing callback rejects this advance, but must not poison the ones queued after it.
    this.#advancing = run.catch(() => {});
    return run;
  }

  /**
   * Advances to the next due timer (if any, and at most `limitMs` away) and fires it with everything due
   * at the same instant. Returns whether a timer fired.
   */
  async advanceToNextTimer(limitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const next = this.nextTimerAt();
    if (next === undefined || next - this.#now > limitMs) return false;
    await this.advance(Math.max(0, next - this.#now));
    return true;
  }

  /**
   * Lets this clock follow the wall clock, `speed` times faster, for programs (a demo, a server for
   * manual testing) rather than tests: every `tickMs` of real time it advances `tickMs * speed`.
   * Returns a function that stops following and resolves once an advance in flight has finished; until
   * it is called a real interval keeps the process alive. An advance that fails (a callback throws, a
   * timer re-arming itself at 0 ms) is left unhandled: the program stops with that error instead of
   * running on with time frozen.
   */
  followRealTime(options: { speed?: number; tickMs?: number } = {}): () => Promise<void> {
    const speed = options.speed ?? 1;
    const tickMs = options.tickMs ?? 20;
    if (!(speed > 0) || !(tickMs > 0)) {
      throw new RangeError(
        `FakeClock.followRealTime: speed and tickMs must be > 0, got ${speed} and ${tickMs}`,
      );
    }
    let last = performance.now();
    let inFlight: Promise<void> | undefined;
    const interval = setInterval(() => {
      // A slow tick must not pile advances up: the next tick catches up with the real time that passed.
      if (inFlight) return;
      const now = performance.now();
      const step = (now - last) * speed;
      last = now;
      inFlight = this.advance(step).finally(() => {
        inFlight = undefined;
      });
    }, tickMs);
    return async () => {
      clearInterval(interval);
      await inFlight;
    };
  }

  async #run(ms: number): Promise<void> {
    const target = this.#now + ms;
    await macrotask();
    let instant = Number.NaN;
    let firedAtInstant = 0;
    for (;;) {
      const timer = this.#earliest();
      if (timer === undefined || timer.at > target) break;
      this.#timers.delete(timer.id);
      this.#now = Math.max(this.#now, timer.at);
      if (this.#now === instant) firedAtInstant += 1;
      else [instant, firedAtInstant] = [this.#now, 1];
      // Time cannot pass while timers keep re-arming at the instant that fires them: the advance would
      // never end (a program following real time freezes, a test hangs). Fail it, naming the cause.
      if (firedAtInstant > MAX_TIMERS_AT_ONE_INSTANT) {
        throw new Error(
          `FakeClock: more than ${MAX_TIMERS_AT_ONE_INSTANT} timers fired at ${this.#now} ms without time passing: a timer re-arms itself at 0 ms (a hot loop)`,
        );
      }
      timer.callback();
      await macrotask();
    }
    this.#now = target;
    await macrotask();
  }

  #earliest(): ScheduledTimer | undefined {
    let earliest: ScheduledTimer | undefined;
    for (const timer of this.#timers.values()) {
      // Map iteration follows insertion order, so the first timer at a time is the first scheduled.
      if (earliest === undefined || timer.at < earliest.at) earliest = timer;
    }
    return earliest;
  }
}
