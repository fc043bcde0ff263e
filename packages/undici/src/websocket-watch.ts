import type { IncomingMessage } from 'node:http';
import { isIP, type NetConnectOpts, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { type Clock, PodStorageError, type TimerHandle, type WatchEvent } from '@podstorage/core';
import { Client, type Dispatcher } from 'undici';
import { type RawData, WebSocket } from 'ws';
import { EventChannel } from './event-channel.js';
import { errorFromResponse } from './responses.js';
import { parseWatchEvent } from './watch-events.js';

/** Options of {@link openWebSocketWatch}. */
export interface WebSocketWatchOptions {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly tls: {
    readonly ca?: string | undefined;
    readonly cert?: string | undefined;
    readonly key?: string | undefined;
    readonly rejectUnauthorized: boolean;
    readonly servername?: string | undefined;
  };
  readonly signal: AbortSignal;
  readonly operation: string;
  readonly namespace: string;
  readonly onActivity?: (() => void) | undefined;
  readonly maxEventBytes: number;
  /** Send a ping this often; a ping unanswered by the next one means the connection is dead. */
  readonly pingIntervalMs: number;
  readonly clock: Clock;
  /** Called when the TCP/TLS socket is created and once it has closed (for counting open sockets). */
  readonly onSocket: (change: 1 | -1) => void;
  /** Called once when the stream is finished with. */
  readonly onClose: () => void;
  /** An http(s) proxy to tunnel through (HTTP CONNECT). */
  readonly proxy?: URL | undefined;
}

/** Opens an HTTP CONNECT tunnel through `proxy` to the host and port of `target`. */
export async function openTunnel(
  proxy: URL,
  target: URL,
  signal: AbortSignal,
  operation: string,
): Promise<Duplex> {
  const client = new Client(proxy.origin);
  try {
    const headers: Record<string, string> = {};
    if (proxy.username || proxy.password) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const port = target.port || (target.protocol === 'wss:' ? '443' : '80');
    let tunnel: Dispatcher.ConnectData;
    try {
      tunnel = await client.connect({
        path: `${target.hostname}:${port}`,
        headers,
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new PodStorageError(
        `${operation}: the proxy ${proxy.host} could not be reached (${(error as Error).message})`,
        {
          cause: error,
          retryable: true,
        },
      );
    }
    if (tunnel.statusCode !== 200) {
      tunnel.socket.destroy();
      throw new PodStorageError(
        `${operation}: the proxy ${proxy.host} refused the tunnel (HTTP ${tunnel.statusCode})`,
        {
          retryable: true,
        },
      );
    }
    return tunnel.socket;
  } finally {
    // The tunnel's socket has been handed over; the client holds nothing else.
    void client.close().catch(() => {});
  }
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function readBody(response: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Opens a watch over WebSocket (the same URL as the chunked watch, upgraded) and resolves once the server
 * has accepted it. One event per message (text, or binary holding JSON). Liveness: a ping every
 * `pingIntervalMs`; when the previous ping got no pong by then, the connection is dead and the stream
 * throws (retryable), so the engine resumes. Every message and pong counts as activity. A close with 1000
 * ends the iteration; any other close throws. Aborting `signal` or `return()` terminates the socket.
 */
export async function openWebSocketWatch<T>(
  options: WebSocketWatchOptions,
): Promise<EventChannel<WatchEvent<T>>> {
  const { signal, operation, onActivity, clock } = options;
  signal.throwIfAborted();
  let tunnel: Duplex | undefined;
  if (options.proxy !== undefined) {
    tunnel = await openTunnel(options.proxy, options.url, signal, operation);
    options.onSocket(1);
    tunnel.once('close', () => options.onSocket(-1));
    if (signal.aborted) {
      tunnel.destroy();
      throw signal.reason;
    }
  }
  const through = tunnel;
  const socket = new WebSocket(options.url, {
    headers: options.headers,
    perMessageDeflate: false,
    followRedirects: false,
    maxPayload: options.maxEventBytes,
    rejectUnauthorized: options.tls.rejectUnauthorized,
    ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
    ...(options.tls.cert === undefined ? {} : { cert: options.tls.cert }),
    ...(options.tls.key === undefined ? {} : { key: options.tls.key }),
    ...(options.tls.servername === undefined ? {} : { servername: options.tls.servername }),
    // ws's own connectors, plus counting: a socket counts as open until it has really closed.
    createConnection: (connectOptions: ConnectionOptions & { socketPath?: string }) => {
      let connection: Duplex;
      if (options.url.protocol === 'wss:') {
        const tlsOptions: ConnectionOptions = {
          ...connectOptions,
          path: undefined,
          ...(through === undefined ? {} : { socket: through }),
        } as ConnectionOptions;
        if (!tlsOptions.servername && tlsOptions.servername !== '') {
          tlsOptions.servername = isIP(tlsOptions.host ?? '') ? '' : tlsOptions.host;
        }
        connection = tlsConnect(tlsOptions);
      } else if (through !== undefined) {
        // The tunnel is already counted.
        return through;
      } else {
        connection = netConnect({
          ...connectOptions,
          path: connectOptions.socketPath,
        } as unknown as NetConnectOpts);
      }
      options.onSocket(1);
      connection.once('close', () => options.onSocket(-1));
      return connection;
    },
  } as WebSocket.ClientOptions);
  // terminate() while connecting emits an error; what matters is reported through the promise or channel.
  socket.on('error', () => {});

  return new Promise((resolve, reject) => {
    let opened = false;
    const onAbortBeforeOpen = () => {
      socket.terminate();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbortBeforeOpen, { once: true });
    const settleBeforeOpen = () => signal.removeEventListener('abort', onAbortBeforeOpen);

    socket.once('unexpected-response', (request, response) => {
      settleBeforeOpen();
      void readBody(response).then((body) => {
        socket.terminate();
        request.destroy();
        reject(
          errorFromResponse(response.statusCode ?? 500, response.headers, body, {
            operation,
            namespace: options.namespace,
          }),
        );
      });
    });
    socket.once('error', (error) => {
      if (opened) return;
      settleBeforeOpen();
      socket.terminate();
      reject(
        signal.aborted
          ? signal.reason
          : new PodStorageError(`${operation}: WebSocket connection failed (${error.message})`, {
              cause: error,
              retryable: true,
            }),
      );
    });
    socket.once('open', () => {
      opened = true;
      settleBeforeOpen();
      resolve(streamOf<T>(socket, options));
    });
  });

  function streamOf<E>(socket: WebSocket, options: WebSocketWatchOptions): EventChannel<WatchEvent<E>> {
    let pingTimer: TimerHandle | undefined;
    let answered = true;
    const onAbort = () => channel.fail(signal.reason, { discard: true });
    const onMessage = (data: RawData) => {
      onActivity?.();
      try {
        channel.push(parseWatchEvent<E>(textOf(data), operation));
      } catch (error) {
        channel.fail(error);
      }
    };
    const onPong = () => {
      answered = true;
      onActivity?.();
    };
    const onClose = (code: number, reason: Buffer) => {
      if (code === 1000) {
        channel.end();
        return;
      }
      const why = reason.length > 0 ? `: ${reason.toString('utf8').slice(0, 200)}` : '';
      channel.fail(
        new PodStorageError(`${operation}: the WebSocket closed with code ${code}${why}`, {
          retryable: true,
        }),
      );
    };
    const onError = (error: Error) => {
      channel.fail(
        new PodStorageError(`${operation}: the WebSocket broke (${error.message})`, {
          cause: error,
          retryable: true,
        }),
      );
    };
    const ping = () => {
      pingTimer = undefined;
      if (!answered) {
        channel.fail(
          new PodStorageError(
            `${operation}: no pong within ${options.pingIntervalMs} ms; the connection is dead`,
            {
              retryable: true,
            },
          ),
        );
        return;
      }
      answered = false;
      try {
        socket.ping();
      } catch (error) {
        onError(error as Error);
        return;
      }
      pingTimer = clock.setTimeout(ping, options.pingIntervalMs);
    };
    const channel: EventChannel<WatchEvent<E>> = new EventChannel({
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      close: () => {
        if (pingTimer !== undefined) clock.clearTimeout(pingTimer);
        pingTimer = undefined;
        signal.removeEventListener('abort', onAbort);
        socket.off('message', onMessage);
        socket.off('pong', onPong);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
        options.onClose();
      },
    });
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.on('close', onClose);
    socket.on('error', onError);
    if (options.pingIntervalMs > 0) pingTimer = clock.setTimeout(ping, options.pingIntervalMs);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return channel;
  }
}
