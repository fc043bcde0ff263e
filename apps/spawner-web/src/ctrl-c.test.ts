// Ctrl-C as a user presses it, on the built spawner (`dist/main.js`; build first, as the README says).
// A terminal's Ctrl-C sends SIGINT to the whole foreground process group: pnpm, the spawner, and any
// shell between them; pnpm then forwards one more SIGINT to its child, and reports a child that dies
// of a signal as "ELIFECYCLE Command failed" (its lifecycle runner, `proc.on('close', (code, signal))`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(MAIN);
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!built) console.warn(`spawner-web Ctrl-C tests SKIPPED: ${MAIN} is not built (build the package first)`);
if (!hasScript) console.warn('spawner-web Ctrl-C under pnpm test SKIPPED: script (util-linux) is missing');

interface Run {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the output matches (bounded: a hang fails the test). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** The exit code (a signal as 128 + its number), bounded. */
  exited(ms?: number): Promise<number>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(command, args, { cwd: REPOSITORY, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : 15))),
  );
  const bounded = <T>(promise: Promise<T>, ms: number, what: string) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${what} within ${ms} ms; output so far:\n${output}`));
        }, ms).unref(),
      ),
    ]);
  return {
    child,
    output: () => output,
    waitFor: (pattern, ms = 60_000) =>
      bounded(
        new Promise<void>((resolve) => {
          const check = () => {
            if (pattern.test(output)) {
              listeners.delete(check);
              resolve();
            }
          };
          listeners.add(check);
          check();
        }),
        ms,
        `no ${pattern}`,
      ),
    exited: (ms = 30_000) => bounded(exit, ms, 'no exit'),
  };
}

describe.skipIf(!built)('Ctrl-C on the spawner', () => {
  it('stops cleanly with exit code 0 on one SIGINT', async () => {
    const spawner = run(process.execPath, [MAIN, '--port', '0']);
    await spawner.waitFor(/Ctrl-C stops it\./);
    spawner.child.kill('SIGINT');
    expect(await spawner.exited()).toBe(0);
    expect(spawner.output()).toMatch(/spawner stopped/);
  });

  it('under a package manager, takes the SIGINT it forwards for the same Ctrl-C, not for a second one', async () => {
    const spawner = run(process.execPath, [MAIN, '--port', '0'], {
      ...process.env,
      npm_lifecycle_event: 'start',
    });
    await spawner.waitFor(/Ctrl-C stops it\./);
    // The terminal's SIGINT, then pnpm's copy (procInterrupt: `proc.kill('SIGINT')`) right after it.
    spawner.child.kill('SIGINT');
    spawner.child.kill('SIGINT');
    const code = await spawner.exited();
    expect(spawner.output()).not.toMatch(/again, exiting at once/);
    expect(code).toBe(0);
  });

  it.skipIf(!hasScript)(
    'under pnpm, in a terminal, ends without pnpm’s error noise',
    async () => {
      // `script` gives pnpm a real pseudo-terminal; the ETX byte is Ctrl-C, which the terminal turns
      // into SIGINT for the whole foreground group, as when a user presses it.
      const pnpm = run('script', [
        '-qec',
        'npx -y pnpm@10.34.8 --filter @podstorage/spawner-web start -- --port 0',
        '/dev/null',
      ]);
      await pnpm.waitFor(/Ctrl-C stops it\./, 120_000);
      pnpm.child.stdin?.write('\x03');
      await pnpm.exited();
      expect(pnpm.output()).toMatch(/spawner stopped/);
      expect(pnpm.output()).not.toMatch(/ELIFECYCLE|ERR_PNPM|Command failed/);
    },
    180_000,
  );
});
