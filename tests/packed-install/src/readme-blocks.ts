// Reads the code blocks and links of the READMEs with a Markdown parser (mdast), and decides what the
// packed-install test does with each block, from its fence info string:
//
//   ```ts                    a program: typechecked (nodenext and bundler) and run with Node
//   ```ts test               a test file: typechecked and run with vitest
//   ```sh run                commands: run as one bash script (`set -euo pipefail`) from the repository
//                            root, against a fake API server as the current kubeconfig context
//                            (readme-commands.test.ts)
//   ```sh serve              servers, one command a line, each started the same way: it must print a
//                            http://127.0.0.1:PORT/ URL that answers, then stop cleanly (exit 0) on Ctrl-C
//   ```LANG no-run: REASON   not run, for the reason given (a fragment, sample output, a diagram)
//
// Anything else (no language, a `ts` block with another word, `no-run` without a reason, a shell block
// with neither `run` nor `no-run`) is a problem the test reports, so no block is left out by accident.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Code, Nodes } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';

/** What the test does with a block. */
export type BlockKind = 'program' | 'test' | 'shell' | 'serve' | 'not-run';

/** One fenced code block of a README, classified. */
export interface ReadmeBlock {
  /** The README, relative to the repository root. */
  readonly file: string;
  /** The line of the opening fence. */
  readonly line: number;
  readonly kind: BlockKind;
  /** Why the block is not run (kind `not-run`). */
  readonly reason?: string;
  readonly code: string;
}

/** A README and what it holds. */
export interface ReadmeContent {
  readonly blocks: readonly ReadmeBlock[];
  /** Blocks whose info string does not say what to do with them, as `file:line: why`. */
  readonly problems: readonly string[];
  /** Link targets (links, images, definitions) with their lines. */
  readonly links: readonly { readonly url: string; readonly line: number }[];
}

const TYPESCRIPT = new Set(['ts', 'typescript']);
const SHELL = new Set(['sh', 'bash', 'shell']);
const NO_RUN = /^no-run:\s*(\S.*)$/;

/** Classifies a fence info string (`lang` and `meta` as mdast splits it); a string is a problem. */
export function classify(
  lang: string | null | undefined,
  meta: string | null | undefined,
): BlockKind | string {
  const words = (meta ?? '').trim();
  if (!lang) return 'a block without a language: give it one, and `no-run: <reason>` unless it is TypeScript';
  const noRun = NO_RUN.exec(words);
  if (noRun) return 'not-run';
  if (words.startsWith('no-run')) return '`no-run` needs a reason: `no-run: <why it is not run>`';
  if (TYPESCRIPT.has(lang)) {
    if (words === '') return 'program';
    if (words === 'test') return 'test';
    return `unknown word(s) "${words}" after ${lang}: nothing, \`test\`, or \`no-run: <reason>\``;
  }
  if (SHELL.has(lang)) {
    if (words === 'run') return 'shell';
    if (words === 'serve') return 'serve';
    return `a ${lang} block is not run: mark it \`${lang} run\`, \`${lang} serve\`, or \`${lang} no-run: <reason>\``;
  }
  return `a ${lang} block is not run: mark it \`${lang} no-run: <reason>\``;
}

function visit(node: Nodes, seen: (node: Nodes) => void): void {
  seen(node);
  if ('children' in node) for (const child of node.children) visit(child, seen);
}

/** Parses one README (`file` relative to `root`). */
export function readReadme(root: string, file: string): ReadmeContent {
  const tree = fromMarkdown(readFileSync(`${root}/${file}`, 'utf8'));
  const blocks: ReadmeBlock[] = [];
  const problems: string[] = [];
  const links: { url: string; line: number }[] = [];
  visit(tree, (node) => {
    const line = node.position?.start.line ?? 0;
    if (node.type === 'link' || node.type === 'image' || node.type === 'definition') {
      links.push({ url: node.url, line });
      return;
    }
    if (node.type !== 'code') return;
    const code = node as Code;
    const kind = classify(code.lang, code.meta);
    if (kind === 'program' || kind === 'test' || kind === 'shell' || kind === 'serve')
      blocks.push({ file, line, kind, code: code.value });
    else if (kind === 'not-run') {
      const reason = NO_RUN.exec((code.meta ?? '').trim())?.[1] ?? '';
      blocks.push({ file, line, kind, reason, code: code.value });
    } else problems.push(`${file}:${line}: ${kind}`);
  });
  return { blocks, problems, links };
}

/** Whether a link works wherever the README is shown (npm, GitHub, an editor): absolute, or in-page. */
export function isPortableLink(url: string): boolean {
  return /^(https?:|mailto:)/.test(url) || url.startsWith('#');
}

/**
 * The documents outside the published packages whose blocks are checked too (relative to `root`): the
 * apps' and the benchmark's READMEs, and docs/. They are not shipped, so only shell blocks run there.
 */
export function repositoryDocuments(root: string): string[] {
  // Listed, not named, so a new app or document is checked from its first commit.
  const apps = readdirSync(`${root}/apps`)
    .sort()
    .map((app) => `apps/${app}/README.md`)
    .filter((file) => existsSync(`${root}/${file}`));
  const docs = readdirSync(`${root}/docs`)
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => `docs/${file}`);
  return [...apps, 'bench/README.md', ...docs];
}
