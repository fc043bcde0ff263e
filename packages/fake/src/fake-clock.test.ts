import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { waitFor } from './test-support.js';

describe('FakeClock', () => {
  it('starts at the given wall time and moves only when advanced', async () => {
    const clock = new FakeClock({ start: new Date('2030-05-01T00:00:00Z') });
    expect(clock.now()).toBe(0);
    await clock.advance(1_500);
    expect(clock.now()).toBe(1_500);
    expect(clock.date().toISOString()).toBe('2030-05-01T00:00:01.500Z');
  });

  it('fires due timers in time order, ties in scheduling order, each at its own time', async () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push('late'), 1_000);
    await clock.advance(300);
    expect(fired).toEqual(['a@100', 'b@100', 'c@300']);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextTimerAt()).toBe(1_000);
  });

  it('fails an advance that a timer re-arming itself at 0 ms would never end, naming the hot loop', {
    timeout: 120_000,
  }, async () => {
    const clock = new FakeClock();
    let fired = 0;
    const rearm = () => {
      fired += 1;
      clock.setTimeout(rearm, 0);
    };
    clock.setTimeout(rearm, 10);
    // Issue 10 item 11's runaway: a retry computed as -1.8e-12 ms fired at its own instant forever,
    // freezing a clock that followed real time. Now the advance fails instead of never ending.
    await expect(clock.advance(1_000)).rejects.toThrow(
      /timers fired at 10 ms without time passing.*hot loop/,
    );
    expect(fired).toBe(100_000);
    expect(clock.now()).toBe(10);
  });

  it('fires 10,000 timers due at one instant', async () => {
    const clock = new FakeClock();
    let fired = 0;
    for (let index = 0; index < 10_000; index++) clock.setTimeout(() => fired++, 50);
    await clock.advance(100);
    expect(fired).toBe(10_000);
    expect(clock.now()).toBe(100);
  });

  it('fires timers that fired callbacks schedule inside the window', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      if (fired.length < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    await clock.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    await clock.advance(100);
    expect(fired).toEqual([10, 20, 30, 40, 50]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lets promise chains started by a timer settle before the next timer fires', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => order.push('chain of first'));
    }, 10);
    clock.setTimeout(() => order.push('second'), 10);
    await clock.advance(10);
    expect(order).toEqual(['chain of first', 'second']);
  });

  it('clearTimeout cancels, and ignores foreign or fired handles', async () => {
    const clock = new FakeClock();
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 10);
    clock.clearTimeout(handle);
    clock.clearTimeout({});
    await clock.advance(20);
    expect(fired).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('queues concurrent advances one after the other', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 150);
    await Promise.all([clock.advance(100), clock.advance(100)]);
    expect(seen).toEqual([150]);
    expect(clock.now()).toBe(200);
  });

  it('rejects a negative advance', async () => {
    await expect(new FakeClock().advance(-1)).rejects.toThrow(RangeError);
  });

  it('advanceToNextTimer jumps to the next due timer', async () => {
    const clock = new FakeClock();
    clock.setTimeout(() => {}, 5_000);
    expect(await clock.advanceToNextTimer()).toBe(true);
    expect(clock.now()).toBe(5_000);
    expect(await clock.advanceToNextTimer()).toBe(false);
  });
});

describe('FakeClock.followRealTime', () => {
  it('moves with the wall clock, scaled by speed, until stopped', async () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 50);
    const realStart = performance.now();
    const stop = clock.followRealTime({ speed: 10, tickMs: 1 });
    await waitFor(() => fired, 'the timer to fire in real time');
    await stop();
    const realElapsed = performance.now() - realStart;
    expect(clock.now()).toBeGreaterThanOrEqual(50);
    // At 10x, 50 ms of clock time needs at least about 5 ms of real time.
    expect(realElapsed).toBeGreaterThanOrEqual(4);
    const stoppedAt = clock.now();
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.now()).toBe(stoppedAt);
  });

  it('rejects a speed that is not positive, naming it', () => {
    expect(() => new FakeClock().followRealTime({ speed: 0 })).toThrow(/speed and tickMs must be > 0, got 0/);
  });
});
