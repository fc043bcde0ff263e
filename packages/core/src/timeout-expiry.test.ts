import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from './clock.js';
import { ManualClock } from './test-clock.js';
import { Timeout } from './timeout.js';

// Issue 9, defect 1: a Node timer can fire up to ~1 ms before performance.now() reaches the deadline.
// Expiry must be one fact: the signal never fires while `expired` is false.
describe('Timeout expiry is one fact', () => {
  it('does not abort when its timer fires before the clock reaches the deadline', () => {
    const clock = new ManualClock({ earlyMs: 1 });
    const timeout = new Timeout('wait', 1_000, { clock });
    const seen: { expired: boolean; left: number }[] = [];
    timeout.signal.addEventListener('abort', () =>
      seen.push({ expired: timeout.expired, left: timeout.left() }),
    );
    clock.advance(999);
    expect(timeout.signal.aborted).toBe(false);
    expect(timeout.expired).toBe(false);
    clock.advance(1);
    expect(timeout.signal.aborted).toBe(true);
    expect(seen).toEqual([{ expired: true, left: 0 }]);
  });

  it('fires the signal as soon as expired is read past the deadline, even before its timer ran', () => {
    const clock = new ManualClock();
    const timeout = new Timeout('wait', 100, { clock });
    const signal = timeout.signal;
    clock.set(150);
    expect(signal.aborted).toBe(false);
    expect(timeout.expired).toBe(true);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('reports 0 left once the signal has fired', () => {
    const clock = new ManualClock();
    const timeout = new Timeout('wait', 10, { clock });
    void timeout.signal;
    clock.advance(10);
    expect(timeout.left()).toBe(0);
    expect(timeout.expired).toBe(true);
  });

  it('on the system clock, every abort of 200 timeouts comes with expired true and the deadline reached', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) => {
        const ms = 1 + (index % 25);
        const started = performance.now();
        const timeout = new Timeout(`wait ${index}`, ms);
        return new Promise<{ expired: boolean; reached: boolean }>((resolve) => {
          const check = () =>
            resolve({ expired: timeout.expired, reached: performance.now() - started >= ms });
          // On a busy machine the deadline may pass before the signal is first read: it is then
          // aborted at once, and no abort event will come.
          const signal = timeout.signal;
          if (signal.aborted) check();
          else signal.addEventListener('abort', check);
        });
      }),
    );
    expect(results.filter((result) => !result.expired)).toEqual([]);
    expect(results.filter((result) => !result.reached)).toEqual([]);
  });
});

// Issue 9, defect 2: Node's timers overflow at 2^31 ms and then fire at once.
describe('Timeouts of any length', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it.each([3e9, Number.MAX_SAFE_INTEGER])('never hands Node a delay it cannot hold (%d ms)', (ms) => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const timeout = new Timeout('long', ms, { clock: systemClock });
    expect(timeout.signal.aborted).toBe(false);
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1] ?? 0);
    expect(delays.length).toBeGreaterThan(0);
    expect(delays.filter((delay) => delay > 2 ** 31 - 1)).toEqual([]);
    timeout.dispose();
  });

  it('a 3e9 ms timeout fires at its deadline, not before', () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const timeout = new Timeout('long', 3e9, { clock: systemClock });
    const signal = timeout.signal;
    vi.advanceTimersByTime(2 ** 31);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(3e9 - 2 ** 31 - 1);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
  });

  it('an infinite timeout arms no timer at all', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const timeout = new Timeout('forever', Number.POSITIVE_INFINITY, { clock: systemClock });
    expect(timeout.signal.aborted).toBe(false);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    expect(timeout.expired).toBe(false);
    expect(timeout.left()).toBe(Number.POSITIVE_INFINITY);
  });

  it('systemClock timers of 2^31 ms or more, and infinite ones, do not fire early', () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push('3e9'), 3e9);
    systemClock.setTimeout(() => fired.push('infinite'), Number.POSITIVE_INFINITY);
    const cleared = systemClock.setTimeout(() => fired.push('cleared'), 2 ** 32);
    vi.advanceTimersByTime(2 ** 31 + 10);
    systemClock.clearTimeout(cleared);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(3e9);
    expect(fired).toEqual(['3e9']);
    vi.advanceTimersByTime(2 ** 33);
    expect(fired).toEqual(['3e9']);
  });
});
