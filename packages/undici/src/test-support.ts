// Helpers for this package's tests (not published).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ConformanceClock, type ConformanceFactory, runConformance } from '@podstorage/conformance';
import { type FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import type { Kubeconfig } from './kubeconfig.js';
import { createUndiciTransport } from './undici-transport.js';

/** Waits until `condition` holds, one real macrotask at a time (never sleeping); fails after `limit` turns. */
export async function waitFor(condition: () => boolean, what: string, limit = 20_000): Promise<void> {
  for (let turn = 0; turn < limit; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** How the transport reaches the fake server in one conformance run. */
export interface WireMode {
  readonly tls?: boolean;
  readonly token?: string;
  readonly watch: 'http' | 'websocket';
  /** The clock the suite runs on (default: the fake clock). */
  readonly clock?: ConformanceClock;
}

/**
 * The conformance factory for this transport: each test's cluster served by the fake API server over real
 * sockets, and an undici transport talking to it. Closing checks that the transport let go of every socket.
 */
export function wireFactory(mode: WireMode): ConformanceFactory {
  return async (cluster: FakeCluster) => {
    const server = await serveFakeCluster(cluster, {
      ...(mode.tls ? { tls: true } : {}),
      ...(mode.token === undefined ? {} : { token: mode.token }),
    });
    const transport = createUndiciTransport({ kubeconfig: server.kubeconfig, watch: mode.watch });
    return {
      transport,
      openHandles: () => transport.openHandles(),
      close: async () => {
        await transport.close();
        // The transport, not the server, must have let go of every socket: checked on both sides.
        await waitFor(() => transport.stats().webSockets === 0, 'every WebSocket socket to close');
        await waitFor(() => server.openConnections() === 0, 'the transport to close every connection');
        await server.close();
      },
    };
  };
}

/** Runs the full conformance suite against the fake API server over real sockets. */
export function runWireConformance(name: string, mode: WireMode): void {
  runConformance({ describe, it, expect }, wireFactory(mode), {
    name,
    patience: { realMs: 5_000, turnsPerStep: 10 },
    // Only there to end a hang: every wait inside carries its own bound and message, which must come
    // first; on the system clock a loaded machine runs several scenarios at once, slowly.
    testTimeoutMs: mode.clock === 'system' ? 120_000 : 30_000,
    // Most of a system-clock test is waiting on real time: several at once keep the run short.
    ...(mode.clock === 'system' ? { clock: mode.clock, concurrent: true } : {}),
  });
}

/** A temporary directory with helpers to write files into it; `remove()` deletes it. */
export function temporaryDirectory(): {
  readonly path: string;
  write(name: string, content: string, mode?: number): string;
  remove(): void;
} {
  const path = mkdtempSync(join(tmpdir(), 'podstorage-undici-'));
  return {
    path,
    write(name, content, mode) {
      const file = join(path, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, mode === undefined ? undefined : { mode });
      return file;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/**
 * A real exec credential plugin: a node script run through execFile (`node plugin.mjs MODE`). What it
 * does is chosen by its first argument; it records every run (args, env, KUBERNETES_EXEC_INFO) as a JSON
 * line in `runs.jsonl` (with its pid), and prints a secret on stderr when it fails (which must never surface).
 */
export const EXEC_PLUGIN_SOURCE = `
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
const here = dirname(fileURLToPath(import.meta.url));
const [mode, ...rest] = process.argv.slice(2);
appendFileSync(join(here, 'runs.jsonl'), JSON.stringify({ mode, pid: process.pid, args: rest, env: process.env.PLUGIN_ENV, info: process.env.KUBERNETES_EXEC_INFO }) + '\\n');
const apiVersion = process.env.PLUGIN_API_VERSION ?? 'client.authentication.k8s.io/v1';
const print = (status) => process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion, status }));
const later = new Date(Date.now() + 3600_000).toISOString();
switch (mode) {
  case 'token': print({ token: process.env.PLUGIN_TOKEN ?? 'exec-secret-token', expirationTimestamp: process.env.PLUGIN_EXPIRY ?? later }); break;
  case 'token-from-file': print({ token: readFileSync(join(here, 'plugin-token'), 'utf8').trim() }); break;
  case 'cert-from-files': print({ clientCertificateData: readFileSync(join(here, 'client.crt'), 'utf8'), clientKeyData: readFileSync(join(here, 'client.key'), 'utf8') }); break;
  case 'fail': process.stderr.write('error: exec-secret-on-stderr\\n'); process.exit(3); break;
  case 'hang': setInterval(() => {}, 1000); break;
  // Answers once the test creates the file 'release': a run that stays under way for as long as a test
  // needs. Gives up after a minute, so that a failed test leaves no process behind.
  case 'token-when-released': { const poll = setInterval(() => { if (existsSync(join(here, 'release'))) { clearInterval(poll); print({ token: 'exec-secret-released' }); } }, 10); setTimeout(() => process.exit(8), 60_000).unref(); break; }
  case 'bad-json': process.stdout.write('exec-secret-in-bad-output {'); break;
  case 'expired': print({ token: 'exec-secret-expired', expirationTimestamp: '2001-01-01T00:00:00Z' }); break;
  case 'no-credentials': print({}); break;
  case 'wrong-kind': process.stdout.write(JSON.stringify({ kind: 'Secret', apiVersion, status: { token: 'exec-secret-x' } })); break;
  default: process.exit(9);
}
`;

/** A kubeconfig for `server` whose one user authenticates with the exec plugin `command args`. */
export function execKubeconfig(
  server: FakeClusterServer,
  exec: { readonly command: string; readonly args: readonly string[] },
): Kubeconfig {
  return {
    clusters: [
      {
        name: 'fake',
        cluster: {
          server: server.url,
          ...(server.ca === undefined
            ? {}
            : { 'certificate-authority-data': Buffer.from(server.ca).toString('base64') }),
        },
      },
    ],
    users: [
      {
        name: 'exec-user',
        user: {
          exec: {
            command: exec.command,
            args: [...exec.args],
            apiVersion: 'client.authentication.k8s.io/v1',
            interactiveMode: 'Never',
          },
        },
      },
    ],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'exec-user' } }],
    'current-context': 'fake',
  };
}

/** A plain HTTP server whose answers a test writes by hand, for what the fake server never sends. */
export async function scriptedServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{
  url: string;
  kubeconfig: Kubeconfig;
  requests: string[];
  server: Server;
  close(): Promise<void>;
}> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    handler(request, response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    server,
    kubeconfig: {
      clusters: [{ name: 's', cluster: { server: url } }],
      contexts: [{ name: 's', context: { cluster: 's' } }],
      'current-context': 's',
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
