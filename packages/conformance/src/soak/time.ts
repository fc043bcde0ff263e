import { type Clock, systemClock, type TimerHandle } from '@podstorage/core';
import type { FakeClock } from '@podstorage/fake';
import { ConditionTimeoutError, macrotask, settle } from '../waiting.js';

/** A {@link Clock} that counts the timers scheduled on it and not yet fired or cleared: leaks show. */
export class CountingClock implements Clock {
  readonly #inner: Clock;
  readonly #pending = new Set<TimerHandle>();

  constructor(inner: Clock) {
    this.#inner = inner;
  }

  now(): number {
    return this.#inner.now();
  }

  date(): Date {
    return this.#inner.date();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = this.#inner.setTimeout(() => {
      this.#pending.delete(handle);
      callback();
    }, ms);
    this.#pending.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle);
    this.#inner.clearTimeout(handle);
  }

  /** Timers scheduled and neither fired nor cleared. */
  pendingTimers(): number {
    return this.#pending.size;
  }
}

/**
 * How scenario time passes in a soak run. On the fake clock the soak moves the cluster's clock (which the
 * storage shares) in small steps, yielding real turns between them; on the system clock real time passes
 * and the cluster's clock follows it.
 */
export interface SoakTime {
  readonly mode: 'fake' | 'system';
  /** The storage's clock, counting its timers. */
  readonly storageClock: CountingClock;
  /** The storage clock's now. */
  now(): number;
  /** Lets `ms` of scenario time pass, calling `observe` between steps. */
  pass(ms: number, observe: () => void): Promise<void>;
  /**
   * Waits until `condition()` holds, letting scenario time pass, for at most `boundMs` (fake clock ms or
   * real ms). Throws a {@link ConditionTimeoutError} naming `description` and `detail()` otherwise.
   */
  until(condition: () => boolean, description: string, boundMs: number, detail?: () => string): Promise<void>;
  /** Yields real turns so in-flight work settles, without moving the fake clock. */
  settle(): Promise<void>;
  /** Stops following real time (system clock). */
  stop(): Promise<void>;
}

const FAKE_STEP_MS = 10;
const FAKE_TURNS_PER_STEP = 8;

/** Scenario time on the cluster's manual clock, shared with the storage: deterministic. */
export function fakeTime(clock: FakeClock): SoakTime {
  const storageClock = new CountingClock(clock);
  const step = async (ms: number): Promise<void> => {
    await settle(FAKE_TURNS_PER_STEP);
    await clock.advance(ms);
  };
  return {
    mode: 'fake',
    storageClock,
    now: () => clock.now(),
    async pass(ms, observe) {
      let left = ms;
      while (left > 0) {
        const next = Math.min(FAKE_STEP_MS, left);
        await step(next);
        left -= next;
        observe();
      }
      await settle(FAKE_TURNS_PER_STEP);
      observe();
    },
    async until(condition, description, boundMs, detail) {
      let advanced = 0;
      for (;;) {
        if (condition()) return;
        await settle(FAKE_TURNS_PER_STEP);
        if (condition()) return;
        if (advanced >= boundMs) {
          throw new ConditionTimeoutError(
            `Timed out waiting for ${description} (moved the fake clock ${advanced} ms)${detail ? `\n${detail()}` : ''}`,
          );
        }
        await clock.advance(FAKE_STEP_MS);
        advanced += FAKE_STEP_MS;
      }
    },
    settle: () => settle(FAKE_TURNS_PER_STEP),
    stop: async () => {},
  };
}

const realDelay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Scenario time on the system clock; the cluster's clock follows real time `speed` times faster. */
export function systemTime(clusterClock: FakeClock, speed: number): SoakTime {
  const storageClock = new CountingClock(systemClock);
  const stopFollowing = clusterClock.followRealTime({ speed, tickMs: 5 });
  return {
    mode: 'system',
    storageClock,
    now: () => storageClock.now(),
    async pass(ms, observe) {
      const end = performance.now() + ms;
      // Observed every 50 ms, so deletions the cluster's timers finish are seen near when they happen.
      for (let left = ms; left > 0; left = end - performance.now()) {
        await realDelay(Math.min(50, left));
        observe();
      }
      observe();
    },
    async until(condition, description, boundMs, detail) {
      const started = performance.now();
      for (let turn = 0; ; turn += 1) {
        if (condition()) return;
        const elapsed = performance.now() - started;
        if (elapsed >= boundMs) {
          throw new ConditionTimeoutError(
            `Timed out waiting for ${description} (${Math.round(elapsed)} ms real time)${detail ? `\n${detail()}` : ''}`,
          );
        }
        // A condition checked every few milliseconds, not a sleep standing in for it: turns first, so
        // that what is already under way is seen at once, then short timers, to spare a loaded machine.
        if (turn < 20) await macrotask();
        else await realDelay(5);
      }
    },
    settle: () => settle(FAKE_TURNS_PER_STEP),
    stop: stopFollowing,
  };
}
