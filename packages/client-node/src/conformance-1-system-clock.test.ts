import { MAJORS, runClientNodeConformance } from './clients.test-support.js';

// The conformance suite in real time with @kubernetes/client-node 1.x, over HTTP: core's systemClock,
// the fake's clock following it, real sockets.
runClientNodeConformance(MAJORS[1] as (typeof MAJORS)[number], 'system');
