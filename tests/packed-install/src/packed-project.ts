// Builds the project a new user would have: every published package packed as `changeset publish`
// publishes it (pnpm pack, which rewrites `workspace:` ranges), installed from the tarballs with plain
// npm into a fresh directory outside the monorepo, with the README examples written into it.
import { type ExecFileException, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo's root directory. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A package.json, as far as these tests read it. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly engines?: Readonly<Record<string, string>>;
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string };
  readonly homepage?: string;
  readonly bugs?: { readonly url?: string };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

export function readManifest(directory: string): Manifest {
  return JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as Manifest;
}

/** The published packages: every package under packages/ that is not private, by directory. */
export function publishedPackages(): { readonly directory: string; readonly manifest: Manifest }[] {
  const root = join(REPOSITORY_ROOT, 'packages');
  return readdirSync(root)
    .map((name) => join(root, name))
    .map((directory) => ({ directory, manifest: readManifest(directory) }))
    .filter(({ manifest }) => !manifest.private);
}

/** The READMEs the packed install runs the TypeScript of: the root one and each published package's. */
export function publishedReadmes(): string[] {
  return [
    'README.md',
    ...publishedPackages().map(({ directory }) => `${relative(REPOSITORY_ROOT, directory)}/README.md`),
  ];
}

/** What a finished command printed. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/**
 * Runs a command to its end (never rejects: the caller decides what an exit status means); killed
 * after `timeoutMs`, which only bounds a hang.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs, maxBuffer: 64 << 20 },
      (error: ExecFileException | null, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error === null) resolve({ code: 0, signal: null, output });
        else
          resolve({
            code: typeof error.code === 'number' ? error.code : null,
            signal: error.signal ?? null,
            output: `${output}${typeof error.code === 'string' ? `\n${command}: ${error.code}` : ''}`,
          });
      },
    );
  });
}

function failed(what: string, result: CommandResult): Error {
  return new Error(`${what} failed (exit ${result.code ?? result.signal}):\n${result.output}`);
}

/** The environment of a command run for a user's project: none of pnpm's settings leak into npm. */
export function userEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_)/i.test(key)) continue;
    environment[key] = value;
  }
  return { ...environment, ...extra };
}

/** PATH without the `node_modules/.bin` directories pnpm puts in front of it for scripts. */
function withoutWorkspaceBins(path: string | undefined): string {
  return (path ?? '')
    .split(delimiter)
    .filter((entry) => !/[\\/]node_modules[\\/]\.bin$/.test(entry))
    .join(delimiter);
}

/** Packs one package with pnpm into the empty directory `destination`; returns the tarball's path. */
export async function pack(directory: string, destination: string): Promise<string> {
  // pnpm is on PATH in every script pnpm runs; run directly (vitest), fall back to the pinned one.
  let result = await runCommand('pnpm', ['pack', '--pack-destination', destination], {
    cwd: directory,
    timeoutMs: 120_000,
  });
  if (result.output.includes('pnpm: ENOENT'))
    result = await runCommand('npx', ['-y', 'pnpm@10.34.8', 'pack', '--pack-destination', destination], {
      cwd: directory,
      timeoutMs: 180_000,
    });
  if (result.code !== 0) throw failed(`pnpm pack in ${directory}`, result);
  const tarball = readdirSync(destination).find((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`pnpm pack in ${directory} wrote no tarball`);
  return join(destination, tarball);
}

/** A fresh project outside the monorepo with the tarballs and the tools its examples need installed. */
export interface PackedProject {
  /** The temporary directory holding `tarballs/` and `project/`. */
  readonly root: string;
  readonly project: string;
  /** Where each published package was installed, by name. */
  readonly installed: ReadonlyMap<string, string>;
}

/** The versions the monorepo pins, so the user's project uses the same tools. */
function pinned(): Record<string, string> {
  const root = readManifest(REPOSITORY_ROOT).devDependencies ?? {};
  const clientNode = readManifest(join(REPOSITORY_ROOT, 'packages/client-node')).devDependencies ?? {};
  const fake = readManifest(join(REPOSITORY_ROOT, 'packages/fake')).devDependencies ?? {};
  const version = (from: Readonly<Record<string, string>>, name: string): string => {
    const found = from[name];
    if (found === undefined) throw new Error(`no pinned version of ${name} in the monorepo`);
    return found;
  };
  return {
    typescript: version(root, 'typescript'),
    vitest: version(root, 'vitest'),
    '@types/node': version(root, '@types/node'),
    '@kubernetes/client-node': version(clientNode, '@kubernetes/client-node'),
    // @kubernetes/client-node's declarations import `ws` (through isomorphic-ws) without shipping its
    // types: a user with skipLibCheck false needs them (its README says so).
    '@types/ws': version(fake, '@types/ws'),
  };
}

/** Packs every published package and installs the tarballs with npm into a new project. */
export async function createPackedProject(): Promise<PackedProject> {
  const root = mkdtempSync(join(tmpdir(), 'podstorage-packed-'));
  const tarballs = join(root, 'tarballs');
  const project = join(root, 'project');
  mkdirSync(tarballs);
  mkdirSync(project);
  // Packed side by side, each into a directory of its own, so no tarball can be taken for another's.
  const packed = await Promise.all(
    publishedPackages().map(async ({ directory, manifest }, index) => {
      const destination = join(tarballs, String(index));
      mkdirSync(destination);
      return [manifest.name, `file:${await pack(directory, destination)}`] as const;
    }),
  );
  const dependencies: Record<string, string> = Object.fromEntries(packed);
  const versions = pinned();
  dependencies['@kubernetes/client-node'] = versions['@kubernetes/client-node'] as string;
  const devDependencies = Object.fromEntries(
    ['typescript', 'vitest', '@types/node', '@types/ws'].map((name) => [name, versions[name] as string]),
  );
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'a-user-project', private: true, type: 'module', dependencies, devDependencies }, null, 2)}\n`,
  );
  // From the npm cache when it has everything (offline machines), else from the registry.
  const npm = ['install', '--no-audit', '--no-fund', '--loglevel=error'];
  // The user's own npm, on the user's own Node: pnpm puts the monorepo's Node 24 first on PATH, and npm
  // run on it reads that Node's global npmrc instead of the machine's (where a registry CA may be set).
  const env = userEnvironment({ PATH: withoutWorkspaceBins(process.env.PATH) });
  let installed = await runCommand('npm', [...npm, '--offline'], { cwd: project, env, timeoutMs: 300_000 });
  if (installed.code !== 0)
    installed = await runCommand('npm', [...npm, '--prefer-offline'], {
      cwd: project,
      env,
      timeoutMs: 300_000,
    });
  if (installed.code !== 0) throw failed('npm install of the packed packages', installed);
  const locations = new Map<string, string>();
  for (const { manifest } of publishedPackages())
    locations.set(manifest.name, join(project, 'node_modules', ...manifest.name.split('/')));
  return { root, project, installed: locations };
}
