import { inspect, isDeepStrictEqual } from 'node:util';

/** Thrown when a conformance check fails; the message says which promise of the design broke. */
export class ConformanceAssertionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformanceAssertionError';
  }
}

const show = (value: unknown): string => inspect(value, { depth: 6, breakLength: 100 });

/** Throws with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceAssertionError(message);
}

/** Throws unless `actual` deeply and strictly equals `expected`, showing both. */
export function assertEqual(actual: unknown, expected: unknown, message: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  throw new ConformanceAssertionError(
    `${message}\n  expected: ${show(expected)}\n  actual:   ${show(actual)}`,
  );
}

/** Renders a value for a failure message. */
export function describeValue(value: unknown): string {
  return show(value);
}
