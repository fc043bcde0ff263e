import { describe, expect, it } from 'vitest';
import { compareResourceVersions } from './resource-versions.js';

describe('compareResourceVersions on versions that are not plain decimals', () => {
  it('refuses to order a version with anything after its digits', () => {
    expect(compareResourceVersions('10a', '10')).toBeUndefined();
    expect(compareResourceVersions('10', '12 ')).toBeUndefined();
  });

  it('refuses to order when only the second version is opaque', () => {
    expect(compareResourceVersions('10', 'abc')).toBeUndefined();
    expect(compareResourceVersions('10', undefined)).toBeUndefined();
  });
});
