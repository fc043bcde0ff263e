import { PodStorageError, type WatchEvent } from '@podstorage/core';

const WATCH_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Parses one watch event; a malformed one is a retryable payload error (the engine resumes the watch). */
export function parseWatchEvent<T>(text: string, operation: string): WatchEvent<T> {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input; the size is enough to diagnose a cut stream.
    throw new PodStorageError(
      `${operation}: received a watch event that is not valid JSON (${text.length} characters)`,
      {
        retryable: true,
      },
    );
  }
  const { type, object } = (event ?? {}) as { type?: unknown; object?: unknown };
  if (typeof type !== 'string' || !WATCH_TYPES.has(type) || typeof object !== 'object' || object === null) {
    throw new PodStorageError(`${operation}: received a watch event without a known type and an object`, {
      retryable: true,
    });
  }
  return event as WatchEvent<T>;
}
