import type { IncomingMessage, ServerResponse } from 'node:http';

/** Options of {@link openEventStream}. */
export interface EventStreamOptions {
  /** Real milliseconds between heartbeat comments, which keep proxies and idle timers from cutting the stream. */
  readonly heartbeatMs: number;
  /** Aborted when the server shuts down: the stream ends. */
  readonly shutdown: AbortSignal;
}

/**
 * One server-sent events response. `signal` aborts the moment the browser goes away (or the server
 * shuts down), so whatever feeds the stream can stop its watches at once.
 */
export interface EventStream {
  /** Aborts when the client disconnects, the server shuts down, or {@link EventStream.end} is called. */
  readonly signal: AbortSignal;
  /** Sends one event with the next id; `data` is sent as JSON. Ignored once the stream has ended. */
  send(event: string, data: unknown): void;
  /**
   * The `Last-Event-ID` the browser sent when it reconnected (EventSource does after a dropped
   * connection), or `undefined` on a first connection. Ids go on from it.
   */
  readonly resumedAfter: number | undefined;
  /** Ends the response and aborts {@link EventStream.signal}. Idempotent. */
  end(): void;
}

/**
 * Turns `response` into a server-sent events stream: `text/event-stream`, no caching, no proxy
 * buffering, an id on every event, and a heartbeat comment every `heartbeatMs`.
 */
export function openEventStream(
  request: IncomingMessage,
  response: ServerResponse,
  options: EventStreamOptions,
): EventStream {
  const controller = new AbortController();
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    // nginx and similar proxies buffer responses unless told not to.
    'X-Accel-Buffering': 'no',
  });
  // Nagle would hold small event frames back; an event stream is all small frames.
  request.socket.setNoDelay(true);
  // How long the browser waits before reconnecting after the connection drops.
  response.write('retry: 2000\n\n');
  // A reconnecting EventSource sends the id of the last event it got: numbering goes on from there, so
  // the ids of one page's stream only ever grow across reconnects.
  const lastId = Number(request.headers['last-event-id'] ?? Number.NaN);
  const resumedAfter = Number.isSafeInteger(lastId) && lastId >= 0 ? lastId : undefined;
  let nextId = (resumedAfter ?? 0) + 1;
  const heartbeat = setInterval(() => {
    response.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  const end = () => {
    if (controller.signal.aborted) return;
    clearInterval(heartbeat);
    options.shutdown.removeEventListener('abort', end);
    controller.abort(new DOMException('event stream closed', 'AbortError'));
    if (!response.writableEnded) response.end();
  };
  // 'close' on the response fires when the client goes away before the response ended.
  response.on('close', end);
  options.shutdown.addEventListener('abort', end, { once: true });
  if (options.shutdown.aborted) end();
  return {
    signal: controller.signal,
    resumedAfter,
    send(event, data) {
      if (controller.signal.aborted || response.writableEnded) return;
      response.write(`id: ${nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
  };
}
