import { describe, expect, it } from 'vitest';
import { sameResourceVersion } from './resource-versions.js';

describe('sameResourceVersion', () => {
  it('is equality of the opaque strings, whatever their format', () => {
    expect(sameResourceVersion('42', '42')).toBe(true);
    expect(sameResourceVersion('abc/7', 'abc/7')).toBe(true);
    expect(sameResourceVersion('9', '10')).toBe(false);
    // Not numerically equal either: versions are never parsed.
    expect(sameResourceVersion('010', '10')).toBe(false);
  });

  it('never calls an unknown version the same as anything', () => {
    expect(sameResourceVersion(undefined, undefined)).toBe(false);
    expect(sameResourceVersion('', '')).toBe(false);
    expect(sameResourceVersion(undefined, '1')).toBe(false);
  });
});
