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

export function collect<T>(stream: AsyncIterable<WatchEvent<T>>): Collected<T> {
  const result: Omit<Collected<T>, 'finished'> & { finished?: Promise<void> } = {
    events: [],
    done: false,
    error: undefined,
    summary() {
      return result.events.map((event) => {
        if (event.type === 'BOOKMARK') return `BOOKMARK:${event.object.metadata.resourceVersion}`;
        if (event.type === 'ERROR') return `ERROR:${event.object.code}`;
        return `${event.type}:${(event.object as { metadata?: { name?: string } }).metadata?.name}`;
      });
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
