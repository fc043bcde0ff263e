// The packages as npm users get them: packed as they will be published, installed with plain npm into
// a project outside the monorepo, every README example typechecked there (TypeScript strict, nodenext
// and bundler resolution, skipLibCheck false) and run (programs against the fake API server, test
// files with vitest), and on an unsupported Node every package refuses to load with a clear message.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { isSupportedNodeVersion } from '@podstorage/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleCluster } from './example-cluster.js';
import {
  type CommandResult,
  createPackedProject,
  type PackedProject,
  publishedPackages,
  publishedReadmes,
  REPOSITORY_ROOT,
  readManifest,
  runCommand,
  userEnvironment,
} from './packed-project.js';
import { isPortableLink, type ReadmeBlock, readReadme } from './readme-blocks.js';

const PACKAGES = publishedPackages();
const READMES = publishedReadmes();
const CONTENTS = READMES.map((file) => readReadme(REPOSITORY_ROOT, file));
const BLOCKS = CONTENTS.flatMap((content) => content.blocks);
const PROGRAMS = BLOCKS.filter((block) => block.kind === 'program');
const TEST_FILES = BLOCKS.filter((block) => block.kind === 'test');

/** The example's file name in the project: where it came from, so failures point at the README. */
function exampleName(block: ReadmeBlock): string {
  const slug = block.file === 'README.md' ? 'root' : dirname(block.file).replaceAll('/', '-');
  return `${slug}-readme-line-${block.line}${block.kind === 'test' ? '.test' : ''}`;
}

// The README examples that prove a backend of one's own import `createMyTransport` from this file: given
// our undici transport, they must pass as written.
const MY_TRANSPORT = `// The reader's own transport in the READMEs' "write your own backend" examples: here, ours.
export { createUndiciTransport as createMyTransport } from '@podstorage/undici';
`;

const COMPILER_OPTIONS = {
  target: 'ES2023',
  lib: ['ES2023', 'ESNext.Disposable', 'ESNext.AsyncIterable'],
  strict: true,
  skipLibCheck: false,
  types: ['node'],
};

let packed: PackedProject;
// Started together once the project exists (the machine is shared: in parallel they take the time of
// the slowest), awaited by the tests that judge them.
let typechecks: Record<'nodenext' | 'bundler', Promise<CommandResult>>;
let exampleTests: Promise<CommandResult>;

beforeAll(async () => {
  packed = await createPackedProject();
  const examples = join(packed.project, 'examples');
  mkdirSync(examples);
  writeFileSync(join(examples, 'my-transport.ts'), MY_TRANSPORT);
  for (const block of [...PROGRAMS, ...TEST_FILES])
    writeFileSync(join(examples, `${exampleName(block)}.ts`), block.code);
  const tsconfig = (options: object) =>
    `${JSON.stringify({ compilerOptions: options, include: ['examples'] }, null, 2)}\n`;
  writeFileSync(
    join(packed.project, 'tsconfig.nodenext.json'),
    tsconfig({
      ...COMPILER_OPTIONS,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      outDir: 'out',
      rootDir: 'examples',
    }),
  );
  writeFileSync(
    join(packed.project, 'tsconfig.bundler.json'),
    tsconfig({ ...COMPILER_OPTIONS, module: 'esnext', moduleResolution: 'bundler', noEmit: true }),
  );
  writeFileSync(
    join(packed.project, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { include: ['examples/**/*.test.ts'], testTimeout: 120_000 } });\n`,
  );
  const typecheck = (tsconfig: string) =>
    runCommand(join(packed.project, 'node_modules/.bin/tsc'), ['-p', tsconfig, '--pretty', 'false'], {
      cwd: packed.project,
      timeoutMs: 300_000,
    });
  typechecks = { nodenext: typecheck('tsconfig.nodenext.json'), bundler: typecheck('tsconfig.bundler.json') };
  exampleTests = runCommand(join(packed.project, 'node_modules/.bin/vitest'), ['run'], {
    cwd: packed.project,
    env: userEnvironment({ HOME: packed.project, CI: 'true', NO_COLOR: '1' }),
    timeoutMs: 300_000,
  });
});

afterAll(() => {
  if (packed !== undefined && process.env.PACKED_INSTALL_KEEP === undefined)
    rmSync(packed.root, { recursive: true, force: true });
  else if (packed !== undefined) console.log(`packed-install: kept ${packed.root}`);
});

describe.each(PACKAGES.map(({ manifest, directory }) => ({ name: manifest.name, directory })))(
  'the tarball of $name',
  ({ name, directory }) => {
    const installed = () => {
      const location = packed.installed.get(name);
      if (location === undefined) throw new Error(`${name} was not installed`);
      return location;
    };

    it('has no workspace: range, caret ranges for what users install, and its metadata', () => {
      const text = readFileSync(join(installed(), 'package.json'), 'utf8');
      expect(text).not.toContain('workspace:');
      const manifest = readManifest(installed());
      for (const [dependency, range] of Object.entries({
        ...manifest.dependencies,
        ...manifest.peerDependencies,
      }))
        for (const alternative of range.split('||'))
          expect(alternative.trim(), `${name}: ${dependency}@${range}`).toMatch(/^\^\d/);
      expect(manifest.engines?.node).toBe('>=22.19');
      expect(manifest.license).toBe(readManifest(REPOSITORY_ROOT).license);
      expect(manifest.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
      expect(manifest.repository?.directory).toBe(relative(REPOSITORY_ROOT, directory));
      expect(manifest.homepage).toMatch(/^https:\/\//);
      expect(manifest.bugs?.url).toMatch(/^https:\/\//);
    });

    it('has the LICENSE, a CHANGELOG from changesets and a README whose links work on npm', () => {
      expect(readFileSync(join(installed(), 'LICENSE'), 'utf8')).toBe(
        readFileSync(join(REPOSITORY_ROOT, 'LICENSE'), 'utf8'),
      );
      expect(readFileSync(join(installed(), 'CHANGELOG.md'), 'utf8')).toMatch(new RegExp(`^# ${name}\\n`));
      const readme = relative(REPOSITORY_ROOT, join(directory, 'README.md'));
      const links = readReadme(REPOSITORY_ROOT, readme).links.filter(({ url }) => !isPortableLink(url));
      expect(links.map(({ url, line }) => `${readme}:${line}: ${url}`)).toEqual([]);
    });

    it('has declaration maps that lead into the sources it ships', () => {
      const dist = join(installed(), 'dist');
      const declarations = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) =>
        file.endsWith('.d.ts'),
      );
      expect(declarations).toContain('index.d.ts');
      for (const declaration of declarations) {
        const map = join(dist, `${declaration}.map`);
        expect(existsSync(map), `${declaration}.map`).toBe(true);
        const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
        for (const source of sources) expect(existsSync(join(dirname(map), source)), source).toBe(true);
      }
    });
  },
);

describe('the README examples, in the packed install', () => {
  it.each(['nodenext', 'bundler'] as const)(
    'typecheck under moduleResolution %s, strict, skipLibCheck false',
    async (resolution) => {
      const result = await typechecks[resolution];
      // Errors name the example file, whose name says which README line it comes from.
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    },
  );

  // Each program has a cluster of its own: they run side by side.
  it.concurrent.each(PROGRAMS.map((block) => ({ where: `${block.file}:${block.line}`, block })))(
    'program $where runs to its end against the fake API server',
    async ({ block }) => {
      const compiled = join(packed.project, 'out', `${exampleName(block)}.js`);
      // The nodenext typecheck emits the JavaScript (even when it reports errors, judged above).
      await typechecks.nodenext;
      expect(existsSync(compiled), compiled).toBe(true);
      const cluster = await startExampleCluster(packed.project, exampleName(block));
      try {
        const result = await runCommand(process.execPath, [compiled], {
          cwd: packed.project,
          // HOME too: ~/.kube/config of whoever runs the tests must not be read.
          env: userEnvironment({ KUBECONFIG: cluster.kubeconfig, HOME: packed.project }),
          // A bound on hangs only: the programs take a few seconds (their pods run for one).
          timeoutMs: 120_000,
        });
        expect(
          result.signal,
          `${block.file}:${block.line} was killed: it did not end\n${result.output}`,
        ).toBe(null);
        expect(result.code, result.output).toBe(0);
      } finally {
        await cluster.close();
      }
    },
  );

  it('test files pass with vitest', async () => {
    const result = await exampleTests;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(new RegExp(`Test Files +${TEST_FILES.length} passed`));
  });
});

/** Every `node` on PATH outside node_modules, with its version. */
function systemNodes(): { path: string; version: string }[] {
  const found: { path: string; version: string }[] = [];
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(directory, 'node');
    if (directory.includes('node_modules') || !existsSync(path)) continue;
    const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (!found.some((node) => node.version === version)) found.push({ path, version });
  }
  return found;
}

const OLD_NODE = systemNodes().find(({ version }) => !isSupportedNodeVersion(version));
if (OLD_NODE === undefined)
  console.warn('packed-install: no Node older than 22.19 on PATH: the unsupported-Node test is SKIPPED');

describe.skipIf(OLD_NODE === undefined)(`on the system's Node ${OLD_NODE?.version}`, () => {
  it.concurrent.each(PACKAGES.map(({ manifest }) => manifest.name))(
    '%s fails at import naming the Node it needs',
    async (name) => {
      const result = await runCommand(
        OLD_NODE?.path as string,
        ['--input-type=module', '-e', `import '${name}';`],
        {
          cwd: packed.project,
          env: userEnvironment(),
          timeoutMs: 60_000,
        },
      );
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(`need Node.js >= 22.19`);
      expect(result.output).toContain(`this is Node.js ${OLD_NODE?.version}`);
      // Not a crash inside a dependency first.
      expect(result.output).not.toContain("reading 'bind'");
    },
  );

  it('the fake cluster bin fails the same way', async () => {
    const bin = join(packed.installed.get('@podstorage/fake') as string, 'bin/podstorage-fake-cluster.js');
    const result = await runCommand(OLD_NODE?.path as string, [bin], {
      cwd: packed.project,
      env: userEnvironment(),
      timeoutMs: 60_000,
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('need Node.js >= 22.19');
  });
});
