import { runWireConformance } from './test-support.js';

// The suite in real time (core's systemClock, the fake's clock following it) over real WebSockets.
runWireConformance('conformance over HTTP, WebSocket watches, system clock', {
  watch: 'websocket',
  clock: 'system',
});
