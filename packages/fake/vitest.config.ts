import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // vitest's 5 s default fails tests on a busy machine (CI shares its cores): these bounds only end a
    // test that hangs. Waits inside tests have their own, shorter real-time bounds with a message.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
