import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// supported-node is an entry of its own: the other packages import it first, as an external module.
// No shared chunk: the check stays in supported-node.js itself (the one file "sideEffects" names, so
// bundlers keep it) and is inlined at the top of index.js (which has no external imports to run first).
export default defineConfig({
  ...packageBuild,
  entry: ['src/index.ts', 'src/supported-node.ts'],
  splitting: false,
});
