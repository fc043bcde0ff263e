/**
 * A timeout for operations that must not time out during a scenario. Not scaled on the system clock:
 * it stands for "longer than the test", and a real timer this long is cleared when the operation ends.
 */
export const LONG_TIMEOUT = 3_600_000;

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
