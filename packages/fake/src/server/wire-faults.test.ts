import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import { recordingLogger } from '../test-support.js';
import type { FakeClusterServer } from './serve.js';
import {
  openHttpWatch,
  openWebSocketWatch,
  podManifest,
  send,
  startServer,
  waitFor,
} from './server-test-support.js';

let cluster: FakeCluster;
let server: FakeClusterServer;

/** A full request round trip on another connection: everything the server had to do before it is done. */
async function roundTrip(): Promise<void> {
  expect((await send(server.url, 'GET', '/version')).status).toBe(200);
}

describe('stream faults reach the wire', () => {
  it('reset: the chunked response dies mid-stream without its closing chunk', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    cluster.createPod(podManifest('a'));
    await waitFor(() => watch.events.length === 1, 'the first event');
    expect(cluster.faults.resetWatches()).toBe(1);
    await waitFor(() => watch.end !== 'open', 'the connection to die');
    expect(watch.end).toBe('abrupt');
  });

  it('reset: the WebSocket is dropped without a close frame (1006)', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    cluster.createPod(podManifest('a'));
    await waitFor(() => watch.events.length === 1, 'the first event');
    cluster.faults.resetWatches();
    await waitFor(() => watch.closeCode !== undefined, 'the socket to die');
    expect(watch.closeCode).toBe(1006);
  });

  it('stall: the connection stays open and nothing more is sent, until the client gives up', async () => {
    ({ cluster, server } = await startServer({ bookmarkIntervalMs: 1_000 }));
    const watch = await openHttpWatch(
      server.url,
      '/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true',
    );
    const socketWatch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    expect(cluster.faults.stallWatches()).toBe(2);
    cluster.createPod(podManifest('a'));
    await cluster.clock.advance(5_000);
    await roundTrip();
    expect(watch.chunks).toEqual([]);
    expect(socketWatch.events).toEqual([]);
    expect(watch.end).toBe('open');
    expect(socketWatch.closeCode).toBeUndefined();
    expect(cluster.stats().activeWatches).toBe(2);
    watch.close();
    socketWatch.close();
    await waitFor(() => cluster.stats().activeWatches === 0, 'the server to drop the stalled watches');
  });

  it('stallNextWatch: the response headers never come, and the client can still abort', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.stallNextWatch();
    let headers = false;
    const request = httpRequest(
      new URL('/api/v1/namespaces/default/pods?watch=true', server.url),
      { agent: false },
      () => {
        headers = true;
      },
    );
    request.on('error', () => {});
    request.end();
    await waitFor(() => cluster.stats().requests.watch === 1, 'the watch request to arrive');
    await roundTrip();
    expect(headers).toBe(false);
    request.destroy();
    await waitFor(() => server.openConnections() === 0, 'the connection to close');
    // The next watch is served normally.
    const watch = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    expect(watch.status).toBe(200);
    watch.close();
  });

  it('stallNextWatch over WebSocket: a client that hangs up while the upgrade is held is noticed', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.stallNextWatch();
    const { hostname, port } = new URL(server.url);
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('error', () => {});
    socket.write(
      'GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\n' +
        `Host: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await waitFor(() => cluster.stats().requests.watch === 1, 'the upgrade request to arrive');
    await roundTrip();
    socket.end();
    await waitFor(() => server.openConnections() === 0, 'the server to notice the hang-up');
    // The next WebSocket watch is served normally.
    const watch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    cluster.createPod(podManifest('a'));
    await waitFor(() => watch.events.length === 1, 'an event on the next watch');
    watch.close();
  });

  it('cut after N events: exactly N events, then a clean end', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    const socketWatch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    cluster.faults.cutWatchesAfter(2);
    for (const name of ['a', 'b', 'c']) cluster.createPod(podManifest(name));
    await waitFor(() => watch.end !== 'open' && socketWatch.closeCode !== undefined, 'both streams to end');
    expect(watch.summary()).toEqual(['ADDED:a', 'ADDED:b']);
    expect(watch.end).toBe('clean');
    expect(socketWatch.summary()).toEqual(['ADDED:a', 'ADDED:b']);
    expect(socketWatch.closeCode).toBe(1000);
  });

  it('end: open watches end cleanly, as at the server timeout', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    expect(cluster.faults.endWatches()).toBe(1);
    await waitFor(() => watch.end !== 'open', 'the end');
    expect(watch.end).toBe('clean');
  });

  it('compact: a watch resumed from before the compaction gets ERROR 410 Expired', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    const seen = cluster.resourceVersion();
    cluster.createPod(podManifest('b'));
    cluster.faults.compact();
    const watch = await openHttpWatch(
      server.url,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${seen}`,
    );
    expect(watch.status).toBe(200);
    await waitFor(() => watch.end !== 'open', 'the end');
    expect(watch.summary()).toEqual(['ERROR:410']);
    expect(watch.end).toBe('clean');
  });
});

describe('request faults reach the wire', () => {
  it('429 TooManyRequests carries a Retry-After header and details.retryAfterSeconds, for the next N requests only', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.failNext(2, {
      code: 429,
      reason: 'TooManyRequests',
      message: 'slow down',
      retryAfterSeconds: 3,
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await send(server.url, 'GET', '/api/v1/namespaces/default/pods');
      expect(response.status).toBe(429);
      expect(response.headers['retry-after']).toBe('3');
      expect(response.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'slow down',
        reason: 'TooManyRequests',
        details: { retryAfterSeconds: 3 },
        code: 429,
      });
    }
    expect((await send(server.url, 'GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
  });

  it('500 and 503 by verb and resource; a failed create changes nothing', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.failNext(1, { code: 503, reason: 'ServiceUnavailable' }, { verbs: ['watch'] });
    cluster.faults.failNext(
      1,
      { code: 500, reason: 'InternalError' },
      { resource: 'pods', verbs: ['create'] },
    );
    const watch = await send(server.url, 'GET', '/api/v1/namespaces/default/pods?watch=true');
    expect(watch.status).toBe(503);
    expect(watch.json()).toMatchObject({ reason: 'ServiceUnavailable', code: 503 });
    const version = cluster.resourceVersion();
    const create = await send(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      body: JSON.stringify(podManifest('a')),
    });
    expect(create.status).toBe(500);
    expect(cluster.resourceVersion()).toBe(version);
    expect(cluster.getPod('default', 'a')).toBeUndefined();
  });

  it('a failed WebSocket watch is refused with the Status before the upgrade', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.failNext(1, { code: 429, retryAfterSeconds: 1 });
    await expect(
      openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true'),
    ).rejects.toThrow('HTTP 429');
  });

  it('latency: the answer comes only after that much cluster-clock time', async () => {
    ({ cluster, server } = await startServer());
    cluster.faults.latency(2_000, { verbs: ['get'] });
    cluster.createPod(podManifest('a'));
    let answered = false;
    const response = send(server.url, 'GET', '/api/v1/namespaces/default/pods/a').then((result) => {
      answered = true;
      return result;
    });
    await waitFor(() => cluster.stats().requests.get === 1, 'the request to arrive');
    await cluster.clock.advance(1_999);
    await roundTrip();
    expect(answered).toBe(false);
    await cluster.clock.advance(1);
    expect((await response).status).toBe(200);
  });

  it('latency: a client that hangs up while its answer is delayed is not logged as a server error', async () => {
    const logger = recordingLogger();
    const logged = logger.lines;
    ({ cluster, server } = await startServer({}, { logger }));
    cluster.faults.latency(2_000, { verbs: ['get'] });
    cluster.createPod(podManifest('a'));
    const request = httpRequest(new URL('/api/v1/namespaces/default/pods/a', server.url), { agent: false });
    request.on('error', () => {});
    request.end();
    await waitFor(() => cluster.stats().requests.get === 1, 'the request to arrive');
    expect(cluster.clock.pendingTimers()).toBe(1);
    request.destroy();
    // The abort reached the fault layer when its latency timer is gone.
    await waitFor(() => cluster.clock.pendingTimers() === 0, 'the latency to be cancelled');
    await waitFor(() => server.openConnections() === 0, 'the connection to close');
    await roundTrip();
    expect(logged.filter((entry) => entry.level === 'error' || entry.level === 'warn')).toEqual([]);
    expect(logged.map((entry) => entry.message)).toContain(
      'fake cluster: the client closed the request before the answer',
    );
  });
});

describe('the hot-loop watchdog reaches the wire', () => {
  it('answers HTTP requests, chunked watches and WebSocket watches over the limit with 429 and Retry-After', async () => {
    const logger = recordingLogger();
    ({ cluster, server } = await startServer({ watchdog: { maxRequests: 3, perMs: 1_000 }, logger }));
    for (let index = 0; index < 3; index++) {
      expect((await send(server.url, 'GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
    }
    const refused = await send(server.url, 'GET', '/api/v1/namespaces/default/pods');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        "Too many requests: the fake cluster's watchdog saw more than 3 requests within 1000 ms; please back off",
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
      code: 429,
    });
    const watch = await send(server.url, 'GET', '/api/v1/namespaces/default/pods?watch=true');
    expect([watch.status, watch.headers['retry-after'], watch.json().reason]).toEqual([
      429,
      '1',
      'TooManyRequests',
    ]);
    await expect(
      openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true'),
    ).rejects.toThrow('HTTP 429');
    expect(cluster.watchdog.violations()).toMatchObject([{ requests: 4, verbs: { list: 4 }, rejected: 3 }]);
    expect(() => cluster.assertNoHotLoop()).toThrow(/4 requests \(list 4\)/);

    // Past as many 429s as the limit, a request is held until its client hangs up, which logs no error.
    const held = httpRequest(new URL('/api/v1/namespaces/default/pods', server.url), { agent: false });
    let answered = false;
    held.on('response', () => {
      answered = true;
    });
    held.on('error', () => {});
    held.end();
    await waitFor(() => cluster.watchdog.violations()[0]?.held === 1, 'the request to be held');
    await roundTrip();
    expect(answered).toBe(false);
    held.destroy();
    await waitFor(() => server.openConnections() === 0, 'the held connection to close');
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);

    // Once the window has passed on the cluster clock, requests are served again.
    await cluster.clock.advance(1_000);
    expect((await send(server.url, 'GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
    expect(cluster.watchdog.tripped).toBe(false);
  });
});
