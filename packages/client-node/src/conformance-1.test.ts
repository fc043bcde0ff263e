import { MAJORS, runClientNodeConformance } from './clients.test-support.js';

// The full conformance suite with @kubernetes/client-node 1.x (the `@kubernetes/client-node-1` alias),
// over HTTP and HTTPS.
runClientNodeConformance(MAJORS[1] as (typeof MAJORS)[number]);
