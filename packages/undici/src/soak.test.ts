import { runSoak } from '@podstorage/conformance';
import { describe, expect, it } from 'vitest';
import { wireFactory } from './test-support.js';

// The seeded soak over real sockets on the system clock, against the fake API server: chunked HTTP
// watches and WebSocket watches. SOAK_SEED, SOAK_RUNS, SOAK_DURATION_MS… run it longer (`pnpm soak`).
runSoak({ describe, it, expect }, wireFactory({ watch: 'http' }), {
  name: 'soak: undici over HTTP',
  runs: 5,
});
runSoak({ describe, it, expect }, wireFactory({ watch: 'websocket' }), {
  name: 'soak: undici over WebSocket',
  runs: 5,
});
