// The `lint:package` of every published package: lints the package as it will be published. It packs
// with pnpm, as `changeset publish` publishes (pnpm rewrites `workspace:` ranges to real ones; `npm pack`
// leaves them in and users cannot install the result), refuses a tarball that still holds a `workspace:`
// range, then runs publint and attw on that tarball.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (command, args) =>
  execFileSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const directory = mkdtempSync(join(tmpdir(), 'podstorage-lint-package-'));
try {
  run('pnpm', ['pack', '--pack-destination', directory]);
  const [tarball] = readdirSync(directory).filter((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`pnpm pack wrote no tarball into ${directory}`);
  const file = join(directory, tarball);
  const manifest = run('tar', ['-xzOf', file, 'package/package.json']);
  const workspaceRanges = manifest.split('\n').filter((line) => line.includes('"workspace:'));
  if (workspaceRanges.length > 0)
    throw new Error(`${tarball} still holds workspace: ranges:\n${workspaceRanges.join('\n')}`);
  execFileSync('publint', ['run', file, '--strict'], { stdio: 'inherit' });
  execFileSync('attw', [file, '--profile', 'esm-only'], { stdio: 'inherit' });
} finally {
  rmSync(directory, { recursive: true, force: true });
}
