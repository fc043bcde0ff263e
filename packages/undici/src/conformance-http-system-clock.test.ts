import { runWireConformance } from './test-support.js';

// The suite in real time (core's systemClock, the fake's clock following it) over real sockets: what
// the fake clock cannot show, such as a timer firing before performance.now() reaches its deadline.
runWireConformance('conformance over HTTP, chunked watches, system clock', {
  watch: 'http',
  clock: 'system',
});
