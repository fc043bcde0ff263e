import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from './clock.js';
import { InvalidInputError } from './errors.js';
import { Timeout } from './timeout.js';

describe('Timeout', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts down on the monotonic clock and never goes negative', () => {
    const timeout = new Timeout('wait', 1_000, { clock: systemClock });
    vi.advanceTimersByTime(400);
    expect(timeout.elapsed()).toBe(400);
    expect(timeout.left()).toBe(600);
    vi.advanceTimersByTime(5_000);
    expect(timeout.left()).toBe(0);
    expect(timeout.expired).toBe(true);
  });

  it('ignores changes of the wall clock', () => {
    const timeout = new Timeout('wait', 1_000, { clock: systemClock });
    vi.setSystemTime(Date.now() + 3_600_000);
    expect(timeout.left()).toBe(1_000);
  });

  it('aborts its signal at the deadline with a TimeoutError naming the operation', () => {
    const timeout = new Timeout('waitForPhase pod default/web', 1_000, { clock: systemClock });
    const signal = timeout.signal;
    vi.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect((signal.reason as DOMException).message).toContain('waitForPhase pod default/web');
  });

  it('arms no timer until the signal is read, and dispose disarms it', () => {
    const timeout = new Timeout('wait', 1_000, { clock: systemClock });
    expect(vi.getTimerCount()).toBe(0);
    void timeout.signal;
    expect(vi.getTimerCount()).toBe(1);
    timeout.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a zero timeout is aborted at once', () => {
    expect(new Timeout('wait', 0, { clock: systemClock }).signal.aborted).toBe(true);
  });

  it('partial() ends at the earlier of its own length and the parent deadline', () => {
    const parent = new Timeout('job', 1_000, { clock: systemClock });
    vi.advanceTimersByTime(800);
    expect(parent.partial(5_000).left()).toBe(200);
    expect(parent.partial(50).left()).toBe(50);
  });

  it.each([-1, Number.NaN, '10' as unknown as number])('rejects %s as a length, naming it', (ms) => {
    expect(() => new Timeout('wait', ms)).toThrow(InvalidInputError);
    expect(() => new Timeout('wait', ms)).toThrow(/Invalid timeout/);
  });

  it('an infinite timeout never aborts and arms no timer', () => {
    const timeout = new Timeout('forever', Number.POSITIVE_INFINITY, { clock: systemClock });
    expect(timeout.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
