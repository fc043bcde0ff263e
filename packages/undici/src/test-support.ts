// Helpers for this package's tests (not published).
import { runConformance } from '@podstorage/conformance';
import { type FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { createUndiciTransport, type UndiciTransport } from './undici-transport.js';

/** Waits until `condition` holds, one real macrotask at a time (never sleeping); fails after `limit` turns. */
export async function waitFor(condition: () => boolean, what: string, limit = 20_000): Promise<void> {
  for (let turn = 0; turn < limit; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Everything the transport holds: 0 once every request and stream is finished (idle keep-alives aside). */
export function openHandles(transport: UndiciTransport): number {
  const stats = transport.stats();
  return stats.requests + stats.watches + stats.webSockets + stats.busyConnections;
}

/** How the transport reaches the fake server in one conformance run. */
export interface WireMode {
  readonly tls?: boolean;
  readonly token?: string;
  readonly watch: 'http' | 'websocket';
}

/** Runs the full conformance suite against the fake API server over real sockets. */
export function runWireConformance(name: string, mode: WireMode): void {
  runConformance(
    { describe, it, expect },
    async (cluster: FakeCluster) => {
      const server = await serveFakeCluster(cluster, {
        ...(mode.tls ? { tls: true } : {}),
        ...(mode.token === undefined ? {} : { token: mode.token }),
      });
      const transport = createUndiciTransport({ kubeconfig: server.kubeconfig, watch: mode.watch });
      return {
        transport,
        openHandles: () => openHandles(transport),
        close: async () => {
          await transport.close();
          // The transport, not the server, must have let go of every socket. WebSocket sockets are counted
          // on the client side: the fake server does not notice a client leaving a stalled upgrade.
          await waitFor(() => transport.stats().webSockets === 0, 'every WebSocket socket to close');
          if (mode.watch === 'http') {
            await waitFor(() => server.openConnections() === 0, 'the transport to close every connection');
          }
          await server.close();
        },
      };
    },
    { name, patience: { realMs: 5_000, turnsPerStep: 10 }, testTimeoutMs: 30_000 },
  );
}
