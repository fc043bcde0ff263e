import type { FakeClock } from '@podstorage/fake';

/** What {@link track} reads the time from: the clock the storage runs on. */
export interface NowSource {
  now(): number;
}

/**
 * How long the suite waits for a condition before failing. A condition fails only once both bounds
 * are exceeded, so a slow machine or a network backend gets real time, and a fast one still gets enough
 * event-loop turns.
 */
export interface Patience {
  /** Event-loop turns (macrotasks) to yield at least, before failing. Default 2 000. */
  readonly turns: number;
  /** Real milliseconds to keep trying at least, before failing. Default 2 000. */
  readonly realMs: number;
  /**
   * Turns yielded between two steps of the fake clock, so that work started by one step (including
   * socket I/O of a network backend) can finish before time moves again. Default 5.
   */
  readonly turnsPerStep: number;
}

export const DEFAULT_PATIENCE: Patience = { turns: 2_000, realMs: 2_000, turnsPerStep: 5 };

/** A real macrotask: promise reactions and ready I/O callbacks run before it resolves. */
export const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How {@link until} may move the fake clock while it waits. */
export interface ClockSteps {
  readonly clock: FakeClock;
  /** Milliseconds per step. */
  readonly stepMs: number;
  /** Fail once the clock has been moved this far without the condition becoming true. */
  readonly maxAdvanceMs: number;
}

/** What {@link until} is waiting for, for the failure message. */
export interface UntilOptions {
  readonly description: string;
  /** Extra state to print when the wait fails (recorded requests, counters). */
  readonly detail?: () => string;
  /** Move the fake clock in steps while waiting; without it only real event-loop turns pass. */
  readonly steps?: ClockSteps;
  /**
   * On the system clock: real milliseconds to keep trying on top of `patience.realMs` (the time the
   * condition may legitimately need, such as a stall to be detected), polling with a short real timer
   * between checks instead of spinning on macrotasks. Ignored when `steps` is given.
   */
  readonly realTimeMs?: number;
}

/** How often {@link until} re-checks a condition on the system clock, in real milliseconds. */
const POLL_MS = 2;
/** Lateness of a poll that counts as the process being starved (beyond timer jitter), real milliseconds. */
const STARVED_AFTER_MS = 3;
/** However starved the process, a wait fails once this many times its bound of real time has passed. */
const MAX_STARVATION_FACTOR = 10;

/** A real timer of `ms`: only between two checks of a condition, never to wait for something to happen. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown when a condition the suite waits for never becomes true. */
export class ConditionTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionTimeoutError';
  }
}

/**
 * Waits until `condition()` is true, yielding real macrotasks (never sleeping) and, when `steps` is given,
 * moving the fake clock forward step by step. Fails with a message naming what it waited for.
 */
export async function until(
  condition: () => boolean,
  patience: Patience,
  options: UntilOptions,
): Promise<void> {
  const started = performance.now();
  let turns = 0;
  let advanced = 0;
  // Real time the process was starved of (a loaded machine: every poll came back late) is not charged
  // to the condition: the bound is on time the program could have used, so it only catches a hang.
  let starvedMs = 0;
  const fail = (why: string): never => {
    const detail = options.detail ? `\n${options.detail()}` : '';
    throw new ConditionTimeoutError(`Timed out waiting for ${options.description} (${why})${detail}`);
  };
  for (;;) {
    if (condition()) return;
    const steps = options.steps;
    if (steps === undefined) {
      const realTimeMs = options.realTimeMs;
      // On the system clock the condition may need real time: after a burst of turns for what is
      // already under way, re-check every few milliseconds rather than keep a loaded CPU busy.
      const before = performance.now();
      if (realTimeMs !== undefined && turns >= patience.turnsPerStep) {
        await pause(POLL_MS);
        starvedMs += Math.max(0, performance.now() - before - POLL_MS - STARVED_AFTER_MS);
      } else await macrotask();
      turns += 1;
      const waited = performance.now() - started;
      const bound = patience.realMs + (realTimeMs ?? 0);
      // A hard cap all the same, so that a process starved for ever still fails with a message.
      const charged = Math.max(waited - starvedMs, waited / MAX_STARVATION_FACTOR);
      if (turns >= patience.turns && charged >= bound) {
        fail(
          `${turns} event-loop turns, ${Math.round(waited)} ms real time of which ${Math.round(starvedMs)} ms the event loop lagged`,
        );
      }
      continue;
    }
    for (let turn = 0; turn < patience.turnsPerStep; turn += 1) {
      await macrotask();
      if (condition()) return;
    }
    if (advanced >= steps.maxAdvanceMs)
      fail(`advanced the fake clock ${advanced} ms in ${steps.stepMs} ms steps`);
    await steps.clock.advance(steps.stepMs);
    advanced += steps.stepMs;
  }
}

/** Yields `turns` macrotasks: lets in-flight work settle before the suite checks that nothing happened. */
export async function settle(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) await macrotask();
}

/** A promise observed without awaiting it, so a test can check whether (and how) it has settled. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly status: 'pending' | 'fulfilled' | 'rejected';
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly reason: unknown;
  /** The time of `clock` (the storage's) when it settled. */
  readonly settledAt: number | undefined;
}

/** Starts observing `promise`; its rejection is captured, never reported as unhandled. */
export function track<T>(promise: Promise<T>, clock?: NowSource): Tracked<T> {
  const state: {
    promise: Promise<T>;
    status: 'pending' | 'fulfilled' | 'rejected';
    value: T | undefined;
    reason: unknown;
    settledAt: number | undefined;
    readonly settled: boolean;
  } = {
    promise,
    status: 'pending',
    value: undefined,
    reason: undefined,
    settledAt: undefined,
    get settled() {
      return this.status !== 'pending';
    },
  };
  promise.then(
    (value) => {
      state.status = 'fulfilled';
      state.value = value;
      state.settledAt = clock?.now();
    },
    (reason: unknown) => {
      state.status = 'rejected';
      state.reason = reason;
      state.settledAt = clock?.now();
    },
  );
  return state;
}

/** Pulls an async iterator in the background and keeps what it yields, how it ended, and when. */
export class Collector<T> {
  readonly items: T[] = [];
  done = false;
  failed = false;
  error: unknown;
  readonly iterator: AsyncIterator<T>;

  constructor(iterable: AsyncIterable<T> | AsyncIterator<T>) {
    this.iterator =
      Symbol.asyncIterator in iterable
        ? (iterable as AsyncIterable<T>)[Symbol.asyncIterator]()
        : (iterable as AsyncIterator<T>);
    void this.#pull();
  }

  /** True once the iteration ended, normally or with an error. */
  get finished(): boolean {
    return this.done || this.failed;
  }

  async #pull(): Promise<void> {
    try {
      for (;;) {
        const result = await this.iterator.next();
        if (result.done) {
          this.done = true;
          return;
        }
        this.items.push(result.value);
      }
    } catch (error) {
      this.failed = true;
      this.error = error;
    }
  }
}
