import { runWireConformance } from './test-support.js';

runWireConformance('conformance over HTTPS with the fake CA and a bearer token, WebSocket watches', {
  tls: true,
  token: 'conformance-token',
  watch: 'websocket',
});
