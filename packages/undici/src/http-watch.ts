import { PodStorageError, type WatchEvent } from '@podstorage/core';
import type { Dispatcher } from 'undici';
import { EventChannel } from './event-channel.js';
import { LineDecoder } from './line-decoder.js';
import { parseWatchEvent } from './watch-events.js';

/** Options of {@link httpWatchChannel}. */
export interface HttpWatchChannelOptions {
  readonly signal: AbortSignal;
  readonly operation: string;
  readonly onActivity?: (() => void) | undefined;
  readonly maxEventBytes?: number | undefined;
  /** Called once when the stream is finished with (for counting open streams). */
  readonly onClose?: () => void;
}

/**
 * The events of a chunked watch response, decoded line by line as chunks arrive. Every chunk (blank
 * keep-alive lines included) counts as activity. A body that ends cleanly ends the iteration; a broken
 * connection or a malformed event throws (retryable). Aborting `signal` or calling `return()` destroys
 * the body, which closes its socket.
 */
export function httpWatchChannel<T>(
  body: Dispatcher.ResponseData['body'],
  options: HttpWatchChannelOptions,
): EventChannel<WatchEvent<T>> {
  const { signal, operation, onActivity } = options;
  const decoder = new LineDecoder(
    options.maxEventBytes === undefined ? {} : { maxLineBytes: options.maxEventBytes },
  );
  const onAbort = () => channel.fail(signal.reason, { discard: true });
  const onData = (chunk: Buffer) => {
    onActivity?.();
    let lines: string[];
    try {
      lines = decoder.push(chunk);
      for (const line of lines) {
        channel.push(parseWatchEvent<T>(line, operation));
        if (!channel.open) return;
      }
    } catch (error) {
      channel.fail(
        PodStorageError.isInstance(error)
          ? error
          : new PodStorageError(`${operation}: ${(error as Error).message}`, {
              cause: error,
              retryable: true,
            }),
      );
    }
  };
  const onEnd = () => {
    try {
      const last = decoder.end();
      if (last !== undefined) channel.push(parseWatchEvent<T>(last, operation));
      channel.end();
    } catch (error) {
      channel.fail(error);
    }
  };
  const onError = (error: Error) => {
    if (signal.aborted) {
      channel.fail(signal.reason, { discard: true });
      return;
    }
    channel.fail(
      new PodStorageError(`${operation}: the watch connection broke (${error.message})`, {
        cause: error,
        retryable: true,
      }),
    );
  };
  const channel: EventChannel<WatchEvent<T>> = new EventChannel({
    pause: () => body.pause(),
    resume: () => body.resume(),
    close: () => {
      signal.removeEventListener('abort', onAbort);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      // Swallow the error destroy() may emit later; the channel has already reported what mattered.
      body.on('error', () => {});
      if (!body.destroyed) body.destroy();
      options.onClose?.();
    },
  });
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return channel;
}
