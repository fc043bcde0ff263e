import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from './clock.js';
import { Timeout } from './timeout.js';

/** A clock that moves only when told to, starting far from zero so that origins matter. */
function manualClock(start = 1_000_000) {
  let now = start;
  const timers = new Map<TimerHandle, { at: number; callback: () => void }>();
  const clock: Clock = {
    now: () => now,
    date: () => new Date(now),
    setTimeout(callback, ms) {
      const handle = {};
      timers.set(handle, { at: now + ms, callback });
      return handle;
    },
    clearTimeout(handle) {
      timers.delete(handle);
    },
  };
  return {
    clock,
    pending: () => timers.size,
    advance(ms: number) {
      now += ms;
      for (const [handle, timer] of [...timers]) {
        if (timer.at > now) continue;
        timers.delete(handle);
        timer.callback();
      }
    },
  };
}

describe('Timeout on a clock of its own', () => {
  it('counts elapsed time from its start, not from the origin of the clock', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time.clock });
    expect(timeout.elapsed()).toBe(0);
    time.advance(250);
    expect(timeout.elapsed()).toBe(250);
  });

  it('is not expired before its deadline, and is at it', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time.clock });
    expect(timeout.expired).toBe(false);
    time.advance(999);
    expect(timeout.expired).toBe(false);
    time.advance(1);
    expect(timeout.expired).toBe(true);
  });

  it('has one signal, however often it is read, behind one timer', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time.clock });
    const signal = timeout.signal;
    expect(timeout.signal).toBe(signal);
    expect(time.pending()).toBe(1);
    time.advance(1_000);
    expect(signal.aborted).toBe(true);
    expect(timeout.signal).toBe(signal);
  });

  it('gives partial timeouts the same clock', () => {
    const time = manualClock();
    const parent = new Timeout('job', 10_000, { clock: time.clock });
    const step = parent.partial(100, 'one request');
    const signal = step.signal;
    time.advance(100);
    expect(step.left()).toBe(0);
    expect(signal.aborted).toBe(true);
    expect(parent.left()).toBe(9_900);
  });

  it('disarms its timer at the end of a using block, as dispose() does', () => {
    const time = manualClock();
    let signal: AbortSignal;
    {
      using timeout = new Timeout('wait', 1_000, { clock: time.clock });
      signal = timeout.signal;
      expect(time.pending()).toBe(1);
    }
    expect(time.pending()).toBe(0);
    time.advance(5_000);
    expect(signal.aborted).toBe(false);
  });

  it('says what a valid length is when given an invalid one', () => {
    expect(() => new Timeout('wait', -5, { clock: manualClock().clock })).toThrow(
      /-5.*milliseconds, zero or more/,
    );
  });
});
