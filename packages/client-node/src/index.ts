export type {
  ClientNodeModule,
  KubeConfigLike,
  WatchLike,
} from './client-library.js';
export {
  type ClientNodeTransport,
  type ClientNodeTransportOptions,
  createClientNodeTransport,
} from './client-node-transport.js';
