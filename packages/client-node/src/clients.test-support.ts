// Helpers for this package's tests (not published).
import * as clientNode2 from '@kubernetes/client-node';
import * as clientNode1 from '@kubernetes/client-node-1';
import { type ConformanceClock, type ConformanceFactory, runConformance } from '@podstorage/conformance';
import { type FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import type { ClientNodeModule, KubeConfigLike } from './client-library.js';
import { type ClientNodeTransport, createClientNodeTransport } from './client-node-transport.js';

/** A supported major of @kubernetes/client-node, as the tests load it. */
export interface ClientMajor {
  readonly name: string;
  readonly client: Omit<ClientNodeModule, 'KubeConfig'> & {
    KubeConfig: new () => KubeConfigLike & {
      loadFromString(text: string): void;
      loadFromCluster(): void;
      setCurrentContext(name: string): void;
    };
  };
}

/** Every major the peer range declares, each tested. */
export const MAJORS: readonly ClientMajor[] = [
  { name: '@kubernetes/client-node 2.0.1', client: clientNode2 as unknown as ClientMajor['client'] },
  { name: '@kubernetes/client-node 1.3.0', client: clientNode1 as unknown as ClientMajor['client'] },
];

/** A KubeConfig of `major` for the server. */
export function kubeConfigFor(
  major: ClientMajor,
  server: FakeClusterServer,
): InstanceType<ClientMajor['client']['KubeConfig']> {
  const kubeConfig = new major.client.KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig);
  return kubeConfig;
}

/** The cluster served over HTTP(S), and a transport of `major` talking to it. */
export async function connect(
  cluster: FakeCluster,
  major: ClientMajor,
  tls: boolean,
): Promise<{ server: FakeClusterServer; transport: ClientNodeTransport }> {
  const server = await serveFakeCluster(cluster, { tls });
  const transport = createClientNodeTransport({
    kubeConfig: kubeConfigFor(major, server),
    client: major.client,
  });
  return { server, transport };
}

/**
 * Waits until `condition` holds, yielding one real macrotask at a time (no timers, no sleeping); fails
 * after `limit` turns with a message naming what it waited for.
 */
export async function waitFor(condition: () => boolean, what: string, limit = 50_000): Promise<void> {
  for (let turn = 0; turn < limit; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The conformance factory for `major`: each test's cluster served over HTTP(S), and a transport of that
 * major talking to it; no socket may stay open on the server once the storage is closed.
 */
export function clientNodeFactory(major: ClientMajor, tls: boolean): ConformanceFactory {
  return async (cluster) => {
    const { server, transport } = await connect(cluster, major, tls);
    return {
      transport,
      // What the transport says it holds, and what the server sees: both must come back to 0.
      openHandles: () => transport.openHandles() + server.openConnections(),
      close: async () => {
        await transport[Symbol.asyncDispose]();
        await server.close();
      },
    };
  };
}

/**
 * Registers the full conformance suite for `major`, each test against its own fake API server; after
 * every test no socket may be left open. On the fake clock (default) over HTTP and over HTTPS (with the
 * fake's CA in the kubeconfig); on the system clock over HTTP only, which is where real timers and real
 * sockets race (TLS adds handshake time, not another timer path).
 */
export function runClientNodeConformance(major: ClientMajor, clock: ConformanceClock = 'fake'): void {
  for (const tls of clock === 'system' ? [false] : [false, true]) {
    runConformance({ describe, it, expect }, clientNodeFactory(major, tls), {
      name: `PodStorage conformance: ${major.name} over ${tls ? 'HTTPS' : 'HTTP'}${clock === 'system' ? ', system clock' : ''}`,
      // Sockets need real event-loop turns between steps of the fake clock.
      patience: { realMs: 5_000, turnsPerStep: 20 },
      // Only there to end a hang: every wait inside carries its own bound and message, which must come
      // first; on the system clock a loaded machine runs several scenarios at once, slowly.
      testTimeoutMs: clock === 'system' ? 120_000 : 30_000,
      clock,
      // Most of a system-clock test is waiting on real time: several at once keep the run short.
      concurrent: clock === 'system',
    });
  }
}
