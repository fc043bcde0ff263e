import { describe, expect, it } from 'vitest';
import { classify, isPortableLink } from './readme-blocks.js';

describe('what the fence info string of a README block says', () => {
  it('runs ts blocks as programs, `ts test` blocks as test files, and skips only with a reason', () => {
    expect(classify('ts', null)).toBe('program');
    expect(classify('typescript', '')).toBe('program');
    expect(classify('ts', 'test')).toBe('test');
    expect(classify('ts', 'no-run: a fragment of the example above')).toBe('not-run');
    expect(classify('sh', 'no-run: needs a clone of the repository')).toBe('not-run');
  });

  it('reports every block that does not say what to do with it', () => {
    expect(classify('sh', null)).toMatch(/mark it `sh no-run: <reason>`/);
    expect(classify(null, null)).toMatch(/without a language/);
    expect(classify('ts', 'no-run')).toMatch(/needs a reason/);
    expect(classify('ts', 'no-run:   ')).toMatch(/needs a reason/);
    expect(classify('ts', 'tset')).toMatch(/unknown word/);
  });

  it('takes absolute and in-page links as working on npm, relative ones not', () => {
    expect(isPortableLink('https://github.com/podstorage/podstorage/blob/main/docs/architecture.md')).toBe(
      true,
    );
    expect(isPortableLink('#the-kubernetes-api-server')).toBe(true);
    expect(isPortableLink('../../docs/architecture.md')).toBe(false);
    expect(isPortableLink('mutation/equivalent-mutants.md')).toBe(false);
  });
});
