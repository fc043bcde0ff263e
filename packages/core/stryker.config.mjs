// Mutation testing of @podstorage/core: `pnpm mutation` (root) or `pnpm --filter @podstorage/core mutation`.
// Stryker runs from the repository root, because the tests that prove the engine live in three packages
// (core's unit tests, the in-process conformance suite, the fake's PodStorage test): see
// vitest.mutation.config.ts, which points every `@podstorage/*` import at source so the mutants are seen.
// Pass `--mutate packages/core/src/timeout.ts` (or a glob) to mutate fewer files.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Named explicitly: with pnpm the runner is not a sibling of @stryker-mutator/core, where Stryker looks.
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'packages/core/vitest.mutation.config.ts' },
  // Only the tests that cover a mutant run against it: the conformance suite is the slow part.
  coverageAnalysis: 'perTest',
  mutate: [
    'packages/core/src/**/*.ts',
    '!packages/core/src/**/*.test.ts',
    // Re-exports and type-only modules: nothing to mutate that a test could observe.
    '!packages/core/src/index.ts',
    '!packages/core/src/kubernetes.ts',
    '!packages/core/src/transport.ts',
    // Core's manual clock and scripted transport for its own tests.
    '!packages/core/src/test-clock.ts',
    '!packages/core/src/test-transport.ts',
    '!packages/core/src/test-measurement.ts',
  ],
  // The machine has 2 cores shared with other work; raise with `--concurrency 2` when it is yours.
  concurrency: 1,
  // A mutant that turns a wait into a hang is killed by the timeout; a loaded machine must not make a
  // slow but correct run look like one.
  timeoutMS: 10_000,
  incremental: true,
  incrementalFile: 'packages/core/reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'packages/core/reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'packages/core/reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // The sandbox is a copy of the repository without what these tests never load.
  ignorePatterns: [
    '/apps',
    '/docs',
    '/bench',
    '/packages/undici',
    '/packages/client-node',
    'dist',
    'coverage',
    '.turbo',
  ],
  tempDirName: '.stryker-tmp',
};
