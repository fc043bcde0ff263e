import type { Options } from 'tsup';

/** How every published package builds: ESM for Node 22+, with declarations and sourcemaps. */
export const packageBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
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
