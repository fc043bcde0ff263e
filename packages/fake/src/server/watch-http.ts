import type { ServerResponse } from 'node:http';
import { constants, type Http2ServerResponse } from 'node:http2';
import type { WatchEvent } from '@podstorage/core';
import { mediaTypeOf, type WireFormat } from './negotiation.js';
import { encodeWatchFrame } from './protobuf-codec.js';
import { isConnectionReset } from './watch-stream.js';

/** How a watch is written: its format, and a conversion of each event's object (events.k8s.io/v1). */
export interface WatchWriting {
  readonly format: WireFormat;
  readonly convert?: (object: unknown) => unknown;
}

function frame(event: WatchEvent<unknown>, writing: WatchWriting): string | Buffer {
  const object = writing.convert === undefined ? event.object : writing.convert(event.object);
  if (writing.format === 'protobuf') {
    return encodeWatchFrame(event.type, object as Record<string, unknown>);
  }
  return `${JSON.stringify({ type: event.type, object })}\n`;
}

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
 * Serves an open watch over chunked HTTP (or an HTTP/2 stream), as the apiserver does: status 200 at
 * once, then one event per write, each sent as it happens: a JSON line (`application/json`), or with
 * protobuf a length-prefixed WatchEvent (`application/vnd.kubernetes.protobuf;stream=watch`). A clean
 * end of the stream ends the response; an injected reset destroys the socket without the closing chunk
 * (over HTTP/2: resets the stream), so the client sees the connection die mid-stream.
 */
export async function serveWatchOverHttp(
  response: ServerResponse,
  stream: AsyncIterable<WatchEvent<unknown>>,
  signal: AbortSignal,
  writing: WatchWriting = { format: 'json' },
): Promise<void> {
  const http2 = response.req.httpVersionMajor >= 2;
  response.writeHead(200, {
    // The apiserver labels a JSON watch plain application/json, a protobuf one with ;stream=watch.
    'Content-Type': writing.format === 'json' ? 'application/json' : mediaTypeOf(writing.format, true),
    ...(http2 ? {} : { 'Transfer-Encoding': 'chunked' }),
    'Cache-Control': 'no-cache, private',
  });
  response.flushHeaders();
  try {
    for await (const event of stream) {
      if (response.destroyed) break;
      if (!response.write(frame(event, writing))) await drainOrClose(response);
    }
    if (!response.destroyed) response.end();
  } catch (error) {
    if (isConnectionReset(error)) {
      if (http2) (response as unknown as Http2ServerResponse).stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      else response.socket?.destroy();
    } else if (!signal.aborted) response.destroy(error instanceof Error ? error : undefined);
  }
}
