import { defineConfig } from 'tsup';

export default defineConfig({
  // bin.ts starts with a `#!/usr/bin/env node` line, which esbuild keeps on that entry only.
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node22',
});
