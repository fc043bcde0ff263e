import { runWireConformance } from './test-support.js';

runWireConformance('conformance over HTTP, chunked watches', { watch: 'http' });
