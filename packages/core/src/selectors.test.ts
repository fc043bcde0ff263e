import { describe, expect, it } from 'vitest';
import { formatFieldSelector } from './selectors.js';

describe('formatFieldSelector', () => {
  it('sorts fields so equal selectors give the same string', () => {
    expect(formatFieldSelector({ 'metadata.name': 'a', 'involvedObject.kind': 'Pod' })).toBe(
      'involvedObject.kind=Pod,metadata.name=a',
    );
  });

  it('escapes the characters that would change the selector', () => {
    expect(formatFieldSelector({ 'metadata.name': 'a,b=c\\d' })).toBe('metadata.name=a\\,b\\=c\\\\d');
  });

  it('is empty for no selector', () => {
    expect(formatFieldSelector(undefined)).toBe('');
  });
});
