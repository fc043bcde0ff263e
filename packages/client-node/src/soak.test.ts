import { runSoak } from '@podstorage/conformance';
import { describe, expect, it } from 'vitest';
import { type ClientMajor, clientNodeFactory, MAJORS } from './clients.test-support.js';

// The seeded soak over HTTP on the system clock, with each supported major of @kubernetes/client-node,
// against the fake API server. SOAK_SEED, SOAK_RUNS, SOAK_DURATION_MS… run it longer (`pnpm soak`).
for (const major of MAJORS as readonly ClientMajor[]) {
  runSoak({ describe, it, expect }, clientNodeFactory(major, false), {
    name: `soak: ${major.name} over HTTP`,
    runs: 5,
  });
}
