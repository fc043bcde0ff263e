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
import type { FakeCluster } from './fake-cluster.js';
import { badRequest, notFound } from './status.js';

function checkResource(resource: string): asserts resource is ResourceName {
  if (resource !== 'pods' && resource !== 'events') {
    throw new TypeError(`The fake cluster serves "pods" and "events", not ${JSON.stringify(resource)}`);
  }
}

/**
 * A {@link PodTransport} that calls the cluster directly, with the behaviour of a network client: every
 * call goes through the cluster's request layer (injected latency, failures, stalls), errors are
 * `KubernetesError`s, and aborting a signal ends the call or stream at once.
 */
export function createInProcessTransport(cluster: FakeCluster): PodTransport {
  const namespaceOf = (namespace: string) => (namespace === '' ? undefined : namespace);
  return {
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
}
