import type { Options } from 'tsup';

/**
 * How every published package builds: ESM for Node 22+ with sourcemaps. The declarations (with
 * declaration maps into the published `src/`, which tsup's bundled declarations lack) come from
 * `tsc -p tsconfig.build.json`, run after tsup by each package's build script.
 */
export const packageBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node22',
};

/** How the apps build: one executable ESM entry. */
export const appBuild: Options = {
  entry: ['src/main.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node22',
  banner: { js: '#!/usr/bin/env node' },
};
