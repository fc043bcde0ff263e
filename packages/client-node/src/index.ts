export type {
  ClientNodeModule,
  ContextLike,
  KubeConfigLike,
  UserLike,
  WatchLike,
} from './client-library.js';
export {
  type ClientNodeTransport,
  type ClientNodeTransportOptions,
  createClientNodeTransport,
} from './client-node-transport.js';
export {
  type LoadableKubeConfig,
  type LoadKubeConfigOptions,
  loadKubeConfig,
} from './load-kube-config.js';
