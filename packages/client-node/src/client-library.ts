/**
 * The parts of `@kubernetes/client-node` the transport uses, typed structurally so that the modules and
 * `KubeConfig`s of both supported majors (1.x and 2.x) fit: their classes have private members, which
 * makes a 1.x `KubeConfig` unassignable to the 2.x type and the other way round.
 */

/** A `KubeConfig` of `@kubernetes/client-node` 1.x or 2.x (the object you load your kubeconfig into). */
export interface KubeConfigLike {
  /** The cluster of the current context: the transport reads its `server` for watches. */
  getCurrentCluster(): ClusterLike | null;
  /** Builds a generated API client (here `CoreV1Api`) configured with this KubeConfig's server and auth. */
  makeApiClient(apiClientType: never): unknown;
  /** The name of the current context (an unknown one is refused at creation, naming it). */
  getCurrentContext?(): string;
  /** Every context of the configuration (listed when the current one is unknown). */
  getContexts?(): readonly ContextLike[];
  /** The user of the current context (its exec plugin is named when it fails). */
  getCurrentUser?(): UserLike | null;
}

/**
 * A cluster of a {@link KubeConfigLike}, as client-node holds it (both majors name the fields alike). The
 * optional fields are checked at creation, so that a configuration the client can never use is refused.
 */
export interface ClusterLike {
  readonly name?: string;
  /** The API server URL, as the kubeconfig gives it (client-node drops a trailing slash). */
  readonly server: string;
  /** `insecure-skip-tls-verify` */
  readonly skipTLSVerify?: boolean;
  /** `proxy-url` */
  readonly proxyUrl?: string | null;
  /** `certificate-authority`: a PEM file, read on every call. */
  readonly caFile?: string | null;
  /** `certificate-authority-data`: base64 PEM. */
  readonly caData?: string | null;
  /** `tls-server-name` */
  readonly tlsServerName?: string | null;
}

/** A context of a {@link KubeConfigLike}. */
export interface ContextLike {
  readonly name: string;
  readonly cluster: string;
}

/** A user of a {@link KubeConfigLike}, as far as the transport reads it. */
export interface UserLike {
  readonly name: string;
  /** The exec credential plugin, as the kubeconfig gives it (`command`, `args`, `installHint`, ...). */
  readonly exec?: unknown;
  /** A legacy auth provider, whose `config.exec` client-node also runs. */
  readonly authProvider?: unknown;
  readonly token?: string | null;
  readonly username?: string | null;
  /** `client-certificate`: a PEM file, read on every call. */
  readonly certFile?: string | null;
  /** `client-certificate-data`: base64 PEM. */
  readonly certData?: string | null;
  /** `client-key`: a PEM file, read on every call. */
  readonly keyFile?: string | null;
  /** `client-key-data`: base64 PEM. */
  readonly keyData?: string | null;
}

/**
 * The module `@kubernetes/client-node` (1.x or 2.x), or a stand-in with the same classes: what
 * `import('@kubernetes/client-node')` returns.
 */
export interface ClientNodeModule {
  /** The generated core/v1 API class, handed to `kubeConfig.makeApiClient`. */
  readonly CoreV1Api: unknown;
  /** The streaming watch helper. */
  readonly Watch: new (
    config: never,
  ) => WatchLike;
  /** When present, `kubeConfig` must be an instance of it (a KubeConfig of another major is refused). */
  readonly KubeConfig?: abstract new (
    ...args: never[]
  ) => unknown;
}

/** The client's `Watch`: one streaming GET, reported through `callback` and, once it ends, `done`. */
export interface WatchLike {
  /**
   * Starts a watch of `path`; resolves with the AbortController of the stream once headers arrived (or
   * after reporting a failure to `done`).
   */
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

/** The generated `RequestContext`: 2.x carries a signal and an undici dispatcher, 1.x a node:http agent. */
export interface RequestContextLike {
  setSignal?(signal: AbortSignal): void;
  getDispatcher?(): unknown;
  setDispatcher?(dispatcher: unknown): void;
  getAgent?(): unknown;
  setAgent?(agent: unknown): void;
}

/** The generated `ResponseContext`, as middleware sees it before the body is deserialised. */
export interface ResponseContextLike {
  httpStatusCode: number;
  headers: Record<string, string>;
  body: { text(): Promise<string>; binary(): Promise<Buffer> };
}

/** The generated API's stand-in for an RxJS Observable: all its pipeline calls is `toPromise()`. */
export interface ObservableLike<T> {
  toPromise(): Promise<T>;
}

/**
 * A middleware of the generated API. The object-parameter API hands per-call options to the
 * Observable-based API as they are (in 1.x and 2.x alike, whatever its typings say), so `pre` and
 * `post` return Observables, not Promises.
 */
export interface MiddlewareLike {
  pre(context: RequestContextLike): ObservableLike<RequestContextLike>;
  post(context: ResponseContextLike): ObservableLike<ResponseContextLike>;
}

/** An auth method of the generated API: what the `KubeConfig` is to every call it makes. */
export interface SecurityAuthenticationLike {
  getName(): string;
  applySecurityAuthentication(context: RequestContextLike): Promise<void>;
}

/**
 * Per-call `ConfigurationOptions`: our middleware after the configuration's own, and the KubeConfig's
 * authentication wrapped so that its failures are told apart from the network's.
 */
export interface CallOptionsLike {
  readonly middleware: MiddlewareLike[];
  readonly middlewareMergeStrategy: 'append';
  readonly authMethods: { readonly default: SecurityAuthenticationLike };
}

type ApiMethod = (param: Record<string, unknown>, options: CallOptionsLike) => Promise<unknown>;

/** The object-parameter `CoreV1Api` methods the transport calls. */
export interface CoreV1ApiLike {
  readNamespacedPod: ApiMethod;
  createNamespacedPod: ApiMethod;
  listNamespacedPod: ApiMethod;
  listPodForAllNamespaces: ApiMethod;
  deleteNamespacedPod: ApiMethod;
  readNamespacedEvent: ApiMethod;
  createNamespacedEvent: ApiMethod;
  listNamespacedEvent: ApiMethod;
  listEventForAllNamespaces: ApiMethod;
  deleteNamespacedEvent: ApiMethod;
}
