import { defineConfig } from 'vitest/config';

// One file, run once: packing and installing take most of a minute on a busy machine. The bounds only
// end a run that hangs; every wait inside has its own.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
  },
});
