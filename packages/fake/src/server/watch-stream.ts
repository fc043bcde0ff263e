import type { WatchEvent } from '@podstorage/core';
import type { FakeCluster } from '../fake-cluster.js';
import type { ResourcePath } from './routes.js';
import { watchQueryOf } from './routes.js';

/**
 * Opens the cluster's watch for a request (applying request faults first: latency, failures, a stall
 * before headers). Throws a `KubernetesError` or `StatusFailure` for anything that must be answered
 * with a Status instead of a stream.
 */
export async function openWatch(
  cluster: FakeCluster,
  path: ResourcePath,
  query: URLSearchParams,
  signal: AbortSignal,
): Promise<AsyncIterable<WatchEvent<unknown>>> {
  const watchQuery = watchQueryOf(query);
  const resource = path.resource;
  // Request faults and the watchdog concern pods and events, as for every other request.
  if (resource === 'pods' || resource === 'events')
    await cluster.beginRequest('watch', resource, path.namespace, signal);
  return cluster.watch(resource, path.namespace, { ...watchQuery, signal });
}

/** Whether a stream error is the injected connection reset (the client must see the socket die). */
export function isConnectionReset(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ECONNRESET';
}
