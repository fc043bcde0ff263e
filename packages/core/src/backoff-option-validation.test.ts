import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { InvalidInputError } from './errors.js';

describe('Backoff refuses options that would make it hot-loop or lie', () => {
  it('accepts a cap equal to the first wait: every wait is then the same', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 100 }, () => 0.999_999_999);
    expect([backoff.next(), backoff.next()].map(Math.round)).toEqual([100, 100]);
  });

  it('names the backoff when its cap is below its first wait', () => {
    const create = () => new Backoff({ initialMs: 1_000, maxMs: 10 }, Math.random);
    expect(create).toThrow(InvalidInputError);
    expect(create).toThrow(/^Invalid backoff \{"initialMs":1000,"maxMs":10\}: maxMs must not be smaller/);
  });

  it('refuses a wait given as a string, saying what a wait must be', () => {
    const create = () => new Backoff({ initialMs: '100' as unknown as number }, Math.random);
    expect(create).toThrow(
      'Invalid backoff.initialMs "100": must be a positive, finite number of milliseconds',
    );
  });
});
