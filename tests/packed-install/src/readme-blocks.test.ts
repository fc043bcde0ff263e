import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishedPackages, REPOSITORY_ROOT } from './packed-project.js';
import { classify, isPortableLink, readReadme } from './readme-blocks.js';

describe('every code block of the root README and of each published package README', () => {
  it('is run by the packed-install test, or marked `no-run: <reason>` in its fence', () => {
    const readmes = [
      'README.md',
      ...publishedPackages().map(({ directory }) => `${relative(REPOSITORY_ROOT, directory)}/README.md`),
    ];
    const contents = readmes.map((file) => readReadme(REPOSITORY_ROOT, file));
    expect(contents.flatMap((content) => content.problems)).toEqual([]);
    // The READMEs do have examples to run: a parser that found none would pass the line above.
    const blocks = contents.flatMap((content) => content.blocks);
    expect(blocks.filter((block) => block.kind === 'program').length).toBeGreaterThan(3);
    expect(blocks.filter((block) => block.kind === 'test').length).toBeGreaterThan(1);
    expect(blocks.filter((block) => block.kind === 'not-run').every((block) => block.reason !== '')).toBe(
      true,
    );
  });
});

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
