import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { measureInChild } from './test-measurement.js';

// Issue 11, latency: what 10,000 armed waits hold is what the first minor garbage collections after
// arming copy (and then promote), a pause in the middle of the first phase changes. A wait holds one
// async frame, one follower, its Timeout and its place in the watch: 6.9 KB each before they were made
// classes instead of closures (one fewer async frame, no AbortSignal.any of its own), 3.4 KB after, on
// Node 24. Measured as a heap delta after full GCs in a child process (node --expose-gc) against the
// built package: sizes, not times.

const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface Measured {
  readonly waits: number;
  readonly bytesPerWait: number;
  readonly counters: { readonly watchesActive: number; readonly reads: number };
}

function measure(waits: number): Promise<Measured> {
  return measureInChild<Measured>('wait-memory.mjs', [String(waits)], 120_000);
}

describe('an armed wait', () => {
  it('holds at most 4 KB (5,000 waits on one shared watch, none reading)', async () => {
    // turbo builds before it tests; a bare `vitest run` needs `pnpm build` first.
    expect(existsSync(built), `build @podstorage/core first: ${built} is missing`).toBe(true);
    const measured = await measure(5_000);
    // They share the namespace's watch (the first wait, alone below the sharing threshold, watches its
    // pod) and read nothing: the measure is of waits at rest.
    expect(measured.counters.watchesActive).toBe(2);
    expect(measured.counters.reads).toBe(0);
    expect(measured.bytesPerWait).toBeGreaterThan(500);
    expect(measured.bytesPerWait).toBeLessThanOrEqual(4 * 1024);
  }, 150_000);
});
