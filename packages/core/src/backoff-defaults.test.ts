import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff options', () => {
  it('default to the documented steps: 500 ms first, 30 s at most, reset after 60 s of health', () => {
    const backoff = new Backoff({}, () => 0);
    expect(backoff.initialMs).toBe(500);
    expect(backoff.maxMs).toBe(30_000);
    expect(backoff.resetAfterMs).toBe(60_000);
  });

  it('keep the values given', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 20, resetAfterMs: 30 }, () => 0);
    expect(backoff.initialMs).toBe(10);
    expect(backoff.maxMs).toBe(20);
    expect(backoff.resetAfterMs).toBe(30);
  });
});
