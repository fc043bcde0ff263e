import { describe, expect, it } from 'vitest';
import { alternate, goalTable, median, percentile, ratio } from './report.ts';

describe('report statistics', () => {
  it('takes the lower middle as the median and ignores NaN', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('alternates the order of candidates between runs', () => {
    expect(alternate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(alternate(['a', 'b', 'c'], 1)).toEqual(['c', 'b', 'a']);
  });

  it('prints PASS when the measured value is within the target, MISS otherwise', () => {
    const [, , pass, miss, missing] = goalTable([
      { goal: 'fast', measured: 1, unit: 'ms', target: 2 },
      { goal: 'slow', measured: 3, unit: 'ms', target: 2 },
      { goal: 'absent', reason: 'crashed' },
    ]);
    expect(pass).toMatch(/0\.50×\s+PASS$/);
    expect(miss).toMatch(/1\.50×\s+MISS$/);
    expect(missing).toMatch(/MISSING \(crashed\)$/);
    expect(ratio(1, 0)).toBe('—');
  });
});
