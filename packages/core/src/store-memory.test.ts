import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { measureInChild } from './test-measurement.js';

// Issue 11, memory: a namespace-wide watch of 50,000 realistic pods (managedFields and all) holds at most
// 25 MB of its own, and a relist does not double it. Measured as a heap delta after full GCs in a child
// process (node --expose-gc) that holds nothing else, against the built package: sizes, not times.

const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MB = 1024 * 1024;

interface Measured {
  readonly pods: number;
  readonly listedJsonBytes: number;
  readonly heldBytes: number;
  readonly duringRelistBytes: number;
  readonly afterRelistBytes: number;
}

function measure(pods: number): Promise<Measured> {
  return measureInChild<Measured>('store-memory.mjs', [String(pods)], 280_000);
}

describe('the store of a namespace-wide pod watch', () => {
  it('holds at most 25 MB for 50,000 realistic pods, and a relist does not double it', async () => {
    // turbo builds before it tests; a bare `vitest run` needs `pnpm build` first.
    expect(existsSync(built), `build @podstorage/core first: ${built} is missing`).toBe(true);
    const measured = await measure(50_000);
    // The pods as listed are ~230 MB of JSON: the store keeps a slim state of each, not the objects.
    expect(measured.listedJsonBytes).toBeGreaterThan(200 * MB);
    expect(measured.heldBytes).toBeLessThanOrEqual(25 * MB);
    expect(measured.afterRelistBytes).toBeLessThanOrEqual(25 * MB);
    // At the last page of a relist: the store, the names listed so far and one page being decoded.
    expect(measured.duringRelistBytes).toBeLessThan(1.75 * measured.heldBytes);
  }, 300_000);
});
