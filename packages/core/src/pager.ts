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
 * Lists a resource page by page (`limit` + `continue`), handing each page's items to `onPage` as it
 * arrives, so a caller that keeps only what it needs of each object never holds the whole list. When a
 * continue token expires mid-way (410: history moved on while paging), it falls back to one full list
 * without `limit`, as client-go's pager does (`FullListIfExpired`), instead of starting again from page
 * one, which a busy cluster can expire forever; `onPage` is then told the list `restarted`, and what it
 * was handed before is superseded. Each request is bounded by `requestTimeoutMs`; other errors are thrown
 * to the caller. Resolves with the list's resourceVersion.
 */
export async function listPages<R extends ResourceName>(
  settings: PagerSettings,
  resource: R,
  namespace: string,
  fieldSelector: FieldSelector | undefined,
  signal: AbortSignal,
  onPage: (items: readonly ResourceTypes[R][], page: { readonly restarted: boolean }) => void,
): Promise<string> {
  let continueToken: string | undefined;
  let limit: number | undefined = settings.pageSize;
  let restarted = false;
  let itemsSoFar = 0;
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
        { resource, namespace, itemsSoFar },
        'continue token expired while paging: falling back to one full list',
      );
      continueToken = undefined;
      limit = undefined;
      restarted = true;
      itemsSoFar = 0;
      continue;
    } finally {
      request.dispose();
    }
    onPage(page.items as readonly ResourceTypes[R][], { restarted });
    restarted = false;
    itemsSoFar += page.items.length;
    continueToken = page.metadata.continue || undefined;
    // Without a limit the server sends everything at once; a continue token then would be a server bug
    // that must not make us loop.
    if (continueToken === undefined || limit === undefined) return page.metadata.resourceVersion ?? '';
  }
}

/** {@link listPages} into one map of every item by name. */
export async function listAllPages<R extends ResourceName>(
  settings: PagerSettings,
  resource: R,
  namespace: string,
  fieldSelector: FieldSelector | undefined,
  signal: AbortSignal,
): Promise<ListedObjects<ResourceTypes[R]>> {
  const objects = new Map<string, ResourceTypes[R]>();
  const resourceVersion = await listPages(
    settings,
    resource,
    namespace,
    fieldSelector,
    signal,
    (items, { restarted }) => {
      if (restarted) objects.clear();
      for (const item of items) {
        const name = (item as { metadata?: ObjectMeta }).metadata?.name;
        if (name !== undefined) objects.set(name, item);
      }
    },
  );
  return { objects, resourceVersion };
}
