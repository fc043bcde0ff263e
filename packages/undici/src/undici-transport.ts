import {
  type Clock,
  type DeleteOptions,
  formatFieldSelector,
  type ListOptions,
  type Logger,
  type ObjectList,
  type PodLogOptions,
  PodStorageError,
  type PodTransport,
  type RequestOptions,
  type ResourceName,
  type ResourceTypes,
  silentLogger,
  systemClock,
  type WatchEvent,
  type WatchOptions,
} from '@podstorage/core';
import { Agent, buildConnector, type Dispatcher, ProxyAgent, Socks5ProxyAgent } from 'undici';
import { type ClusterConfig, type LoadClusterConfigOptions, loadClusterConfig } from './cluster-config.js';
import { type CredentialSource, credentialSource, type RequestCredentials } from './credentials.js';
import { KubeconfigError } from './errors.js';
import { httpWatchChannel } from './http-watch.js';
import type { Kubeconfig } from './kubeconfig.js';
import { processEnvironment } from './kubeconfig.js';
import { textChunks } from './log-stream.js';
import { proxyFor } from './proxy.js';
import { errorFromResponse } from './responses.js';
import { untrustedServerError } from './tls-material.js';
import { openWebSocketWatch } from './websocket-watch.js';

/** Options of {@link createUndiciTransport}. */
export interface UndiciTransportOptions {
  /**
   * The kubeconfig: a file path, kubeconfig YAML text (any string with a newline), or a parsed kubeconfig
   * object. Default: the files of `KUBECONFIG` merged as kubectl merges them, else `~/.kube/config`,
   * else (inside a pod) the service account.
   */
  readonly kubeconfig?: string | Kubeconfig;
  /** The context to use instead of the kubeconfig's `current-context`. */
  readonly context?: string;
  /**
   * Use the pod's service account. `true`: from `/var/run/secrets/kubernetes.io/serviceaccount`; or name
   * another directory. Default: only when there is no kubeconfig and `KUBERNETES_SERVICE_HOST` is set.
   */
  readonly inCluster?: boolean | { readonly serviceAccountDirectory?: string };
  /** How watches travel: `http` (chunked responses, the default) or `websocket`. */
  readonly watch?: 'http' | 'websocket';
  /** Receives one debug line per request and warnings; never credentials. Default: silent. */
  readonly logger?: Logger;
  /** WebSocket watches: ping this often; a ping without pong by the next one fails the stream. Default 30 000 ms. */
  readonly pingIntervalMs?: number;
  /** Exec credential plugins are killed after this long. Default 60 000 ms. */
  readonly execTimeoutMs?: number;
  /** The largest single watch event accepted, in bytes. Default 64 MiB. */
  readonly maxEventBytes?: number;
  /** Idle keep-alive connections are closed after this long. Default 30 000 ms. */
  readonly keepAliveTimeoutMs?: number;
  /**
   * The most connections requests (gets, lists, deletes, creates) open to the API server; more requests
   * at once wait for one of them. Over HTTP/2 (TLS servers that offer it, as the API server does) every
   * request is a stream of one connection and this is rarely reached. Watches never count against it:
   * over HTTP/1.1 each holds its own connection of a separate pool, so long-lived watches cannot starve
   * requests nor each other. Default 2: with a namespace watch that is 3 connections in all, what
   * client-go's one HTTP/2 connection costs an API server plus two; raise it for many requests at once
   * over high latency.
   */
  readonly maxConnections?: number;
  /** The clock for the WebSocket ping timer. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Environment variables to read (`KUBECONFIG`, proxies, `KUBERNETES_SERVICE_*`, the exec plugin's
   * inherited environment) and home directory. Default: this process's.
   */
  readonly environment?: LoadClusterConfigOptions['environment'];
}

/** What a transport holds open right now (for leak checks and metrics). */
export interface UndiciTransportStats {
  /** Requests sent and not yet answered in full, watch streams included. */
  readonly requests: number;
  /** Watch streams open (HTTP or WebSocket). */
  readonly watches: number;
  /** WebSocket connections not yet fully closed. */
  readonly webSockets: number;
  /** Pooled connections carrying a request right now (idle keep-alive connections excluded). */
  readonly busyConnections: number;
  /** Pooled connections open, idle ones included. */
  readonly connections: number;
}

const USER_AGENT = 'podstorage-undici/0.1';

/**
 * Over HTTP/2, watches share the requests' connection up to this many at once (undici allows 100
 * concurrent streams per connection by default, and servers announce their own limit): the rest of the
 * streams stay free for requests, and further watches go to the watch pool's own connection.
 */
const SHARED_H2_WATCHES = 64;

const encode = encodeURIComponent;

function queryString(parameters: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(parameters)) {
    if (value === undefined || value === '') continue;
    parts.push(`${encode(key)}=${encode(String(value))}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function kindOf(resource: ResourceName): string {
  return resource === 'pods' ? 'Pod' : 'Event';
}

interface SendOptions {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly signal: AbortSignal;
  readonly operation: string;
  readonly namespace: string;
  readonly name?: string;
  readonly kind: string;
  readonly body?: string;
  readonly stream?: boolean;
}

/** The connection pools of one set of client credentials. */
interface Pools {
  readonly key: string;
  /** Requests: at most `maxConnections` connections; over HTTP/2 also most watches. */
  readonly requests: Dispatcher;
  /** Watches over HTTP/1.1 (one connection each), and over HTTP/2 those beyond the shared ones. */
  readonly watches: Dispatcher;
  /** What the server chose (ALPN) on the last connection made; `undefined` before the first. */
  protocol: 'h2' | 'http/1.1' | undefined;
  /** Watches open now on the requests' HTTP/2 connection (see SHARED_H2_WATCHES). */
  sharedWatches: number;
}

/** Where one watch went: the pools whose requests' connection it shares, if it does. */
interface WatchRoute {
  shared: Pools | undefined;
}

/**
 * A {@link PodTransport} that talks to the Kubernetes API directly: requests over one keep-alive undici
 * connection pool, watches over chunked HTTP or WebSocket (`ws`), with kubeconfig, in-cluster and exec
 * plugin authentication. Build it with {@link createUndiciTransport}; `close()` it when done.
 */
export class UndiciTransport implements PodTransport, AsyncDisposable {
  /** The default namespace of the context (or of the pod, in a cluster). */
  readonly namespace: string;
  /** The API server URL. */
  readonly server: string;
  /** The kubeconfig context in use; `undefined` in a cluster. */
  readonly context: string | undefined;
  /** How watches travel. */
  readonly watchMode: 'http' | 'websocket';
  /**
   * Reloads credentials after a 401: re-reads the token file, re-runs the exec plugin. Present only when
   * the credentials can change (token file, in-cluster, exec plugin); with a static token a 401 is final.
   */
  readonly refreshCredentials?: (options: RequestOptions) => Promise<void>;

  readonly #config: ClusterConfig;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #credentials: CredentialSource;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #proxy: string | undefined;
  readonly #pingIntervalMs: number;
  readonly #maxEventBytes: number;
  readonly #keepAliveTimeoutMs: number;
  readonly #maxConnections: number;
  #pools: Pools | undefined;
  readonly #retired = new Set<Dispatcher>();
  #requests = 0;
  #watches = 0;
  #webSockets = 0;
  #closed = false;

  /** Prefer {@link createUndiciTransport}; this takes an already resolved configuration. */
  constructor(config: ClusterConfig, options: UndiciTransportOptions = {}) {
    this.#config = config;
    this.namespace = config.namespace;
    this.server = config.server.href.replace(/\/$/, '');
    this.context = config.context;
    this.watchMode = options.watch ?? 'http';
    this.#origin = config.server.origin;
    this.#basePath = config.server.pathname.replace(/\/+$/, '');
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.#maxEventBytes = options.maxEventBytes ?? 64 * 1024 * 1024;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 30_000;
    const maxConnections = options.maxConnections ?? 2;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new PodStorageError(
        `maxConnections must be a positive integer, got ${JSON.stringify(maxConnections)}`,
      );
    }
    this.#maxConnections = maxConnections;
    const env = (options.environment ?? processEnvironment()).env;
    this.#proxy = proxyFor(config.server, config.proxyUrl, env);
    if (this.#proxy !== undefined && this.watchMode === 'websocket' && !/^https?:/.test(this.#proxy)) {
      throw new KubeconfigError(
        "WebSocket watches go through http(s) proxies only; use watch: 'http' with a socks5 proxy",
        {
          file: config.source,
          ...(config.context ? { context: config.context } : {}),
          field: config.proxyUrl ? 'proxy-url' : 'HTTPS_PROXY/HTTP_PROXY',
        },
      );
    }
    this.#credentials = credentialSource(config.auth, {
      env,
      logger: this.#logger,
      ...(options.execTimeoutMs === undefined ? {} : { execTimeoutMs: options.execTimeoutMs }),
    });
    if (this.#credentials.refreshable) {
      this.refreshCredentials = async ({ signal }) => {
        this.#logger.info({ server: this.server }, 'refreshing credentials');
        await this.#credentials.refresh(signal);
      };
    }
  }

  /** Reads one object; an absent one is a 404 `KubernetesError`. */
  async get<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: RequestOptions,
  ): Promise<ResourceTypes[R]> {
    return this.#json<ResourceTypes[R]>({
      method: 'GET',
      path: `${this.#collection(resource, namespace)}/${encode(name)}`,
      signal: options.signal,
      operation: `get ${resource}`,
      namespace,
      name,
      kind: kindOf(resource),
    });
  }

  /** Lists one page of objects, with field and label selectors, `limit` and `continue`. */
  async list<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: ListOptions,
  ): Promise<ObjectList<ResourceTypes[R]>> {
    const query = queryString({
      fieldSelector: formatFieldSelector(options.fieldSelector),
      labelSelector: options.labelSelector,
      limit: options.limit,
      continue: options.continue,
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersionMatch,
    });
    const list = await this.#json<{
      metadata?: ObjectList<ResourceTypes[R]>['metadata'];
      items?: ResourceTypes[R][] | null;
    }>({
      method: 'GET',
      path: `${this.#collection(resource, namespace)}${query}`,
      signal: options.signal,
      operation: `list ${resource}`,
      namespace,
      kind: kindOf(resource),
    });
    return { metadata: list.metadata ?? {}, items: list.items ?? [] };
  }

  /**
   * Opens a watch and resolves once the server accepted it (response headers, or the WebSocket upgrade);
   * iterating yields its events, ERROR events included as their Status. The stream ends when the server
   * ends it and throws (retryable) when the connection breaks; aborting `signal` or `return()` closes it
   * at once.
   */
  async watch<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
    const query = queryString({
      watch: 'true',
      fieldSelector: formatFieldSelector(options.fieldSelector),
      labelSelector: options.labelSelector,
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersionMatch,
      allowWatchBookmarks: options.allowWatchBookmarks ? 'true' : undefined,
      sendInitialEvents:
        options.sendInitialEvents === undefined ? undefined : String(options.sendInitialEvents),
      timeoutSeconds: options.timeoutSeconds,
    });
    const path = `${this.#collection(resource, namespace)}${query}`;
    const operation = `watch ${resource}`;
    if (this.watchMode === 'websocket')
      return this.#watchOverWebSocket<ResourceTypes[R]>(path, namespace, operation, options);
    const { signal } = options;
    const route: WatchRoute = { shared: undefined };
    const response = await this.#send(
      {
        method: 'GET',
        path,
        signal,
        operation,
        namespace,
        kind: kindOf(resource),
        stream: true,
      },
      route,
    );
    this.#watches += 1;
    return httpWatchChannel<ResourceTypes[R]>(response.body, {
      signal,
      operation,
      onActivity: options.onActivity,
      maxEventBytes: this.#maxEventBytes,
      onClose: () => {
        this.#watches -= 1;
        this.#requests -= 1;
        if (route.shared) route.shared.sharedWatches -= 1;
      },
    });
  }

  /**
   * Reads a container's log (`GET pods/NAME/log`, kubectl logs' parameters) and resolves once the
   * server answered; iterating yields the text as it arrives (with `follow`, until the container ends).
   * A container that cannot be read yet is a 400 `KubernetesError`; aborting `signal` or `return()`
   * closes the stream at once.
   */
  async readPodLog(namespace: string, name: string, options: PodLogOptions): Promise<AsyncIterable<string>> {
    const query = queryString({
      container: options.container,
      follow: options.follow ? 'true' : undefined,
      previous: options.previous ? 'true' : undefined,
      timestamps: options.timestamps ? 'true' : undefined,
      sinceTime: options.sinceTime,
      sinceSeconds: options.sinceSeconds,
      tailLines: options.tailLines,
      limitBytes: options.limitBytes,
    });
    const operation = 'read pod log';
    const response = await this.#send({
      method: 'GET',
      path: `${this.#collection('pods', namespace)}/${encode(name)}/log${query}`,
      signal: options.signal,
      operation,
      namespace,
      name,
      kind: 'Pod',
      stream: true,
    });
    return textChunks(response.body, options.signal, operation, () => {
      this.#requests -= 1;
    });
  }

  /** Creates a pod or an event in `namespace` and returns it as the server stored it. */
  async create<R extends ResourceName>(
    resource: R,
    namespace: string,
    object: ResourceTypes[R],
    options: RequestOptions,
  ): Promise<ResourceTypes[R]> {
    return this.#json<ResourceTypes[R]>({
      method: 'POST',
      path: this.#collection(resource, namespace),
      signal: options.signal,
      operation: `create ${resource}`,
      namespace,
      name: object.metadata?.name ?? object.metadata?.generateName,
      kind: kindOf(resource),
      body: JSON.stringify(object),
    });
  }

  /** Deletes one object, with uid/resourceVersion preconditions, grace period and propagation policy. */
  async delete<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<void> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.propagationPolicy !== undefined) body.propagationPolicy = options.propagationPolicy;
    await this.#json<unknown>({
      method: 'DELETE',
      path: `${this.#collection(resource, namespace)}/${encode(name)}`,
      signal: options.signal,
      operation: `delete ${resource}`,
      namespace,
      name,
      kind: kindOf(resource),
      body: JSON.stringify(body),
    });
  }

  /** What the transport holds open right now. */
  stats(): UndiciTransportStats {
    let connections = 0;
    let busy = 0;
    for (const dispatcher of [...this.#dispatchers(), ...this.#retired]) {
      if (!(dispatcher instanceof Agent)) continue;
      for (const stats of Object.values(dispatcher.stats)) {
        if (!('free' in stats)) continue;
        connections += stats.connected;
        busy += stats.connected - stats.free;
      }
    }
    return {
      requests: this.#requests,
      watches: this.#watches,
      webSockets: this.#webSockets,
      busyConnections: busy,
      connections,
    };
  }

  /**
   * What the transport still holds for its callers: requests in flight, open watches (HTTP or WebSocket),
   * WebSocket connections not yet fully closed and pooled connections carrying a request. 0 once every
   * call has settled and every watch has ended; idle keep-alive connections do not count (they wait for
   * reuse, close after `keepAliveTimeoutMs`, and {@link UndiciTransport.close} releases them).
   * The details are in {@link UndiciTransport.stats}.
   */
  openHandles(): number {
    const stats = this.stats();
    return stats.requests + stats.watches + stats.webSockets + stats.busyConnections;
  }

  /**
   * Closes every connection (open watches included) and releases the pool. Calls after it fail.
   * Safe to call more than once.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const dispatchers = [...this.#dispatchers(), ...this.#retired];
    this.#pools = undefined;
    this.#retired.clear();
    await Promise.all(dispatchers.map((dispatcher) => dispatcher.destroy().catch(() => {})));
  }

  /** Same as {@link UndiciTransport.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #collection(resource: ResourceName, namespace: string): string {
    return `${this.#basePath}/api/v1/namespaces/${encode(namespace)}/${encode(resource)}`;
  }

  #tlsFor(credentials: RequestCredentials) {
    const tls = this.#config.tls;
    const cert = credentials.clientCertificate?.cert ?? tls.cert;
    const key = credentials.clientCertificate?.key.reveal() ?? tls.key?.reveal();
    return {
      rejectUnauthorized: !tls.insecureSkipTlsVerify,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    };
  }

  /** The pools in use (not the retired ones), each once. */
  #dispatchers(): Dispatcher[] {
    const pools = this.#pools;
    if (pools === undefined) return [];
    return pools.watches === pools.requests ? [pools.requests] : [pools.requests, pools.watches];
  }

  #poolsFor(credentials: RequestCredentials): Pools {
    if (this.#closed) throw new PodStorageError('the undici transport is closed');
    // Exec plugins may hand out a new client certificate: connections made with the old one are retired.
    const key = credentials.clientCertificate?.cert ?? '';
    if (this.#pools !== undefined && this.#pools.key === key) return this.#pools;
    const previous = this.#dispatchers();
    const tls = this.#tlsFor(credentials);
    const proxy = this.#proxy;
    let pools: Pools;
    if (proxy === undefined) {
      const made: Pools = {
        key,
        requests: undefined as never,
        watches: undefined as never,
        protocol: undefined,
        sharedWatches: 0,
      };
      // Offers h2 first, as client-go does, and notes what the server chose: over HTTP/2 watches can
      // share the requests' connection, over HTTP/1.1 each needs its own.
      const connector = buildConnector({ ...tls, allowH2: true, preferH2: true });
      const connect: buildConnector.connector = (options, callback) =>
        connector(options, (...result) => {
          const socket = result[1] as { alpnProtocol?: string | false } | null;
          if (socket) made.protocol = socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
          callback(...result);
        });
      const shared = { keepAliveTimeout: this.#keepAliveTimeoutMs, allowH2: true, connect };
      pools = Object.assign(made, {
        requests: new Agent({ ...shared, connections: this.#maxConnections }),
        watches: new Agent(shared),
      });
    } else {
      const dispatcher = proxy.startsWith('socks5:')
        ? new Socks5ProxyAgent(proxy, { keepAliveTimeout: this.#keepAliveTimeoutMs, requestTls: tls })
        : new ProxyAgent({ keepAliveTimeout: this.#keepAliveTimeoutMs, uri: proxy, requestTls: tls });
      pools = { key, requests: dispatcher, watches: dispatcher, protocol: undefined, sharedWatches: 0 };
    }
    this.#pools = pools;
    for (const dispatcher of previous) {
      this.#retired.add(dispatcher);
      void dispatcher.close().finally(() => this.#retired.delete(dispatcher));
    }
    return pools;
  }

  /**
   * Where a request goes: requests to their bounded pool; a watch over HTTP/2 onto the requests'
   * connection while few watches share it (noted in `route`), else to the watch pool.
   */
  #dispatcherFor(credentials: RequestCredentials, route: WatchRoute | undefined): Dispatcher {
    const pools = this.#poolsFor(credentials);
    if (route === undefined) return pools.requests;
    if (pools.protocol === 'h2' && pools.sharedWatches < SHARED_H2_WATCHES) {
      pools.sharedWatches += 1;
      route.shared = pools;
      return pools.requests;
    }
    return pools.watches;
  }

  async #headers(
    signal: AbortSignal,
  ): Promise<{ headers: Record<string, string>; credentials: RequestCredentials }> {
    const credentials = await this.#credentials.get(signal);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (credentials.authorization !== undefined) headers.authorization = credentials.authorization.reveal();
    return { headers, credentials };
  }

  async #send(options: SendOptions, route?: WatchRoute): Promise<Dispatcher.ResponseData> {
    const { signal } = options;
    signal.throwIfAborted();
    const { headers, credentials } = await this.#headers(signal);
    signal.throwIfAborted();
    const dispatcher = this.#dispatcherFor(credentials, route);
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const context = {
      operation: options.operation,
      namespace: options.namespace,
      kind: options.kind,
      ...(options.name ? { name: options.name } : {}),
    };
    this.#requests += 1;
    try {
      let response: Dispatcher.ResponseData;
      try {
        const h2Possible = options.stream === true && this.#origin.startsWith('https:');
        const request = (requestSignal: AbortSignal) =>
          dispatcher.request({
            origin: this.#origin,
            path: options.path,
            method: options.method,
            headers,
            body: options.body ?? null,
            signal: requestSignal,
            // The caller's signal bounds every request; a watch may rightly stay quiet for minutes.
            headersTimeout: 0,
            bodyTimeout: 0,
          });
        response = h2Possible ? await abortOnceDispatched(request, signal) : await request(signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const untrusted = untrustedServerError(error, { operation: options.operation, server: this.server });
        if (untrusted !== undefined) throw untrusted;
        throw new PodStorageError(`${options.operation}: request failed (${(error as Error).message})`, {
          cause: error,
          retryable: true,
        });
      }
      this.#logger.debug(
        {
          method: options.method,
          path: options.path,
          status: response.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'kubernetes request',
      );
      if (response.statusCode >= 300 || (options.stream && response.statusCode !== 200)) {
        const text = await this.#readText(response, options);
        throw errorFromResponse(response.statusCode, response.headers, text, context);
      }
      return response;
    } catch (error) {
      this.#requests -= 1;
      if (route?.shared) route.shared.sharedWatches -= 1;
      if (route) route.shared = undefined;
      throw error;
    }
  }

  async #readText(response: Dispatcher.ResponseData, options: SendOptions): Promise<string> {
    try {
      return await response.body.text();
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw new PodStorageError(
        `${options.operation}: the response broke off (${(error as Error).message})`,
        {
          cause: error,
          retryable: true,
        },
      );
    }
  }

  async #json<T>(options: SendOptions): Promise<T> {
    const response = await this.#send(options);
    try {
      const text = await this.#readText(response, options);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new PodStorageError(
          `${options.operation}: the response is not valid JSON (${text.length} characters)`,
          {
            retryable: true,
          },
        );
      }
    } finally {
      this.#requests -= 1;
    }
  }

  async #watchOverWebSocket<T>(
    path: string,
    namespace: string,
    operation: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<T>>> {
    const { signal } = options;
    signal.throwIfAborted();
    const { headers, credentials } = await this.#headers(signal);
    signal.throwIfAborted();
    if (this.#closed) throw new PodStorageError('the undici transport is closed');
    const url = new URL(`${this.#origin}${path}`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const tls = this.#tlsFor(credentials);
    this.#requests += 1;
    try {
      const channel = await openWebSocketWatch<T>({
        url,
        headers,
        tls,
        signal,
        operation,
        namespace,
        onActivity: options.onActivity,
        maxEventBytes: this.#maxEventBytes,
        pingIntervalMs: this.#pingIntervalMs,
        clock: this.#clock,
        onSocket: (change) => {
          this.#webSockets += change;
        },
        onClose: () => {
          this.#watches -= 1;
          this.#requests -= 1;
        },
        proxy: this.#proxy === undefined ? undefined : new URL(this.#proxy),
      });
      this.#watches += 1;
      return channel;
    } catch (error) {
      this.#requests -= 1;
      throw untrustedServerError(error, { operation, server: this.server }) ?? error;
    }
  }
}

/**
 * How long a watch aborted before its response headers may stay on the wire, at most, when the headers
 * do not come: long past the moment its HTTP/2 stream is open (see {@link abortOnceDispatched}).
 */
const ABORT_BEFORE_HEADERS_GRACE_MS = 1_000;

/**
 * Sends `request`, rejecting at once with the signal's reason when `signal` aborts, but aborting the
 * request itself only once it is surely on the wire. Over HTTP/2, undici 8 does not reset a stream whose
 * request is aborted right after dispatch (the stream is not open yet, and the reset is lost): the
 * server then keeps that watch open until its timeout. So a request aborted before its response headers
 * is cancelled when the headers arrive (its body destroyed, which resets the open stream) or after
 * {@link ABORT_BEFORE_HEADERS_GRACE_MS}, whichever comes first.
 */
function abortOnceDispatched(
  request: (signal: AbortSignal) => Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  signal.throwIfAborted();
  const wire = new AbortController();
  const sent = request(wire.signal);
  return new Promise<Dispatcher.ResponseData>((resolve, reject) => {
    let abandoned = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      abandoned = true;
      reject(signal.reason);
      grace = setTimeout(() => wire.abort(signal.reason), ABORT_BEFORE_HEADERS_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sent.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        if (grace !== undefined) clearTimeout(grace);
        if (!abandoned) {
          resolve(response);
          return;
        }
        // Nobody waits for it any more: reset the stream, now that it is open.
        response.body.on('error', () => {});
        response.body.destroy();
        wire.abort(signal.reason);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (grace !== undefined) clearTimeout(grace);
        if (!abandoned) reject(error);
      },
    );
  });
}

/**
 * A {@link PodTransport} over undici and ws, configured as kubectl is: from `options.kubeconfig` (a path,
 * YAML text or an object), else `KUBECONFIG` (several files merged as kubectl merges them), else
 * `~/.kube/config`, else the pod's service account. Throws `KubeconfigError` (naming file, context and
 * field, never a secret) when the configuration is unusable.
 *
 * @example
 * const transport = createUndiciTransport({ context: 'prod' });
 * const storage = createPodStorage(transport);
 * console.log(await storage.waitForPhase('job-1', transport.namespace, 60_000, { untilNot: ['Pending'] }));
 * await storage.close();
 * await transport.close();
 */
export function createUndiciTransport(options: UndiciTransportOptions = {}): UndiciTransport {
  const config = loadClusterConfig({
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.inCluster === undefined ? {} : { inCluster: options.inCluster }),
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return new UndiciTransport(config, options);
}
