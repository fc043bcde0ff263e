import type { Steps } from '../harness.js';

/** Short clock steps, for retries and reconnects (backoff starts at 500 ms). */
export const QUICK: Steps = { stepMs: 100, maxAdvanceMs: 120_000 };
/** Long clock steps, for stalls and server timeouts measured in minutes. */
export const SLOW: Steps = { stepMs: 1_000, maxAdvanceMs: 900_000 };

/** A resourceVersion as a number, to compare versions of the fake's single global counter. */
export function version(resourceVersion: unknown): bigint {
  if (typeof resourceVersion !== 'string' || !/^\d+$/.test(resourceVersion)) {
    throw new Error(`expected a decimal resourceVersion, got ${JSON.stringify(resourceVersion)}`);
  }
  return BigInt(resourceVersion);
}

/** A recognisable reason for user cancellation, to check it is passed through unchanged. */
export function cancellation(label: string): Error {
  const error = new Error(`cancelled by the test: ${label}`);
  error.name = 'ConformanceCancellation';
  return error;
}
