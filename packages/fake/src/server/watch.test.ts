import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import type { FakeClusterServer } from './serve.js';
import {
  type HttpWatch,
  openHttpWatch,
  openWebSocketWatch,
  podManifest,
  send,
  startServer,
  type WebSocketWatch,
  waitFor,
} from './server-test-support.js';

let cluster: FakeCluster;
let server: FakeClusterServer;

interface AnyWatch {
  summary(): string[];
  readonly events: { type: string; object: Record<string, unknown> }[];
  ended(): boolean;
  close(): void;
}

const transports: Record<string, (path: string) => Promise<AnyWatch>> = {
  'chunked HTTP': async (path) => {
    const watch: HttpWatch = await openHttpWatch(server.url, path);
    return Object.assign(watch, { ended: () => watch.end !== 'open' });
  },
  WebSocket: async (path) => {
    const watch: WebSocketWatch = await openWebSocketWatch(server.url, path);
    return Object.assign(watch, { ended: () => watch.closeCode !== undefined });
  },
};

describe.each(Object.keys(transports))('watch over %s', (transport) => {
  const open = (path: string) => (transports[transport] as (path: string) => Promise<AnyWatch>)(path);

  it('without resourceVersion sends the current state as ADDED, then every change', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    const watch = await open('/api/v1/namespaces/default/pods?watch=true');
    await waitFor(() => watch.events.length === 1, 'the initial ADDED');
    cluster.createPod(podManifest('b'));
    cluster.setPodPhase('default', 'b', 'Running');
    cluster.deletePod('default', 'a');
    await waitFor(() => watch.events.length === 4, 'four events');
    expect(watch.summary()).toEqual(['ADDED:a', 'ADDED:b', 'MODIFIED:b', 'DELETED:a']);
    watch.close();
    await waitFor(() => cluster.stats().activeWatches === 0, 'the watch to close on the server');
  });

  it('from a resourceVersion sends every later change; with a field selector only matching pods', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    const from = cluster.resourceVersion();
    cluster.createPod(podManifest('b'));
    cluster.setPodPhase('default', 'a', 'Running');
    const watch = await open(
      `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${from}&fieldSelector=${encodeURIComponent('metadata.name=a')}`,
    );
    await waitFor(() => watch.events.length === 1, 'the change after the version');
    expect(watch.summary()).toEqual(['MODIFIED:a']);
    watch.close();
  });

  it('from an expired resourceVersion answers with one ERROR 410 Expired event, then ends', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    const old = cluster.resourceVersion();
    cluster.createPod(podManifest('b'));
    cluster.faults.compact();
    const watch = await open(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${old}`);
    await waitFor(() => watch.ended(), 'the end of the stream');
    expect(watch.summary()).toEqual(['ERROR:410']);
    expect(watch.events[0]?.object).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
    });
  });

  it('streams a list with sendInitialEvents, ending the state with the initial-events-end bookmark, then bookmarks', async () => {
    ({ cluster, server } = await startServer({ bookmarkIntervalMs: 1_000 }));
    cluster.createPod(podManifest('a'));
    const watch = await open(
      '/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=',
    );
    await waitFor(() => watch.events.length === 2, 'state and bookmark');
    expect(watch.events[1]).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'Pod', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
    await cluster.clock.advance(1_000);
    await waitFor(() => watch.events.length === 3, 'a periodic bookmark');
    expect(watch.summary()[2]).toBe(`BOOKMARK:${cluster.resourceVersion()}`);
    watch.close();
  });

  it('ends cleanly after timeoutSeconds of cluster-clock time', async () => {
    ({ cluster, server } = await startServer());
    const watch = await open('/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=30');
    await cluster.clock.advance(29_999);
    expect(watch.ended()).toBe(false);
    await cluster.clock.advance(1);
    await waitFor(() => watch.ended(), 'the end at timeoutSeconds');
    if ('end' in watch) expect(watch.end).toBe('clean');
    if ('closeCode' in watch) expect(watch.closeCode).toBe(1000);
  });

  it('watches events filtered by involvedObject.name', async () => {
    ({ cluster, server } = await startServer());
    const watch = await open(
      `/api/v1/namespaces/default/events?watch=true&fieldSelector=${encodeURIComponent('involvedObject.name=web')}`,
    );
    cluster.recordPodEvent(
      { namespace: 'default', name: 'other' },
      { reason: 'Pulled', message: 'not this' },
    );
    cluster.recordPodEvent({ namespace: 'default', name: 'web' }, { reason: 'Pulled', message: 'this one' });
    await waitFor(() => watch.events.length === 1, 'the matching event');
    expect(watch.events[0]?.object).toMatchObject({ message: 'this one' });
    watch.close();
  });
});

describe('watch over chunked HTTP', () => {
  it('is 200 application/json, chunked, one JSON event per line, each sent as it happens', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    expect(watch.status).toBe(200);
    expect(watch.headers['content-type']).toBe('application/json');
    expect(watch.headers['transfer-encoding']).toBe('chunked');
    cluster.createPod(podManifest('a'));
    await waitFor(() => watch.chunks.length === 1, 'the first chunk');
    expect(watch.chunks[0]).toMatch(/^\{"type":"ADDED","object":\{.*\}\}\n$/);
    cluster.createPod(podManifest('b'));
    await waitFor(() => watch.chunks.length === 2, 'the second chunk');
    watch.close();
  });

  it('answers a bad selector with a 400 Status instead of a stream', async () => {
    ({ cluster, server } = await startServer());
    const response = await send(server.url, 'GET', '/api/v1/pods?watch=true&labelSelector=%3D%3D%3D');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
  });

  it('also serves the legacy /api/v1/watch/ paths', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    const watch = await openHttpWatch(server.url, '/api/v1/watch/namespaces/default/pods');
    await waitFor(() => watch.events.length === 1, 'the initial ADDED');
    watch.close();
  });
});

describe('watch over WebSocket', () => {
  it('sends each event as one JSON text message, and answers pings', async () => {
    ({ cluster, server } = await startServer());
    const watch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    expect(watch.protocol).toBe('');
    let pong = false;
    watch.socket.on('pong', () => {
      pong = true;
    });
    watch.socket.ping();
    await waitFor(() => pong, 'the pong');
    cluster.createPod(podManifest('a'));
    await waitFor(() => watch.events.length === 1, 'the message');
    expect(watch.summary()).toEqual(['ADDED:a']);
    watch.close();
    await waitFor(() => cluster.stats().activeWatches === 0, 'the server to close the watch');
  });

  it('speaks the apiserver subprotocols base64.binary.k8s.io and binary.k8s.io when offered', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('a'));
    for (const protocol of ['base64.binary.k8s.io', 'binary.k8s.io']) {
      const watch = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true', {
        protocols: [protocol],
      });
      expect(watch.protocol).toBe(protocol);
      await waitFor(() => watch.events.length === 1, 'the initial ADDED');
      expect(watch.summary()).toEqual(['ADDED:a']);
      watch.close();
    }
  });

  it('refuses upgrades that are not watches with a Status response', async () => {
    ({ cluster, server } = await startServer());
    await expect(openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods/a')).rejects.toThrow(
      'HTTP 405',
    );
    await expect(openWebSocketWatch(server.url, '/api/v1/nothing?watch=true')).rejects.toThrow('HTTP 404');
  });
});
