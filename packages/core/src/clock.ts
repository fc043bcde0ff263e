/** An opaque handle for a timer scheduled on a {@link Clock}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * The source of time for timeouts, backoff, inactivity detection and server watch timeouts.
 * `now()` is monotonic milliseconds (never the wall clock), so a changed system time moves no deadline.
 * Tests swap in a manual clock (the fake cluster's) and drive time forward instead of sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds from an arbitrary origin. */
  now(): number;
  /** The wall-clock time, for timestamps shown to people and written into Kubernetes objects. */
  date(): Date;
  /** Calls `callback` once after `ms` milliseconds of this clock's time. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

// Node's timers hold a signed 32-bit delay: anything longer fires at once with a warning. Longer
// waits are chained in steps no longer than this.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A system-clock timer that may be re-armed in steps; `current` is the Node timer of the step in flight. */
class SystemTimer {
  current: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The real clock: `performance.now()` for deadlines, Node timers that do not keep the process alive.
 * Timers of any length work: waits past Node's 2^31 ms limit are chained, and an infinite one never fires.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  setTimeout(callback, ms) {
    const handle = new SystemTimer();
    if (Number.isNaN(ms) || ms === Number.POSITIVE_INFINITY) return handle;
    const due = performance.now() + Math.max(0, ms);
    const arm = (wait: number) => {
      const capped = wait > MAX_TIMER_MS;
      handle.current = setTimeout(
        () => {
          // Only a step cut short by the 2^31 limit is re-armed. Node may also fire a timer up to a
          // millisecond before performance.now() reaches it: callers that need the exact instant
          // (Timeout) check the clock themselves.
          if (capped) arm(due - performance.now());
          else {
            handle.current = undefined;
            callback();
          }
        },
        capped ? MAX_TIMER_MS : wait,
      );
      // A pending deadline alone must not keep a finished program running.
      handle.current.unref();
    };
    arm(Math.max(0, ms));
    return handle;
  },
  clearTimeout(handle) {
    if (!(handle instanceof SystemTimer)) return;
    if (handle.current !== undefined) clearTimeout(handle.current);
    handle.current = undefined;
  },
};

/** Resolves after `ms` of `clock` time; rejects with the signal's reason (and clears its timer) on abort. */
export function delay(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `callback` on the next turn of the event loop, after every callback already queued: what one
 * synchronous burst of calls (a loop starting 10,000 waits) started is all there by then. setImmediate
 * where the runtime has it (Node, Bun, Deno), else a zero timer. Not time: no clock is involved.
 */
export const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function'
    ? (callback) => setImmediate(callback)
    : (callback) => setTimeout(callback, 0);
