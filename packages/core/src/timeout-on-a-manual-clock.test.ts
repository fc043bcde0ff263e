import { describe, expect, it } from 'vitest';
import type { Clock } from './clock.js';
import { ManualClock } from './test-clock.js';
import { Timeout } from './timeout.js';

/** A manual clock far from its origin, so that a timeout's own start matters. */
function manualClock() {
  const clock = new ManualClock();
  clock.set(1_000_000);
  return clock;
}

describe('Timeout on a clock of its own', () => {
  it('counts elapsed time from its start, not from the origin of the clock', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time });
    expect(timeout.elapsed()).toBe(0);
    time.advance(250);
    expect(timeout.elapsed()).toBe(250);
  });

  it('is not expired before its deadline, and is at it', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time });
    expect(timeout.expired).toBe(false);
    time.advance(999);
    expect(timeout.expired).toBe(false);
    time.advance(1);
    expect(timeout.expired).toBe(true);
  });

  it('has one signal, however often it is read, behind one timer', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 1_000, { clock: time });
    const signal = timeout.signal;
    expect(timeout.signal).toBe(signal);
    expect(time.pendingTimers).toBe(1);
    time.advance(1_000);
    expect(signal.aborted).toBe(true);
    expect(timeout.signal).toBe(signal);
  });

  it('gives partial timeouts the same clock', () => {
    const time = manualClock();
    const parent = new Timeout('job', 10_000, { clock: time });
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
      using timeout = new Timeout('wait', 1_000, { clock: time });
      signal = timeout.signal;
      expect(time.pendingTimers).toBe(1);
    }
    expect(time.pendingTimers).toBe(0);
    time.advance(5_000);
    expect(signal.aborted).toBe(false);
  });

  it('leaves no timer behind once expired is read past the deadline, before its timer could run', () => {
    const time = manualClock();
    const timeout = new Timeout('wait', 100, { clock: time });
    void timeout.signal;
    time.set(time.now() + 150);
    expect(timeout.expired).toBe(true);
    expect(time.pendingTimers).toBe(0);
  });

  it('asks its clock for no timer at all when it is infinite', () => {
    const time = manualClock();
    const asked: number[] = [];
    const clock: Clock = {
      now: () => time.now(),
      date: () => time.date(),
      setTimeout: (callback, ms) => {
        asked.push(ms);
        return time.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => time.clearTimeout(handle),
    };
    const timeout = new Timeout('forever', Number.POSITIVE_INFINITY, { clock });
    expect(timeout.signal.aborted).toBe(false);
    expect(asked).toEqual([]);
  });

  it('says what a valid length is when given an invalid one', () => {
    expect(() => new Timeout('wait', -5, { clock: manualClock() })).toThrow(/-5.*milliseconds, zero or more/);
  });
});
