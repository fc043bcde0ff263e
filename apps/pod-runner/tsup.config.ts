import { defineConfig } from 'tsup';
import { appBuild } from '../../tsup.shared';

export default defineConfig(appBuild);
