import path from 'node:path';
import { defineConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// The tests Stryker runs against each mutant of core. Most of the engine's behaviour is proven by the
// conformance suite (in process, over the fake) rather than by core's own unit tests, so both run here,
// with the fake's tests that drive a PodStorage. Those packages import `@podstorage/core` through its
// built dist, which Stryker never mutates: every `@podstorage/*` import is aliased to its SOURCE, so
// there is exactly one core in the process and it is the mutated one. Paths hang off this file's own
// directory, so the config works both in place and in a Stryker sandbox (a copy of the repository).
const root = path.resolve(import.meta.dirname, '../..');
const source = (pkg: string) => path.join(root, 'packages', pkg, 'src', 'index.ts');

export default defineConfig({
  root,
  resolve: {
    alias: [
      { find: /^@podstorage\/core$/, replacement: source('core') },
      { find: /^@podstorage\/fake$/, replacement: source('fake') },
      { find: /^@podstorage\/conformance$/, replacement: source('conformance') },
    ],
  },
  test: {
    // The shared bounds only end hanging tests; a mutant that hangs is ended by Stryker's own timeout.
    ...shared.test,
    include: [
      'packages/core/src/**/*.test.ts',
      // The in-process conformance suite, without its system-clock run (see the file).
      'packages/core/mutation/conformance-fake-clock.test.ts',
      'packages/fake/src/pod-storage-over-fake.test.ts',
      'packages/fake/src/readme-example.test.ts',
      'packages/fake/src/watchdog.test.ts',
    ],
  },
});
