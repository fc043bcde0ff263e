import {
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
  type WatchEvent,
  type WatchOptions,
} from '@podstorage/core';
import { CallConnection } from './call-connection.js';
import type {
  CallOptionsLike,
  ClientNodeModule,
  CoreV1ApiLike,
  KubeConfigLike,
  ObservableLike,
  RequestContextLike,
  ResponseContextLike,
  SecurityAuthenticationLike,
} from './client-library.js';
import {
  authenticationError,
  checkConfiguration,
  finalNetworkError,
  mixedModulesError,
} from './configuration-errors.js';
import { translateRequestError } from './errors.js';
import { openWatch } from './open-watch.js';
import { raceAbort } from './race-abort.js';
import { readPodLogWithClient } from './read-pod-log.js';

/** Options of {@link createClientNodeTransport}. */
export interface ClientNodeTransportOptions {
  /**
   * Your loaded `KubeConfig` (`loadFromDefault()`, `loadFromFile()`, `loadFromCluster()`, ...): its current
   * context decides the server, credentials and TLS settings, auth plugins included.
   */
  readonly kubeConfig: KubeConfigLike;
  /**
   * The `@kubernetes/client-node` module the `kubeConfig` comes from. Default: `import('@kubernetes/client-node')`
   * as your project resolves it. Pass it when the two could differ, such as with a 1.x under an alias.
   */
  readonly client?: ClientNodeModule;
  /** Debug lines about absorbed client quirks and released connections (pino-compatible). Default: silent. */
  readonly logger?: Logger;
}

/**
 * A {@link PodTransport} over `@kubernetes/client-node`, with `close()` (or `await using`) to release it
 * and `openHandles()` to tell what it still holds.
 */
export interface ClientNodeTransport extends PodTransport {
  /** Creates a pod or an event through `CoreV1Api` and returns it as the server stored it. */
  create: NonNullable<PodTransport['create']>;
  /** Reads a container's log through client-node's `Log` helper (a refusal keeps only its HTTP code). */
  readPodLog: NonNullable<PodTransport['readPodLog']>;
  /**
   * Aborts every request and watch still open, destroys their connections, and makes later calls
   * reject. Resolves once every connection the transport made is closed. Safe to call more than once.
   */
  close(): Promise<void>;
  /**
   * Calls and watches not yet released: in flight, open, or still destroying the connection the client
   * made for them (client-node makes one per call and keeps none idle). 0 once every call has settled
   * and every watch has ended.
   */
  openHandles(): number;
  /** Same as {@link ClientNodeTransport.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const RESOURCES: ReadonlySet<string> = new Set(['pods', 'events']);

function checkResource(resource: string): void {
  if (!RESOURCES.has(resource)) {
    throw new TypeError(`client-node transport serves "pods" and "events", not ${JSON.stringify(resource)}`);
  }
}

function observable<T>(run: () => Promise<T>): ObservableLike<T> {
  const promise = run();
  return { toPromise: () => promise };
}

/**
 * A `PodTransport` over the official `@kubernetes/client-node` (1.x or 2.x, whichever you use), taking
 * your `KubeConfig`. Requests go through `CoreV1Api` in object-parameter style, watches through the
 * client's `Watch`; both are bound to the caller's AbortSignal with a per-call middleware (the client has
 * no timeout option), and every connection is destroyed when its call ends.
 *
 * @example
 * import { KubeConfig } from '@kubernetes/client-node';
 * import { createPodStorage } from '@podstorage/core';
 * import { createClientNodeTransport } from '@podstorage/client-node';
 *
 * const kubeConfig = new KubeConfig();
 * kubeConfig.loadFromDefault();
 * const storage = createPodStorage(createClientNodeTransport({ kubeConfig }));
 */
export function createClientNodeTransport(options: ClientNodeTransportOptions): ClientNodeTransport {
  const { kubeConfig } = options;
  // A configuration that can never work (an unknown context, a server URL the client refuses, a TLS
  // file that is missing or holds nothing usable, ...): say so now, not as a timeout once every retry
  // has failed.
  checkConfiguration(kubeConfig, { files: true });
  if (options.client !== undefined) {
    const mixed = mixedModulesError(kubeConfig, options.client);
    if (mixed !== undefined) throw mixed;
  }
  const logger = options.logger ?? silentLogger;
  const closing = new AbortController();
  const releases = new Set<Promise<void>>();
  let loaded: Promise<{ client: ClientNodeModule; api: CoreV1ApiLike }> | undefined;

  const load = () => {
    loaded ??= (async () => {
      const client =
        options.client ?? ((await import('@kubernetes/client-node')) as unknown as ClientNodeModule);
      // Without `client`, the module is known only now: the same check as at creation, as final.
      const mixed = mixedModulesError(kubeConfig, client);
      if (mixed !== undefined) throw mixed;
      const api = kubeConfig.makeApiClient(client.CoreV1Api as never) as CoreV1ApiLike;
      return { client, api };
    })();
    return loaded;
  };

  // Every call authenticates through the KubeConfig, as makeApiClient has it do, but its failures are
  // classified: an exec plugin that cannot work is final, not a network error to retry.
  const authentication: SecurityAuthenticationLike = {
    getName: () => 'kubeconfig authentication',
    applySecurityAuthentication: async (context: RequestContextLike) => {
      try {
        await (kubeConfig as unknown as SecurityAuthenticationLike).applySecurityAuthentication(context);
      } catch (error) {
        throw authenticationError(error, kubeConfig.getCurrentUser?.());
      }
    },
  };

  // Calls and watches from their start until their connection is released (see openHandles()).
  let held = 0;
  const track = (released: Promise<void>) => {
    releases.add(released);
    void released.finally(() => {
      releases.delete(released);
      held -= 1;
    });
  };

  const callSignal = (signal: AbortSignal): AbortSignal => {
    if (closing.signal.aborted) {
      throw new PodStorageError('client-node transport is closed');
    }
    return AbortSignal.any([signal, closing.signal]);
  };

  /** One CoreV1Api call bound to `signal`; resolves with the raw JSON the server sent. */
  async function call<T>(
    signal: AbortSignal,
    context: { operation: string; namespace?: string; name?: string },
    invoke: (api: CoreV1ApiLike, callOptions: CallOptionsLike) => Promise<unknown>,
  ): Promise<T> {
    const bound = callSignal(signal);
    bound.throwIfAborted();
    // The context may have been switched since creation.
    checkConfiguration(kubeConfig, { files: false });
    const { api } = await raceAbort(load(), bound);
    held += 1;
    const connection = new CallConnection(bound);
    let raw = '';
    const callOptions: CallOptionsLike = {
      authMethods: { default: authentication },
      middlewareMergeStrategy: 'append',
      middleware: [
        {
          pre: (request) =>
            observable(async () => {
              connection.prepare(request);
              return request;
            }),
          // The generated deserialiser turns timestamps into Date objects; podstorage works on the wire
          // JSON (as watches deliver it), so keep the body text and hand the client a copy.
          post: (response: ResponseContextLike) =>
            observable(async () => {
              raw = await response.body.text();
              const text = raw;
              response.body = { text: async () => text, binary: async () => Buffer.from(text) };
              return response;
            }),
        },
      ],
    };
    try {
      await raceAbort(invoke(api, callOptions), bound);
      return (raw === '' ? undefined : JSON.parse(raw)) as T;
    } catch (error) {
      if (bound.aborted) throw bound.reason;
      throw finalNetworkError(translateRequestError(error, context), kubeConfig, context.operation);
    } finally {
      track(connection.release());
    }
  }

  return {
    async get<R extends ResourceName>(
      resource: R,
      namespace: string,
      name: string,
      { signal }: RequestOptions,
    ): Promise<ResourceTypes[R]> {
      checkResource(resource);
      return call(signal, { operation: `get ${resource}`, namespace, name }, (api, callOptions) =>
        resource === 'pods'
          ? api.readNamespacedPod({ name, namespace }, callOptions)
          : api.readNamespacedEvent({ name, namespace }, callOptions),
      );
    },

    async list<R extends ResourceName>(
      resource: R,
      namespace: string,
      listOptions: ListOptions,
    ): Promise<ObjectList<ResourceTypes[R]>> {
      checkResource(resource);
      const fieldSelector = formatFieldSelector(listOptions.fieldSelector);
      const query = {
        ...(fieldSelector ? { fieldSelector } : {}),
        ...(listOptions.labelSelector ? { labelSelector: listOptions.labelSelector } : {}),
        ...(listOptions.limit === undefined ? {} : { limit: listOptions.limit }),
        ...(listOptions.continue ? { _continue: listOptions.continue } : {}),
        ...(listOptions.resourceVersion ? { resourceVersion: listOptions.resourceVersion } : {}),
        ...(listOptions.resourceVersionMatch
          ? { resourceVersionMatch: listOptions.resourceVersionMatch }
          : {}),
      };
      return call(
        listOptions.signal,
        { operation: `list ${resource}`, ...(namespace ? { namespace } : {}) },
        (api, callOptions) => {
          if (namespace === '') {
            return resource === 'pods'
              ? api.listPodForAllNamespaces(query, callOptions)
              : api.listEventForAllNamespaces(query, callOptions);
          }
          return resource === 'pods'
            ? api.listNamespacedPod({ namespace, ...query }, callOptions)
            : api.listNamespacedEvent({ namespace, ...query }, callOptions);
        },
      );
    },

    async watch<R extends ResourceName>(
      resource: R,
      namespace: string,
      watchOptions: WatchOptions,
    ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
      checkResource(resource);
      const signal = callSignal(watchOptions.signal);
      signal.throwIfAborted();
      checkConfiguration(kubeConfig, { files: false });
      const { client } = await raceAbort(load(), signal);
      const fieldSelector = formatFieldSelector(watchOptions.fieldSelector);
      const path =
        namespace === ''
          ? `/api/v1/${resource}`
          : `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}`;
      held += 1;
      let released = false;
      return openWatch<ResourceTypes[R]>({
        client,
        kubeConfig,
        path,
        query: {
          fieldSelector: fieldSelector || undefined,
          labelSelector: watchOptions.labelSelector || undefined,
          resourceVersion: watchOptions.resourceVersion || undefined,
          resourceVersionMatch: watchOptions.resourceVersionMatch,
          allowWatchBookmarks: watchOptions.allowWatchBookmarks,
          sendInitialEvents: watchOptions.sendInitialEvents,
          timeoutSeconds: watchOptions.timeoutSeconds,
        },
        signal,
        onActivity: watchOptions.onActivity,
        logger,
        operation: `watch ${resource}`,
        namespace: namespace || undefined,
        onReleased: (release) => {
          released = true;
          track(release);
        },
      }).catch((error: unknown) => {
        // Refused before a connection existed (aborted at once): nothing to release.
        if (!released) held -= 1;
        throw error;
      });
    },

    async create<R extends ResourceName>(
      resource: R,
      namespace: string,
      object: ResourceTypes[R],
      { signal }: RequestOptions,
    ): Promise<ResourceTypes[R]> {
      checkResource(resource);
      const name = object.metadata?.name ?? object.metadata?.generateName;
      return call(signal, { operation: `create ${resource}`, namespace, name }, (api, callOptions) =>
        resource === 'pods'
          ? api.createNamespacedPod({ namespace, body: object }, callOptions)
          : api.createNamespacedEvent({ namespace, body: object }, callOptions),
      );
    },

    async delete<R extends ResourceName>(
      resource: R,
      namespace: string,
      name: string,
      deleteOptions: DeleteOptions,
    ): Promise<void> {
      checkResource(resource);
      const { preconditions, gracePeriodSeconds, propagationPolicy } = deleteOptions;
      const body = {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        ...(preconditions ? { preconditions: { ...preconditions } } : {}),
        ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
        ...(propagationPolicy ? { propagationPolicy } : {}),
      };
      const param = {
        name,
        namespace,
        body,
        ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
        ...(propagationPolicy ? { propagationPolicy } : {}),
      };
      await call(
        deleteOptions.signal,
        { operation: `delete ${resource}`, namespace, name },
        (api, callOptions) =>
          resource === 'pods'
            ? api.deleteNamespacedPod(param, callOptions)
            : api.deleteNamespacedEvent(param, callOptions),
      );
    },

    async readPodLog(
      namespace: string,
      name: string,
      logOptions: PodLogOptions,
    ): Promise<AsyncIterable<string>> {
      const signal = callSignal(logOptions.signal);
      signal.throwIfAborted();
      checkConfiguration(kubeConfig, { files: false });
      const { client } = await raceAbort(load(), signal);
      return readPodLogWithClient(client, kubeConfig, namespace, name, logOptions, signal);
    },

    // The KubeConfig applies credentials afresh on every call (token files are re-read, exec and OIDC
    // plugins re-run once their credential expires), so the retry after a 401 picks up rotated ones.
    async refreshCredentials({ signal }: RequestOptions): Promise<void> {
      signal.throwIfAborted();
      logger.debug(
        {},
        'client-node transport: credentials are applied afresh by the KubeConfig on the retry',
      );
    },

    openHandles(): number {
      return held;
    },

    async close(): Promise<void> {
      closing.abort(new PodStorageError('client-node transport is closed'));
      while (releases.size > 0) await Promise.all([...releases]);
    },

    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
}
