import type {
  DeleteOptions,
  KubernetesEvent,
  ListOptions,
  ObjectList,
  Pod,
  PodLogOptions,
  PodTransport,
  RequestOptions,
  ResourceName,
  ResourceTypes,
  WatchEvent,
  WatchOptions,
} from '@podstorage/core';
import { PodStorageError } from '@podstorage/core';
import type { FakeCluster } from './fake-cluster.js';
import { badRequest, notFound } from './status.js';

function checkResource(resource: string): asserts resource is ResourceName {
  if (resource !== 'pods' && resource !== 'events') {
    throw new TypeError(`The fake cluster serves "pods" and "events", not ${JSON.stringify(resource)}`);
  }
}

/**
 * The transport of {@link FakeCluster.transport}: a {@link PodTransport} that also reports what it holds
 * and can be closed, as the network transports can.
 */
export interface FakeClusterTransport extends PodTransport {
  create: NonNullable<PodTransport['create']>;
  /** A container's log from the simulated kubelet (`cluster.podLogs` / `cluster.followPodLogs`). */
  readPodLog: NonNullable<PodTransport['readPodLog']>;
  /** Calls in flight (waiting out injected latency or a stall) plus watch streams still open. */
  openHandles(): number;
  /** Ends every open watch and in-flight call of this transport; later calls reject. Safe to call twice. */
  close(): Promise<void>;
  /** Same as {@link FakeClusterTransport.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A {@link PodTransport} that calls the cluster directly, with the behaviour of a network client: every
 * call goes through the cluster's request layer (injected latency, failures, stalls), errors are
 * `KubernetesError`s, and aborting a signal ends the call or stream at once.
 */
export function createInProcessTransport(cluster: FakeCluster): FakeClusterTransport {
  const namespaceOf = (namespace: string) => (namespace === '' ? undefined : namespace);
  const closing = new AbortController();
  const watches = new Set<{ readonly active: boolean }>();
  let callsInFlight = 0;
  // Every call is also cancelled by close(); after it, calls reject as a closed network client's would.
  const bound = <T extends { readonly signal: AbortSignal }>(options: T): T => {
    if (closing.signal.aborted) throw closing.signal.reason;
    return { ...options, signal: AbortSignal.any([options.signal, closing.signal]) };
  };
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    callsInFlight += 1;
    try {
      return await work();
    } finally {
      callsInFlight -= 1;
    }
  };
  const transport = {
    async get<R extends ResourceName>(
      resource: R,
      namespace: string,
      name: string,
      options: RequestOptions,
    ): Promise<ResourceTypes[R]> {
      checkResource(resource);
      await cluster.beginRequest('get', resource, namespace, options.signal);
      const object =
        resource === 'pods' ? cluster.getPod(namespace, name) : cluster.getEvent(namespace, name);
      if (object === undefined) throw notFound(resource, name);
      return object as ResourceTypes[R];
    },

    async list<R extends ResourceName>(
      resource: R,
      namespace: string,
      options: ListOptions,
    ): Promise<ObjectList<ResourceTypes[R]>> {
      checkResource(resource);
      await cluster.beginRequest('list', resource, namespaceOf(namespace), options.signal);
      const query = {
        fieldSelector: options.fieldSelector,
        labelSelector: options.labelSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
      };
      const result =
        resource === 'pods'
          ? cluster.listPods(namespaceOf(namespace), query)
          : cluster.listEvents(namespaceOf(namespace), query);
      return result as unknown as ObjectList<ResourceTypes[R]>;
    },

    async watch<R extends ResourceName>(
      resource: R,
      namespace: string,
      options: WatchOptions,
    ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
      checkResource(resource);
      await cluster.beginRequest('watch', resource, namespaceOf(namespace), options.signal);
      const stream = cluster.watch(resource, namespaceOf(namespace), {
        fieldSelector: options.fieldSelector,
        labelSelector: options.labelSelector,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
        sendInitialEvents: options.sendInitialEvents,
        allowWatchBookmarks: options.allowWatchBookmarks,
        timeoutSeconds: options.timeoutSeconds,
        signal: options.signal,
      });
      watches.add(stream as unknown as { readonly active: boolean });
      const onActivity = options.onActivity;
      if (onActivity === undefined) return stream as AsyncIterable<WatchEvent<ResourceTypes[R]>>;
      return {
        [Symbol.asyncIterator]() {
          const iterator = stream[Symbol.asyncIterator]();
          return {
            async next() {
              const result = await iterator.next();
              if (!result.done) onActivity();
              return result as IteratorResult<WatchEvent<ResourceTypes[R]>>;
            },
            async return() {
              await iterator.return?.();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },

    async create<R extends ResourceName>(
      resource: R,
      namespace: string,
      object: ResourceTypes[R],
      options: RequestOptions,
    ): Promise<ResourceTypes[R]> {
      checkResource(resource);
      await cluster.beginRequest('create', resource, namespace, options.signal);
      // As the API server: the namespace of the request wins, and a different one in the object is an error.
      if (object.metadata?.namespace && object.metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      const metadata = { ...object.metadata, namespace };
      const created =
        resource === 'pods'
          ? cluster.createPod({ ...(object as Pod), metadata }, { strict: true })
          : cluster.createEvent({ ...(object as KubernetesEvent), metadata });
      return created as ResourceTypes[R];
    },

    async delete<R extends ResourceName>(
      resource: R,
      namespace: string,
      name: string,
      options: DeleteOptions,
    ): Promise<void> {
      checkResource(resource);
      await cluster.beginRequest('delete', resource, namespace, options.signal);
      const query = {
        gracePeriodSeconds: options.gracePeriodSeconds,
        preconditions: options.preconditions,
        propagationPolicy: options.propagationPolicy,
      };
      if (resource === 'pods') cluster.deletePod(namespace, name, query);
      else cluster.deleteEvent(namespace, name, query);
    },

    async readPodLog(
      namespace: string,
      name: string,
      options: PodLogOptions,
    ): Promise<AsyncIterable<string>> {
      await cluster.beginRequest('get', 'pods', namespace, options.signal);
      const { signal, ...query } = options;
      if (query.follow) return cluster.followPodLogs(namespace, name, { ...query, signal });
      const text = cluster.podLogs(namespace, name, query);
      return (async function* () {
        if (text !== '') yield text;
      })();
    },
  };
  return {
    get: (resource, namespace, name, options) =>
      counted(() => transport.get(resource, namespace, name, bound(options))),
    list: (resource, namespace, options) =>
      counted(() => transport.list(resource, namespace, bound(options))),
    watch: (resource, namespace, options) =>
      counted(() => transport.watch(resource, namespace, bound(options))),
    create: (resource, namespace, object, options) =>
      counted(() => transport.create(resource, namespace, object, bound(options))),
    delete: (resource, namespace, name, options) =>
      counted(() => transport.delete(resource, namespace, name, bound(options))),
    readPodLog: async (namespace, name, options) => {
      const signal = bound(options).signal;
      const chunks = await counted(() => transport.readPodLog(namespace, name, { ...options, signal }));
      // An open log stream is held like a watch until it ends or its signal aborts.
      const handle = { active: true };
      watches.add(handle);
      return (async function* () {
        try {
          yield* chunks;
        } finally {
          handle.active = false;
        }
      })();
    },
    openHandles() {
      for (const watch of watches) if (!watch.active) watches.delete(watch);
      return callsInFlight + watches.size;
    },
    async close() {
      if (!closing.signal.aborted) closing.abort(new PodStorageError('the fake cluster transport is closed'));
      watches.clear();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
