// The `sh run` blocks of the READMEs and of docs/, run as written: each block as one bash script
// (`set -euo pipefail`, so every command must succeed) from the repository root, the way a reader runs
// them from a clone, with the current kubeconfig context pointing at a fake API server of its own (so
// the apps' "current context" commands run against a cluster), and a HOME of its own (so no reader's
// ~/.kube/config is read: the fake's kubeconfig is there too). The `sh serve` blocks are servers: each
// command is started so, must print the URL it serves, which must answer, and must stop cleanly on the
// Ctrl-C a terminal sends its whole process group. The apps must be built (turbo builds them first).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startExampleCluster } from './example-cluster.js';
import { publishedReadmes, REPOSITORY_ROOT, runCommand, userEnvironment } from './packed-project.js';
import { type ReadmeBlock, readReadme, repositoryDocuments } from './readme-blocks.js';

const BLOCKS = [...publishedReadmes(), ...repositoryDocuments(REPOSITORY_ROOT)].flatMap(
  (file) => readReadme(REPOSITORY_ROOT, file).blocks,
);
const SHELL_BLOCKS = BLOCKS.filter((block) => block.kind === 'shell');
const SERVE_BLOCKS = BLOCKS.filter((block) => block.kind === 'serve');

/** Runs `body` with a fresh HOME whose ~/.kube/config, like KUBECONFIG, is a fake API server's. */
async function withCluster(body: (env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'readme-commands-'));
  const cluster = await startExampleCluster(home, 'cluster');
  try {
    mkdirSync(join(home, '.kube'));
    copyFileSync(cluster.kubeconfig, join(home, '.kube/config'));
    await body(
      userEnvironment({
        KUBECONFIG: cluster.kubeconfig,
        HOME: home,
        // npx keeps the reader's npm settings and cache, where it finds pnpm without the network
        // (turbo does not pass the CA settings a registry request may need): only the kubeconfig is the
        // test's own.
        NPM_CONFIG_USERCONFIG: join(homedir(), '.npmrc'),
        NPM_CONFIG_CACHE: join(homedir(), '.npm'),
        NPM_CONFIG_PREFER_OFFLINE: 'true',
        CI: 'true',
        NO_COLOR: '1',
      }),
    );
  } finally {
    await cluster.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The commands of a `sh serve` block: its lines, but blank and comment-only ones. */
function commands(block: ReadmeBlock): string[] {
  return block.code.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

/**
 * Starts `command` in a process group of its own, waits (bounded) for the URL it prints, GETs it, sends
 * the group SIGINT as a terminal's Ctrl-C does, and returns the exit code, the page's status and the output.
 */
async function serveOnce(
  command: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number; code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const child = spawn('bash', ['-c', command], { cwd: REPOSITORY_ROOT, env, detached: true });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stopped = () => child.exitCode !== null || child.signalCode !== null;
  const url = new Promise<string>((resolve) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+\/\S*/.exec(output);
      if (found) resolve(found[0]);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
  });
  const bound = <T>(promise: Promise<T>, ms: number, what: string) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${what} within ${ms} ms:\n${output}`)), ms).unref(),
      ),
      exited.then((code) => {
        throw new Error(`exited (${code}) before ${what}:\n${output}`);
      }),
    ]);
  try {
    // Bounds on hangs only: the first command builds what it needs (turbo's cache makes that quick).
    const page = await fetch(await bound(url, 120_000, 'it printed a URL'));
    await page.arrayBuffer();
    process.kill(-(child.pid as number), 'SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`it did not stop on SIGINT:\n${output}`)), 60_000).unref(),
      ),
    ]);
    return { status: page.status, code, signal: child.signalCode, output };
  } finally {
    if (!stopped()) process.kill(-(child.pid as number), 'SIGKILL');
  }
}

describe('the README commands', () => {
  it('are there: the apps show how to run them', () => {
    expect(SHELL_BLOCKS.map((block) => block.file)).toContain('apps/pod-runner/README.md');
  });

  // Each block has a cluster and a HOME of its own: they run side by side.
  it.concurrent.each(SHELL_BLOCKS.map((block) => ({ where: `${block.file}:${block.line}`, block })))(
    '$where runs to its end, every command succeeding',
    async ({ block }) => {
      await withCluster(async (env) => {
        const result = await runCommand('bash', ['-c', `set -euo pipefail\n${block.code}`], {
          cwd: REPOSITORY_ROOT,
          env,
          // A bound on hangs only: the commands take seconds.
          timeoutMs: 180_000,
        });
        expect(
          result.signal,
          `${block.file}:${block.line} was killed: it did not end\n${result.output}`,
        ).toBe(null);
        expect(result.code, `${block.file}:${block.line}\n${result.output}`).toBe(0);
      });
    },
  );

  it.concurrent.each(SERVE_BLOCKS.map((block) => ({ where: `${block.file}:${block.line}`, block })))(
    '$where: each command serves its URL and stops cleanly on Ctrl-C',
    async ({ block }) => {
      expect(commands(block).length).toBeGreaterThan(0);
      await withCluster(async (env) => {
        for (const command of commands(block)) {
          const served = await serveOnce(command, env);
          expect(served.status, `${command}\n${served.output}`).toBe(200);
          // npx (npm's launcher) dies of the SIGINT, as it does in a terminal; the app under it must
          // stop cleanly, with no stack trace. (pnpm's "Command failed with signal SIGINT" noise is
          // judged on a real terminal by apps/spawner-web/src/ctrl-c.test.ts: a group SIGINT without one
          // still draws it under `pnpm --filter … start`.)
          if (served.signal !== 'SIGINT') expect(served.code, `${command}\n${served.output}`).toBe(0);
          expect(served.output).not.toMatch(/\n\s+at /);
        }
      });
    },
  );
});
