import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

export default defineConfig({
  ...packageBuild,
  // bin.ts starts with a `#!/usr/bin/env node` line, which esbuild keeps on that entry only.
  entry: ['src/index.ts', 'src/bin.ts'],
});
