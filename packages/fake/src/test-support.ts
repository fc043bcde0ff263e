// Helpers for this package's own tests (not published).
import type { WatchEvent } from '@podstorage/core';

/** Lets every queued promise reaction run: one real macrotask, no timers, no sleeping. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Reads a watch stream in the background into `events`, recording how it ended. */
export interface Collected<T> {
  readonly events: WatchEvent<T>[];
  done: boolean;
  error: unknown;
  readonly finished: Promise<void>;
  /** `type:name` (or `type:rv` for bookmarks, `ERROR:code`), for compact assertions. */
  summary(): string[];
}

/** Watch events as short strings (`ADDED:web`, `BOOKMARK:42`, `ERROR:410`), to compare whole streams. */
export function summarize(events: readonly { readonly type: string; readonly object: unknown }[]): string[] {
  return events.map(({ type, object }) => {
    const { metadata, code } = object as {
      metadata?: { name?: unknown; resourceVersion?: unknown };
      code?: unknown;
    };
    if (type === 'BOOKMARK') return `BOOKMARK:${metadata?.resourceVersion}`;
    if (type === 'ERROR') return `ERROR:${code}`;
    return `${type}:${metadata?.name}`;
  });
}

export function collect<T>(stream: AsyncIterable<WatchEvent<T>>): Collected<T> {
  const result: Omit<Collected<T>, 'finished'> & { finished?: Promise<void> } = {
    events: [],
    done: false,
    error: undefined,
    summary() {
      return summarize(result.events);
    },
  };
  result.finished = (async () => {
    try {
      for await (const event of stream) result.events.push(event);
    } catch (error) {
      result.error = error;
    } finally {
      result.done = true;
    }
  })();
  return result as Collected<T>;
}

/** A minimal pod with one container. */
export function pod(
  name: string,
  extra: { namespace?: string; labels?: Record<string, string>; image?: string } = {},
) {
  return {
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      ...(extra.labels ? { labels: extra.labels } : {}),
    },
    spec: { containers: [{ name: 'main', image: extra.image ?? 'busybox' }] },
  };
}
