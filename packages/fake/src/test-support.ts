// Helpers for this package's own tests (not published).
import type { Logger, Status, WatchEvent } from '@podstorage/core';

/** Lets every queued promise reaction run: one real macrotask, no timers, no sleeping. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How long {@link waitFor} keeps trying by default: generous, since it only bounds a failure. */
export const WAIT_FOR_REAL_MS = 10_000;

/**
 * Waits until `condition` holds (socket I/O, a child process, work a fake-clock step started), checking
 * it after every real macrotask and, once the first thousand turns have passed, every few milliseconds
 * so a long wait does not keep a core busy. Fails with a message after `realMs` of real time: the bound
 * is on time, not on turns, so a loaded machine (slower I/O, fewer turns per second) fails no test.
 */
export async function waitFor(
  condition: () => boolean,
  what: string,
  options: { readonly realMs?: number } = {},
): Promise<void> {
  const realMs = options.realMs ?? WAIT_FOR_REAL_MS;
  const started = performance.now();
  for (let turn = 0; ; turn++) {
    if (condition()) return;
    if (performance.now() - started > realMs) {
      throw new Error(`timed out waiting for ${what} (${realMs} ms of real time, ${turn} event-loop turns)`);
    }
    await (turn < 1_000 ? settle() : new Promise((resolve) => setTimeout(resolve, 5)));
  }
}

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

/** A minimal pod with one container that is never restarted (a job: it ends as its script says). */
export function pod(
  name: string,
  extra: {
    namespace?: string;
    labels?: Record<string, string>;
    image?: string;
    restartPolicy?: 'Always' | 'OnFailure' | 'Never';
    command?: string[];
  } = {},
) {
  return {
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      ...(extra.labels ? { labels: extra.labels } : {}),
    },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Never',
      containers: [
        {
          name: 'main',
          image: extra.image ?? 'busybox',
          ...(extra.command ? { command: extra.command } : {}),
        },
      ],
    },
  };
}

/** A log line a {@link recordingLogger} kept. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string | undefined;
}

/** A core `Logger` that keeps every line, for tests that check what was (or was not) logged. */
export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const record =
    (level: LogLine['level']) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

/**
 * The Status a real apiserver answers for a resourceVersion it does not have yet:
 * - storage.NewTooLargeResourceVersionError (staging/src/k8s.io/apiserver/pkg/storage/errors.go) wraps
 *   apierrors.NewTimeoutError (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go): code 504,
 *   reason Timeout, message "Timeout: Too large resource version: %d, current: %d", and sets
 *   details.causes to one cause of type (JSON `reason`) ResourceVersionTooLarge, message
 *   "Too large resource version".
 * - The watch cache gives up after blockTimeout (3 s) with resourceVersionTooHighRetrySeconds = 1
 *   (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go, waitUntilFreshAndBlock): that is
 *   the answer to a list with that resourceVersion, as HTTP 504.
 * - A watch asking for sendInitialEvents gets the same Status as an ERROR event on an HTTP 200 stream
 *   (Cacher.waitUntilWatchCacheFreshAndForceAllEvents in storage/cacher/cacher.go; checked by
 *   RunWaitUntilWatchCacheFreshAndForceAllEventsTest in storage/cacher/tests/consistent_list_from_cache/common.go).
 *   A plain watch the cacher accepts and holds silent until its cache passes the version (only events
 *   newer than it are sent: cacheWatcher.process in cache_watcher.go): the fake's `futureWatch: 'wait'`.
 *   By default the fake answers plain watches with the ERROR too, so clients learn at once.
 */
export function tooLargeStatus(requested: string, current: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Timeout: Too large resource version: ${requested}, current: ${current}`,
    reason: 'Timeout',
    details: {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
    code: 504,
  };
}
