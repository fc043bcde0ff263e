import { PodStorageError } from '@podstorage/core';
import type { Dispatcher } from 'undici';

/**
 * The text of a streamed response body (a container's log), UTF-8 decoded across chunk boundaries.
 * Ends when the body ends; a broken connection throws (retryable); aborting `signal` or stopping the
 * iteration destroys the body, which closes its socket. `onClose` runs once, however it ends.
 */
export async function* textChunks(
  body: Dispatcher.ResponseData['body'],
  signal: AbortSignal,
  operation: string,
  onClose: () => void,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  const onAbort = () => body.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body) {
      const text = decoder.decode(chunk as Uint8Array, { stream: true });
      if (text !== '') yield text;
    }
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new PodStorageError(`${operation}: the log stream broke off (${(error as Error).message})`, {
      cause: error,
      retryable: true,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Swallow the error destroy() may emit later: the iteration has reported what mattered.
    body.on('error', () => {});
    if (!body.destroyed) body.destroy();
    onClose();
  }
}
