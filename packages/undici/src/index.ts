// First, as an external module that bundlers keep ahead of every dependency: refuses an unsupported
// Node with a clear message before undici or @kubernetes/client-node can crash on it.
import '@podstorage/core/supported-node';

export type {
  AuthSettings,
  ClusterConfig,
  ExecSettings,
  LoadClusterConfigOptions,
  TlsSettings,
} from './cluster-config.js';
export { loadClusterConfig } from './cluster-config.js';
export { CredentialError, KubeconfigError, type KubeconfigLocation } from './errors.js';
export type {
  ConfigEnvironment,
  Kubeconfig,
  KubeconfigCluster,
  KubeconfigContext,
  KubeconfigExec,
  KubeconfigUser,
} from './kubeconfig.js';
export { LineDecoder, LineTooLongError } from './line-decoder.js';
export { Secret } from './secret.js';
export {
  createUndiciTransport,
  UndiciTransport,
  type UndiciTransportOptions,
  type UndiciTransportStats,
} from './undici-transport.js';
