import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs `scripts/<name>` of this package in a child process (`node --expose-gc`), so that the heap it
 * measures holds nothing but the measurement, and resolves with the JSON of its last line.
 */
export function measureInChild<T>(name: string, args: readonly string[], timeoutMs: number): Promise<T> {
  const script = fileURLToPath(new URL(`../scripts/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', script, ...args],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${script} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T);
      },
    );
  });
}
