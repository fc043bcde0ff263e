import { defineConfig } from 'vitest/config';

/**
 * How every package runs its tests. vitest's 5 s default fails tests on a busy machine (CI shares two
 * cores with everything else): these bounds only end a test that hangs, and waits inside tests carry
 * their own real-time bounds with a message. No test may pass or fail on machine speed.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
