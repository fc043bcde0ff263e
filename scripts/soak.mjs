#!/usr/bin/env node
// The long soak: every backend's soak test (`src/soak.test.ts`) run one package after another (the
// machines have two cores), each soak for SOAK_DURATION_MS of new seeds. CI runs the same files with a
// few runs each. Usage: `pnpm soak [package…] [-- vitest options]`, e.g. `pnpm soak undici -- -t WebSocket`.
// Every SOAK_* variable is passed on: SOAK_SEED, SOAK_PATH and SOAK_REPLAY_PATH replay a failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['conformance', 'undici', 'client-node'];
const separator = process.argv.indexOf('--');
const args = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator);
const vitestArgs = separator === -1 ? [] : process.argv.slice(separator + 1);
const chosen =
  args.length === 0 ? packages : packages.filter((name) => args.some((arg) => name.includes(arg)));
if (chosen.length === 0) {
  console.error(`soak: no package matches ${args.join(' ')} (packages: ${packages.join(', ')})`);
  process.exit(2);
}

const replaying = process.env.SOAK_PATH !== undefined;
const env = {
  ...process.env,
  // A replay runs the one failing case; otherwise each soak runs for a minute, with longer sequences.
  ...(replaying || process.env.SOAK_RUNS
    ? {}
    : { SOAK_DURATION_MS: process.env.SOAK_DURATION_MS ?? '60000' }),
  SOAK_COMMANDS: process.env.SOAK_COMMANDS ?? '80',
};
const vitest = join(root, 'node_modules', '.bin', 'vitest');
if (!existsSync(vitest)) {
  console.error('soak: node_modules/.bin/vitest is missing: run the install first');
  process.exit(2);
}

const started = performance.now();
const results = [];
for (const name of chosen) {
  const cwd = join(root, 'packages', name);
  console.log(
    `\nsoak: ${name} (SOAK_DURATION_MS=${env.SOAK_DURATION_MS ?? '-'}, SOAK_COMMANDS=${env.SOAK_COMMANDS})`,
  );
  const run = spawnSync(vitest, ['run', 'src/soak.test.ts', ...vitestArgs], { cwd, env, stdio: 'inherit' });
  results.push({ name, ok: run.status === 0 });
}
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(
  `\nsoak: ${results.map(({ name, ok }) => `${name} ${ok ? 'passed' : 'FAILED'}`).join(', ')} (${minutes} min)`,
);
process.exit(results.every(({ ok }) => ok) ? 0 : 1);
