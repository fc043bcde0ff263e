import type { WatchEvent } from '@podstorage/core';
import type { WebSocket } from 'ws';
import { isConnectionReset } from './watch-stream.js';

/**
 * The subprotocols the apiserver offers for watches over WebSocket. Without one, each event is a JSON
 * text message; `binary.k8s.io` sends binary messages and `base64.binary.k8s.io` base64 text messages.
 */
export const WATCH_SUBPROTOCOLS = ['base64.binary.k8s.io', 'binary.k8s.io'] as const;

/** Picks the subprotocol for a watch from what the client offers; `false` for none (plain JSON text). */
export function chooseWatchSubprotocol(offered: Set<string>): string | false {
  for (const protocol of WATCH_SUBPROTOCOLS) if (offered.has(protocol)) return protocol;
  return false;
}

/**
 * Serves an open watch over a WebSocket: one event per message. A clean end closes with 1000; an
 * injected reset terminates the socket without a close frame; a stall sends nothing (pings are still
 * answered by `ws`, as a real server's transport would).
 */
export async function serveWatchOverWebSocket(
  socket: WebSocket,
  stream: AsyncIterable<WatchEvent<unknown>>,
  signal: AbortSignal,
): Promise<void> {
  const protocol = socket.protocol;
  try {
    for await (const event of stream) {
      if (socket.readyState !== socket.OPEN) break;
      const text = JSON.stringify(event);
      if (protocol === 'binary.k8s.io') socket.send(Buffer.from(text), { binary: true });
      else if (protocol === 'base64.binary.k8s.io') socket.send(Buffer.from(text).toString('base64'));
      else socket.send(text);
    }
    if (socket.readyState === socket.OPEN) socket.close(1000);
  } catch (error) {
    if (isConnectionReset(error)) socket.terminate();
    else if (!signal.aborted) socket.close(1011, 'internal error');
  }
}
