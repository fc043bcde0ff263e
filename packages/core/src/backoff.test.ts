import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles up to the cap, within the jitter band', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0.999_999);
    expect(Math.round(high.next())).toBe(100);
  });

  it('never waits less than the server asked with Retry-After', () => {
    const backoff = new Backoff({ initialMs: 100 }, () => 0);
    expect(backoff.next(7)).toBe(7_000);
  });

  it('starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 100 }, () => 0);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(50);
  });
});
