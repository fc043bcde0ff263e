import { runWireConformance } from './test-support.js';

runWireConformance('conformance over HTTPS with the fake CA and a bearer token, chunked watches', {
  tls: true,
  token: 'conformance-token',
  watch: 'http',
});
