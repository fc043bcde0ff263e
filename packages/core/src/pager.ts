import type { Clock } from './clock.js';
import { KubernetesError } from './errors.js';
import type { ObjectMeta } from './kubernetes.js';
import type { Logger } from './logger.js';
import type { FieldSelector } from './selectors.js';
import { Timeout } from './timeout.js';
import type { PodTransport, ResourceName, ResourceTypes } from './transport.js';

/** A whole list: every item by name, and the resourceVersion to watch from. */
export interface ListedObjects<T> {
  readonly objects: Map<string, T>;
  readonly resourceVersion: string;
}

/** What {@link listAllPages} needs. */
export interface PagerSettings {
  readonly transport: PodTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  /** Called once per request sent, for the engine's counters. */
  readonly onRequest?: () => void;
}

/**
 * Lists a resource page by page (`limit` + `continue`). When a continue token expires mid-way (410:
 * history moved on while paging), it falls back to one full list without `limit`, as client-go's pager
 * does (`FullListIfExpired`), instead of starting again from page one, which a busy cluster can expire
 * forever. Each request is bounded by `requestTimeoutMs`; other errors are thrown to the caller.
 */
export async function listAllPages<R extends ResourceName>(
  settings: PagerSettings,
  resource: R,
  namespace: string,
  fieldSelector: FieldSelector | undefined,
  signal: AbortSignal,
): Promise<ListedObjects<ResourceTypes[R]>> {
  const objects = new Map<string, ResourceTypes[R]>();
  let continueToken: string | undefined;
  let limit: number | undefined = settings.pageSize;
  for (;;) {
    settings.onRequest?.();
    const request = new Timeout(`list ${resource} in ${namespace}`, settings.requestTimeoutMs, {
      clock: settings.clock,
    });
    let page: Awaited<ReturnType<PodTransport['list']>>;
    try {
      page = await settings.transport.list(resource, namespace, {
        fieldSelector,
        ...(limit === undefined ? {} : { limit }),
        ...(continueToken === undefined ? {} : { continue: continueToken }),
        signal: AbortSignal.any([signal, request.signal]),
      });
    } catch (error) {
      const expiredToken =
        continueToken !== undefined && KubernetesError.isInstance(error) && error.code === 410;
      if (!expiredToken) throw error;
      settings.logger.info(
        { resource, namespace, itemsSoFar: objects.size },
        'continue token expired while paging: falling back to one full list',
      );
      objects.clear();
      continueToken = undefined;
      limit = undefined;
      continue;
    } finally {
      request.dispose();
    }
    for (const item of page.items) {
      const name = (item as { metadata?: ObjectMeta }).metadata?.name;
      if (name !== undefined) objects.set(name, item as ResourceTypes[R]);
    }
    continueToken = page.metadata.continue || undefined;
    // Without a limit the server sends everything at once; a continue token then would be a server bug
    // that must not make us loop.
    if (continueToken === undefined || limit === undefined) {
      return { objects, resourceVersion: page.metadata.resourceVersion ?? '' };
    }
  }
}
