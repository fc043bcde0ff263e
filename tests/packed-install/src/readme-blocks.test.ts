import { describe, expect, it } from 'vitest';
import { publishedReadmes, REPOSITORY_ROOT } from './packed-project.js';
import { classify, isPortableLink, readReadme, repositoryDocuments } from './readme-blocks.js';

describe('every code block of the READMEs and of docs/', () => {
  const published = publishedReadmes().map((file) => readReadme(REPOSITORY_ROOT, file));
  const others = repositoryDocuments(REPOSITORY_ROOT).map((file) => readReadme(REPOSITORY_ROOT, file));

  it('is run by the packed-install test or the README commands test, or marked `no-run: <reason>`', () => {
    expect([...published, ...others].flatMap((content) => content.problems)).toEqual([]);
    // The READMEs do have examples to run: a parser that found none would pass the line above.
    const blocks = published.flatMap((content) => content.blocks);
    expect(blocks.filter((block) => block.kind === 'program').length).toBeGreaterThan(3);
    expect(blocks.filter((block) => block.kind === 'test').length).toBeGreaterThan(1);
    const all = [...published, ...others].flatMap((content) => content.blocks);
    expect(all.filter((block) => block.kind === 'shell').length).toBeGreaterThan(0);
    expect(all.filter((block) => block.kind === 'not-run').every((block) => block.reason !== '')).toBe(true);
  });

  it('include the apps, the benchmark and docs/', () => {
    expect(repositoryDocuments(REPOSITORY_ROOT)).toEqual(
      expect.arrayContaining([
        'apps/pod-runner/README.md',
        'apps/spawner-web/README.md',
        'bench/README.md',
        'docs/architecture.md',
      ]),
    );
  });

  it('outside the published READMEs is a shell block or not run: no TypeScript is left unchecked', () => {
    // The packed install typechecks and runs the TypeScript of the published READMEs only.
    const typescript = others
      .flatMap((content) => content.blocks)
      .filter((block) => block.kind === 'program' || block.kind === 'test');
    expect(typescript.map((block) => `${block.file}:${block.line}`)).toEqual([]);
  });
});

describe('what the fence info string of a README block says', () => {
  it('runs ts blocks as programs, `ts test` blocks as test files, `sh run` as commands, skips only with a reason', () => {
    expect(classify('ts', null)).toBe('program');
    expect(classify('typescript', '')).toBe('program');
    expect(classify('ts', 'test')).toBe('test');
    expect(classify('sh', 'run')).toBe('shell');
    expect(classify('bash', 'run')).toBe('shell');
    expect(classify('sh', 'serve')).toBe('serve');
    expect(classify('ts', 'no-run: a fragment of the example above')).toBe('not-run');
    expect(classify('sh', 'no-run: needs a clone of the repository')).toBe('not-run');
  });

  it('reports every block that does not say what to do with it', () => {
    expect(classify('sh', null)).toMatch(/mark it `sh run`, `sh serve`, or `sh no-run: <reason>`/);
    expect(classify('sh', 'runn')).toMatch(/mark it `sh run`/);
    expect(classify('text', 'run')).toMatch(/mark it `text no-run: <reason>`/);
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
