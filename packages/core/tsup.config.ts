import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// supported-node is an entry of its own: the other packages import it first, as an external module.
export default defineConfig({ ...packageBuild, entry: ['src/index.ts', 'src/supported-node.ts'] });
