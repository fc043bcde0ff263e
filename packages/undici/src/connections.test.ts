import { request as httpRequest } from 'node:http';
import { constants, createSecureServer, type IncomingHttpHeaders } from 'node:http2';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import { createPodStorage, type PodPhase } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterEach, describe, expect, it } from 'vitest';
import type { Kubeconfig } from './kubeconfig.js';
import { TEST_CA, TEST_SERVER } from './test-certificates.js';
import { waitFor } from './test-support.js';
import { createUndiciTransport, type UndiciTransport } from './undici-transport.js';

// Issue 11: 10,000 waits opened ~10,000 sockets (an undici Agent without a connection limit, each
// wait's GET on a connection of its own). Requests now have a bounded pool, watches their own (over
// HTTP/1.1 a watch holds its connection for its whole life: it must never take a request's place),
// and over TLS everything is offered HTTP/2 and multiplexed, as client-go does.

const b64 = (text: string) => Buffer.from(text).toString('base64');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP relay in front of `target` that counts every connection a client opens through it. */
async function countingRelay(target: URL) {
  const sockets = new Set<Socket>();
  const relay = { accepted: 0, open: 0, peak: 0 };
  const server = createNetServer((client) => {
    relay.accepted += 1;
    relay.open += 1;
    relay.peak = Math.max(relay.peak, relay.open);
    const upstream = netConnect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.once('close', () => {
      relay.open -= 1;
      sockets.delete(client);
    });
    upstream.once('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { relay, url: `http://127.0.0.1:${port}` };
}

async function fakeServer(): Promise<{ cluster: FakeCluster; server: FakeClusterServer }> {
  const cluster = new FakeCluster({ mode: 'manual' });
  const server = await serveFakeCluster(cluster);
  cleanups.push(() => server.close());
  return { cluster, server };
}

function transportFor(
  kubeconfig: string | Kubeconfig,
  options: { maxConnections?: number } = {},
): UndiciTransport {
  const transport = createUndiciTransport({ kubeconfig, ...options });
  cleanups.push(() => transport.close());
  return transport;
}

const manifest = (name: string) => ({
  metadata: { name },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
});

describe('over plain HTTP', () => {
  it('400 concurrent waits use a handful of connections, not one each', async () => {
    const { cluster, server } = await fakeServer();
    const { relay, url } = await countingRelay(new URL(server.url));
    const transport = transportFor(server.kubeconfig.replace(server.url, url));
    const storage = createPodStorage(transport, { clock: cluster.clock });
    cleanups.push(() => storage.close());
    const names = Array.from({ length: 400 }, (_, index) => `pod-${index}`);
    for (const name of names) cluster.createPod(manifest(name));
    // A watch of the namespace already running: every wait below is a late joiner that must read its pod.
    const changes = storage.watchPodChanges('default');
    void changes.next().catch(() => {});
    await waitFor(() => cluster.stats().activeWatches === 1, 'the namespace watch');
    const waits: Promise<PodPhase | null>[] = names.map((name) =>
      storage.waitForPhase(name, 'default', 120_000, { untilNot: ['Pending'] }),
    );
    await waitFor(
      () => cluster.stats().activeWatches >= 1 && transport.stats().requests <= 1,
      'the reads to end',
    );
    for (const name of names) cluster.setPodPhase('default', name, 'Running');
    expect(new Set(await Promise.all(waits))).toEqual(new Set(['Running']));
    // Before: ~400 connections (a GET each, all at once). Now: the namespace watch, and the requests'
    // pool (default 2) of which the shared read of 400 pods needs one: 3 at most, the scale goal.
    expect(relay.accepted).toBeLessThanOrEqual(3);
    expect(transport.stats().connections).toBeLessThanOrEqual(3);
    await changes.return?.();
  });

  it('by default requests share 2 connections: 20 gets at once open no more', async () => {
    const { cluster, server } = await fakeServer();
    const { relay, url } = await countingRelay(new URL(server.url));
    const transport = transportFor(server.kubeconfig.replace(server.url, url));
    const names = Array.from({ length: 20 }, (_, index) => `get-${index}`);
    for (const name of names) cluster.createPod(manifest(name));
    const reads = await Promise.all(
      names.map((name) => transport.get('pods', 'default', name, { signal: AbortSignal.timeout(30_000) })),
    );
    expect(reads.map((pod) => pod.metadata?.name)).toEqual(names);
    // With a namespace watch beside them, 3 connections in all (the scale issue's goal).
    expect(relay.accepted).toBe(2);
  });

  it('watches have their own connections: with a pool of one, five open watches do not block a request', async () => {
    const { cluster, server } = await fakeServer();
    const { relay, url } = await countingRelay(new URL(server.url));
    const transport = transportFor(server.kubeconfig.replace(server.url, url), { maxConnections: 1 });
    // A high threshold: each wait watches its own pod, one long-lived stream each.
    const storage = createPodStorage(transport, { clock: cluster.clock, sharedWatchThreshold: 100 });
    cleanups.push(() => storage.close());
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) cluster.createPod(manifest(name));
    const waits = names.map((name) =>
      storage.waitForPhase(name, 'default', 120_000, { untilNot: ['Pending'] }),
    );
    await waitFor(() => cluster.stats().activeWatches === 5, 'five watches');
    cluster.createPod(manifest('other'));
    const read = await transport.get('pods', 'default', 'other', { signal: AbortSignal.timeout(30_000) });
    expect(read.metadata?.name).toBe('other');
    // Five watches, and one connection for every request (lists and the get).
    expect(relay.accepted).toBe(6);
    for (const name of names) cluster.setPodPhase('default', name, 'Succeeded');
    expect(await Promise.all(waits)).toEqual(names.map(() => 'Succeeded'));
  });

  it('refuses a connection limit that is not a positive integer, naming it', () => {
    for (const maxConnections of [0, -1, 1.5, Number.NaN]) {
      expect(() =>
        createUndiciTransport({ kubeconfig: kubeconfigFor('http://127.0.0.1:1'), maxConnections }),
      ).toThrow(/maxConnections must be a positive integer/);
    }
  });
});

function kubeconfigFor(server: string, cluster: Record<string, unknown> = {}): Kubeconfig {
  return {
    clusters: [{ name: 'c', cluster: { server, ...cluster } }],
    users: [{ name: 'u', user: {} }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
    'current-context': 'c',
  } as Kubeconfig;
}

/**
 * An HTTP/2-only TLS front for the fake API server (which speaks HTTP/1.1): each stream is relayed as
 * one request to it, responses (watches included) streamed back. Counts sessions (connections) and
 * streams, as an API server would see them.
 */
async function http2Front(target: URL) {
  const seen = { sessions: 0, streams: 0, openStreams: 0, peakStreams: 0 };
  const server = createSecureServer({ key: TEST_SERVER.key, cert: TEST_SERVER.cert, allowHTTP1: false });
  server.on('session', () => {
    seen.sessions += 1;
  });
  server.on('stream', (stream, headers: IncomingHttpHeaders) => {
    seen.streams += 1;
    seen.openStreams += 1;
    seen.peakStreams = Math.max(seen.peakStreams, seen.openStreams);
    stream.once('close', () => {
      seen.openStreams -= 1;
    });
    const forwarded: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') && typeof value === 'string') forwarded[name] = value;
    }
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: String(headers[constants.HTTP2_HEADER_METHOD]),
        path: String(headers[constants.HTTP2_HEADER_PATH]),
        headers: forwarded,
      },
      (response) => {
        if (stream.destroyed) return;
        const contentType = response.headers['content-type'];
        stream.respond({
          ':status': response.statusCode ?? 502,
          ...(contentType ? { 'content-type': contentType } : {}),
        });
        response.pipe(stream);
      },
    );
    upstream.on('error', () => stream.destroy());
    stream.on('close', () => upstream.destroy());
    stream.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  return { seen, url, server };
}

describe('over TLS', () => {
  it('multiplexes 300 waits, their watch and their reads on one HTTP/2 connection', async () => {
    const { cluster, server } = await fakeServer();
    const front = await http2Front(new URL(server.url));
    const transport = transportFor(
      kubeconfigFor(front.url, {
        'certificate-authority-data': b64(TEST_CA),
        'tls-server-name': 'kubernetes.internal',
      }),
    );
    const storage = createPodStorage(transport, { clock: cluster.clock });
    cleanups.push(() => storage.close());
    const names = Array.from({ length: 300 }, (_, index) => `pod-${index}`);
    for (const name of names) cluster.createPod(manifest(name));
    const changes = storage.watchPodChanges('default');
    void changes.next().catch(() => {});
    await waitFor(() => cluster.stats().activeWatches === 1, 'the namespace watch');
    // With sharing off, ten field-selected watches: ten long-lived streams on the same connection.
    const selected = createPodStorage(transport, { clock: cluster.clock, sharedWatchThreshold: 1_000 });
    cleanups.push(() => selected.close());
    const single = names
      .slice(0, 10)
      .map((name) => selected.waitForPhase(name, 'default', 120_000, { untilNot: ['Pending'] }));
    const waits = names.map((name) =>
      storage.waitForPhase(name, 'default', 120_000, { untilNot: ['Pending'] }),
    );
    await waitFor(() => cluster.stats().activeWatches === 11, 'eleven watches');
    for (const name of names) cluster.setPodPhase('default', name, 'Running');
    expect(new Set(await Promise.all([...waits, ...single]))).toEqual(new Set(['Running']));
    expect(front.seen.sessions).toBe(1);
    expect(front.seen.peakStreams).toBeGreaterThanOrEqual(11);
    expect(transport.stats().connections).toBe(1);
    await changes.return?.();
  });

  it("against the fake's HTTP/2 server: 200 waits and their watch share one connection", async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { tls: true });
    cleanups.push(() => server.close());
    const transport = transportFor(server.kubeconfig);
    const storage = createPodStorage(transport, { clock: cluster.clock });
    cleanups.push(() => storage.close());
    const names = Array.from({ length: 200 }, (_, index) => `pod-${index}`);
    for (const name of names) cluster.createPod(manifest(name));
    const waits = names.map((name) =>
      storage.waitForPhase(name, 'default', 120_000, { untilNot: ['Pending'] }),
    );
    // Started together, all 200 share the namespace watch: one watch, no watch of a single pod.
    await waitFor(() => cluster.stats().activeWatches === 1, 'the namespace watch');
    for (const name of names) cluster.setPodPhase('default', name, 'Running');
    expect(new Set(await Promise.all(waits))).toEqual(new Set(['Running']));
    expect(transport.stats().connections).toBe(1);
    expect(server.openConnections()).toBe(1);
  });

  it('a watch aborted right after it was sent is closed on the server too (HTTP/2)', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { tls: true });
    cleanups.push(() => server.close());
    const transport = transportFor(server.kubeconfig);
    // One request first, so the HTTP/2 connection is up and the watches below are streams of it.
    await transport.list('pods', 'default', { signal: AbortSignal.timeout(30_000) });
    // Aborted after 0 to 59 microtasks, then after a turn or two: some land right after undici
    // dispatched the request, before its stream is open.
    for (let attempt = 0; attempt < 64; attempt += 1) {
      const controller = new AbortController();
      const watching = transport.watch('pods', 'default', { signal: controller.signal });
      if (attempt < 60) for (let tick = 0; tick < attempt; tick += 1) await Promise.resolve();
      else
        for (let turn = 0; turn < attempt - 59; turn += 1)
          await new Promise((resolve) => setImmediate(resolve));
      controller.abort(new Error('no longer needed'));
      // Rejected when aborted before the headers; an open stream, closed by the same signal, after them.
      await watching.catch((error: unknown) => expect(String(error)).toContain('no longer needed'));
    }
    // undici alone never resets such a stream: the server would hold 20 watches until their timeout.
    await waitFor(() => cluster.stats().activeWatches === 0, 'the server to see every watch closed');
    expect(transport.stats().requests).toBe(0);
  });
});
