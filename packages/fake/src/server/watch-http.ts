import type { ServerResponse } from 'node:http';
import type { WatchEvent } from '@podstorage/core';
import { isConnectionReset } from './watch-stream.js';

function drainOrClose(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * Serves an open watch over chunked HTTP, as the apiserver does: status 200 with
 * `Content-Type: application/json` at once, then one JSON event per line, each written (and so sent as
 * its own chunk) as it happens. A clean end of the stream ends the response; an injected reset destroys
 * the socket without the closing chunk, so the client sees the connection die mid-stream.
 */
export async function serveWatchOverHttp(
  response: ServerResponse,
  stream: AsyncIterable<WatchEvent<unknown>>,
  signal: AbortSignal,
): Promise<void> {
  response.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  response.flushHeaders();
  try {
    for await (const event of stream) {
      if (response.destroyed) break;
      if (!response.write(`${JSON.stringify(event)}\n`)) await drainOrClose(response);
    }
    if (!response.destroyed) response.end();
  } catch (error) {
    if (isConnectionReset(error)) response.socket?.destroy();
    else if (!signal.aborted) response.destroy(error instanceof Error ? error : undefined);
  }
}
