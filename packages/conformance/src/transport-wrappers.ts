import {
  KubernetesError,
  type ObjectList,
  type PodTransport,
  type ResourceName,
  type ResourceTypes,
  type WatchEvent,
} from '@podstorage/core';
import { tooLargeResourceVersion } from '@podstorage/fake';

type WithMetadata = { metadata?: { resourceVersion?: string } };

/**
 * Makes every resourceVersion the storage sees opaque and unordered (Kubernetes promises nothing about
 * their format: an aggregated API server or another storage may use any string), and translates them
 * back on the way to the cluster. A client that orders versions, or parses them as numbers, breaks.
 */
export function opaqueResourceVersions(inner: PodTransport): PodTransport {
  // Reversed base-36 with a prefix: not decimal, and neither numeric nor lexical order survives.
  const hide = (version: string | undefined) =>
    version === undefined || version === ''
      ? version
      : `v.${[...Number(version).toString(36)].reverse().join('')}`;
  const reveal = revealResourceVersion;
  const hideIn = <T>(object: T): T => {
    const metadata = (object as WithMetadata).metadata;
    if (metadata?.resourceVersion === undefined) return object;
    return { ...object, metadata: { ...metadata, resourceVersion: hide(metadata.resourceVersion) } };
  };
  const transport: PodTransport = {
    get: async (resource, namespace, name, options) =>
      hideIn(await inner.get(resource, namespace, name, options)),
    list: async <R extends ResourceName>(
      resource: R,
      namespace: string,
      options: Parameters<PodTransport['list']>[2],
    ): Promise<ObjectList<ResourceTypes[R]>> => {
      const list = await inner.list(resource, namespace, {
        ...options,
        ...(options.resourceVersion === undefined
          ? {}
          : { resourceVersion: reveal(options.resourceVersion) }),
      });
      return { metadata: hideIn(list).metadata, items: list.items.map(hideIn) } as ObjectList<
        ResourceTypes[R]
      >;
    },
    watch: async <R extends ResourceName>(
      resource: R,
      namespace: string,
      options: Parameters<PodTransport['watch']>[2],
    ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> => {
      const stream = await inner.watch(resource, namespace, {
        ...options,
        ...(options.resourceVersion === undefined
          ? {}
          : { resourceVersion: reveal(options.resourceVersion) }),
      });
      return (async function* () {
        for await (const event of stream) {
          yield (event.type === 'ERROR' ? event : { ...event, object: hideIn(event.object) }) as WatchEvent<
            ResourceTypes[R]
          >;
        }
      })();
    },
    delete: (resource, namespace, name, options) =>
      inner.delete(resource, namespace, name, {
        ...options,
        ...(options.preconditions?.resourceVersion === undefined
          ? {}
          : {
              preconditions: {
                ...options.preconditions,
                resourceVersion: reveal(options.preconditions.resourceVersion),
              },
            }),
      }),
  };
  if (inner.refreshCredentials) transport.refreshCredentials = inner.refreshCredentials.bind(inner);
  return transport;
}

/** The cluster's resourceVersion behind one that {@link opaqueResourceVersions} made opaque (others as they are). */
export function revealResourceVersion<T extends string | undefined>(version: T): T {
  return (
    version?.startsWith('v.')
      ? String(Number.parseInt([...version.slice(2)].reverse().join(''), 36))
      : version
  ) as T;
}

/** Switches of {@link lostHistory}. */
export interface HistoryLoss {
  /** Set to the cluster's resourceVersion at the loss: every version up to it is unknown from then on. */
  lostUpTo: string | undefined;
  /** Watches answered with 504 ResourceVersionTooLarge so far. */
  refused: number;
}

/**
 * A server that lost its history (an etcd restore, an HA apiserver whose cache lags): once
 * `loss.lostUpTo` is set, a watch from any version up to it is answered `504 ResourceVersionTooLarge`,
 * as the apiserver does; versions handed out after the loss (a new list) work. For the fake's decimal
 * versions only.
 */
export function lostHistory(inner: PodTransport, loss: HistoryLoss): PodTransport {
  const transport: PodTransport = {
    get: inner.get.bind(inner),
    delete: inner.delete.bind(inner),
    list: inner.list.bind(inner),
    watch: async (resource, namespace, options) => {
      const version = options.resourceVersion;
      if (loss.lostUpTo !== undefined && version !== undefined && BigInt(version) <= BigInt(loss.lostUpTo)) {
        loss.refused += 1;
        throw KubernetesError.fromStatus(tooLargeResourceVersion(Number(version), 1), {
          operation: `watch ${resource}`,
          namespace,
        });
      }
      return inner.watch(resource, namespace, options);
    },
  };
  if (inner.refreshCredentials) transport.refreshCredentials = inner.refreshCredentials.bind(inner);
  return transport;
}
