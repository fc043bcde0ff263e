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

/** The real clock: `performance.now()` for deadlines, Node timers that do not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.max(0, ms));
    // A pending deadline alone must not keep a finished program running.
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
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
