import type { BookmarkObject, TimerHandle, WatchEvent } from '@podstorage/core';
import type { FakeClock } from '../fake-clock.js';
import type { Change, ObjectStore, StoredObject } from '../object-store.js';
import { expiredStatus, tooLargeResourceVersion } from '../status.js';
import { Watcher } from '../watcher.js';
import { API_VERSIONS, copy, OBJECT_KINDS } from './context.js';
import type { WatchObject, WatchQuery } from './queries.js';
import { listOptionsInvalid, type Matcher, matcherFor, matches, parseResourceVersion } from './selection.js';

/** How long before a watch's deadline its last bookmark goes out (the watch cache's 2 s). */
const PRE_TIMEOUT_BOOKMARK_MS = 2_000;

/** An open watch's filter, and (for a watch from a future version in `wait` mode) the version it waits past. */
interface WatchEntry extends Matcher {
  readonly after?: number;
}

/** What the watch hub needs from the cluster. */
export interface WatchHubOptions {
  readonly clock: FakeClock;
  readonly store: ObjectStore;
  readonly bookmarkIntervalMs: number;
  readonly watchTimeoutSeconds: number;
  readonly futureWatch: 'error' | 'wait';
  /** Told of every watch as it opens, before its first event (the fault injector's cut budgets). */
  readonly onOpened: (watcher: Watcher<StoredObject>) => void;
}

/**
 * The open watches: opens them (initial state or history replay, bookmarks, timeouts) and sends every
 * committed change to the watches it concerns, with the apiserver's selector transition rules.
 */
export class WatchHub {
  readonly #options: WatchHubOptions;
  readonly #watchers = new Map<Watcher<StoredObject>, WatchEntry>();
  #opened = 0;

  constructor(options: WatchHubOptions) {
    this.#options = options;
    options.store.subscribe((change) => this.#dispatch(change));
  }

  /** Every watch not yet closed. */
  watchers(): IterableIterator<Watcher<StoredObject>> {
    return this.#watchers.keys();
  }

  /** Watch streams opened since the cluster started. */
  get opened(): number {
    return this.#opened;
  }

  /** Opens a watch; see {@link FakeCluster.watch}. */
  open<R extends 'pods' | 'events' | 'namespaces' | 'nodes' | 'leases'>(
    resource: R,
    namespace: string | undefined,
    options: WatchQuery & { readonly signal: AbortSignal },
  ): AsyncIterable<WatchEvent<WatchObject<R>>> {
    const { clock, store } = this.#options;
    const matcher = matcherFor(resource, namespace, options);
    if (options.sendInitialEvents && !options.allowWatchBookmarks) {
      listOptionsInvalid(
        'allowWatchBookmarks',
        'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true',
      );
    }
    const requested = options.resourceVersion;
    const from =
      requested === undefined || requested === '' || requested === '0'
        ? undefined
        : parseResourceVersion(requested);
    if (options.signal.aborted)
      throw options.signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

    this.#opened++;
    const watcher = new Watcher<StoredObject>({
      resource,
      namespace,
      signal: options.signal,
      onClose: (closed) => this.#watchers.delete(closed),
    });
    // A cut budget for upcoming watches counts from the first event, initial state included.
    this.#options.onOpened(watcher);
    const kind = OBJECT_KINDS[resource];
    const bookmark = (annotations?: Record<string, string>): WatchEvent<StoredObject> => {
      const object: BookmarkObject = {
        kind,
        apiVersion: API_VERSIONS[resource],
        metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) },
      };
      return { type: 'BOOKMARK', object };
    };
    const typed = watcher as unknown as AsyncIterable<WatchEvent<WatchObject<R>>>;

    const oldest = store.oldestServableOf(resource);
    if (from !== undefined && !options.sendInitialEvents && from < oldest) {
      watcher.push({
        type: 'ERROR',
        object: expiredStatus(`too old resource version: ${from} (${oldest})`),
      });
      watcher.end();
      return typed;
    }
    // The watch cache answers a streaming list from the future with this error, and accepts a plain
    // watch from the future, waiting for the version (Cacher.waitUntilWatchCacheFreshAndForceAllEvents).
    const future = from !== undefined && from > store.resourceVersion;
    if (future && (options.sendInitialEvents || this.#options.futureWatch === 'error')) {
      watcher.push({ type: 'ERROR', object: tooLargeResourceVersion(from, store.resourceVersion) });
      watcher.end();
      return typed;
    }
    const after = future ? from : undefined;

    if (from === undefined || options.sendInitialEvents) {
      for (const object of store.values(resource)) {
        if (matches(matcher, resource, object)) watcher.push({ type: 'ADDED', object: copy(object) });
      }
      if (options.sendInitialEvents) watcher.push(bookmark({ 'k8s.io/initial-events-end': 'true' }));
    } else {
      for (const change of store.changesAfter(from, resource)) {
        if (change.resource !== resource) continue;
        const event = transition(matcher, change);
        if (event !== undefined) watcher.push(event);
      }
    }
    if (!watcher.open) return typed;
    this.#watchers.set(watcher, after === undefined ? matcher : { ...matcher, after });

    const timeoutSeconds = options.timeoutSeconds ?? this.#options.watchTimeoutSeconds;
    const deadline = clock.now() + Math.max(0, timeoutSeconds) * 1_000;
    if (options.allowWatchBookmarks) {
      let timer: TimerHandle | undefined;
      // As the watch cache (cacheWatcher.nextBookmarkTime in storage/cacher/cache_watcher.go): every
      // interval, and once 2 s before the watch's deadline, so the client resumes from a fresh version
      // when the timeout ends the stream. (The watch cache sends none at all in a watch's last 2 s;
      // here the interval can be shorter than that, and its bookmarks go on.)
      const preTimeout = deadline - PRE_TIMEOUT_BOOKMARK_MS;
      const arm = () => {
        const now = clock.now();
        const periodic = now + this.#options.bookmarkIntervalMs;
        const next = preTimeout > now && preTimeout < periodic ? preTimeout : periodic;
        timer = clock.setTimeout(() => {
          // A watch waiting past a future version gets no bookmark older than that version.
          if (after === undefined || store.resourceVersion >= after) watcher.push(bookmark());
          if (watcher.open) arm();
        }, next - now);
      };
      arm();
      watcher.onRelease(() => {
        if (timer !== undefined) clock.clearTimeout(timer);
      });
    }
    const closer = clock.setTimeout(() => watcher.end(), deadline - clock.now());
    watcher.onRelease(() => clock.clearTimeout(closer));
    return typed;
  }

  #dispatch(change: Change): void {
    for (const [watcher, matcher] of [...this.#watchers]) {
      if (!watcher.open || watcher.resource !== change.resource) continue;
      if (matcher.after !== undefined && change.resourceVersion <= matcher.after) continue;
      const event = transition(matcher, change);
      if (event !== undefined) watcher.push(event);
    }
  }
}

/** The event a change is for a watch with this matcher: ADDED, MODIFIED, DELETED or none. */
function transition(matcher: Matcher, change: Change): WatchEvent<StoredObject> | undefined {
  const now = change.type !== 'DELETED' && matches(matcher, change.resource, change.object);
  const before = change.previous !== undefined && matches(matcher, change.resource, change.previous);
  if (now && !before) return { type: 'ADDED', object: copy(change.object) };
  if (now && before) return { type: 'MODIFIED', object: copy(change.object) };
  if (!now && before) {
    // As the apiserver does: the last state that matched, stamped with the change's resourceVersion.
    const last = copy(change.type === 'DELETED' ? change.object : (change.previous as StoredObject));
    last.metadata = { ...last.metadata, resourceVersion: String(change.resourceVersion) };
    return { type: 'DELETED', object: last };
  }
  return undefined;
}
