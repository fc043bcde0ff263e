// First, as an external module that bundlers keep ahead of every dependency: refuses an unsupported
// Node with a clear message before undici or @kubernetes/client-node can crash on it.
import '@podstorage/core/supported-node';

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
