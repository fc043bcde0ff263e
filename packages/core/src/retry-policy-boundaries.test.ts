import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import { WatchRetryPolicy } from './retry-policy.js';
import { noJitter } from './test-transport.js';

const BACKOFF = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

function afterFailures(count: number): WatchRetryPolicy {
  const policy = new WatchRetryPolicy(BACKOFF, noJitter);
  for (let failure = 0; failure < count; failure += 1) policy.afterError('retry', reset());
  return policy;
}

// The edges of "healthy" and "working" are inclusive: a stream that lasted exactly the time counts.
describe('WatchRetryPolicy at its boundaries', () => {
  it('a stream that ended after exactly resetAfterMs resets the backoff', () => {
    const policy = afterFailures(3);
    expect(policy.afterStream({ outcome: 'closed', lastedMs: 60_000, progressed: false })).toBe(0);
    expect(policy.failures).toBe(0);
  });

  it('a stream that broke after exactly resetAfterMs resets the backoff', () => {
    const policy = afterFailures(3);
    expect(policy.afterError('retry', reset(), 60_000, false)).toBe(0);
    expect(policy.failures).toBe(0);
  });

  it('a stream that lasted exactly a second worked: its end or break is resumed at once', () => {
    const policy = afterFailures(3);
    expect(policy.afterStream({ outcome: 'closed', lastedMs: 1_000, progressed: false })).toBe(0);
    expect(policy.afterError('retry', reset(), 1_000, false)).toBe(0);
    expect(policy.failures).toBe(3);
  });

  it('only a stream that worked allows another credentials refresh', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    expect(policy.mayRefreshCredentials()).toBe(true);
    policy.afterStream({ outcome: 'closed', lastedMs: 10, progressed: false });
    expect(policy.mayRefreshCredentials()).toBe(false);
  });

  it('relists at once after the first lost history, even when the server asked to wait', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    const tooLarge = KubernetesError.fromStatus({
      code: 504,
      reason: 'Timeout',
      message: 'Too large resource version',
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 },
    });
    expect(policy.afterError('relist', tooLarge)).toBe(0);
    expect(Math.round(policy.afterError('relist', tooLarge))).toBe(1_000);
  });
});
