import { describe, expect, it } from 'vitest';
import { compareResourceVersions } from './resource-versions.js';

describe('compareResourceVersions', () => {
  it('orders decimal versions numerically, beyond the range of a double', () => {
    expect(compareResourceVersions('9', '10')).toBeLessThan(0);
    expect(compareResourceVersions('10', '9')).toBeGreaterThan(0);
    expect(compareResourceVersions('42', '42')).toBe(0);
    expect(compareResourceVersions('90071992547409930', '90071992547409931')).toBeLessThan(0);
  });

  it('refuses to order what is not a decimal integer', () => {
    expect(compareResourceVersions('abc', '10')).toBeUndefined();
    expect(compareResourceVersions('010', '10')).toBeUndefined();
    expect(compareResourceVersions(undefined, '10')).toBeUndefined();
    expect(compareResourceVersions('', '')).toBeUndefined();
  });
});
