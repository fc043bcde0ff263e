import { MAJORS, runClientNodeConformance } from './clients.test-support.js';

// The full conformance suite with @kubernetes/client-node 2.x, over HTTP and HTTPS.
runClientNodeConformance(MAJORS[0] as (typeof MAJORS)[number]);
