import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuTimes, leastStolen, stealPercent } from './host.ts';

/** A measurement that reports the given steal, one per call, and counts the calls. */
function scripted(steals: number[]) {
  const calls = { count: 0 };
  const measure = async () => {
    const stealPercentValue = steals[calls.count] ?? Number.NaN;
    calls.count += 1;
    return { stealPercent: stealPercentValue, call: calls.count };
  };
  return { calls, measure };
}

describe('the host’s steal', () => {
  it.skipIf(!existsSync('/proc/stat'))('reads the CPU times of /proc/stat, which only grow', async () => {
    const first = cpuTimes();
    expect(first?.total).toBeGreaterThan(0);
    expect(first?.steal).toBeGreaterThanOrEqual(0);
    const later = cpuTimes();
    expect(later?.total).toBeGreaterThanOrEqual(first?.total ?? 0);
  });

  it('is a share of all CPU time between two readings, NaN when unknown', () => {
    expect(stealPercent({ steal: 10, total: 1_000 }, { steal: 15, total: 1_200 })).toBeCloseTo(2.5);
    expect(stealPercent(undefined, { steal: 1, total: 2 })).toBeNaN();
    expect(stealPercent({ steal: 1, total: 2 }, { steal: 1, total: 2 })).toBeNaN();
  });

  it('keeps a measurement the host did not disturb', async () => {
    const { calls, measure } = scripted([1.5]);
    const kept = await leastStolen(measure, 2, 3);
    expect(kept).toEqual({ measured: { stealPercent: 1.5, call: 1 }, repeats: 0 });
    expect(calls.count).toBe(1);
  });

  it('measures again while the host took more than the limit, and keeps the least disturbed', async () => {
    const repeated: number[] = [];
    const { calls, measure } = scripted([12, 30, 4]);
    const kept = await leastStolen(measure, 2, 2, (stolen) => repeated.push(stolen));
    expect(calls.count).toBe(3);
    expect(kept).toEqual({ measured: { stealPercent: 4, call: 3 }, repeats: 2 });
    expect(repeated).toEqual([12, 12]);
  });

  it('stops as soon as a measurement is under the limit', async () => {
    const { calls, measure } = scripted([12, 0.5, 40]);
    const kept = await leastStolen(measure, 2, 5);
    expect(calls.count).toBe(2);
    expect(kept.measured.call).toBe(2);
    expect(kept.repeats).toBe(1);
  });

  it('never repeats a measurement whose steal is unknown, nor when no repeat is allowed', async () => {
    expect((await leastStolen(scripted([Number.NaN]).measure, 2, 3)).repeats).toBe(0);
    const { calls, measure } = scripted([50]);
    expect(await leastStolen(measure, 2, 0)).toMatchObject({ repeats: 0, measured: { stealPercent: 50 } });
    expect(calls.count).toBe(1);
  });
});
