import { runWireConformance } from './test-support.js';

runWireConformance('conformance over HTTP, WebSocket watches', { watch: 'websocket' });
