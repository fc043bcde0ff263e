import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import { tooLargeStatus } from '../test-support.js';
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

/** Starts a server whose cluster will lose history: `after` is newer than the snapshot's `before`. */
async function serverThatWillLoseHistory() {
  ({ cluster, server } = await startServer());
  cluster.createPod(podManifest('kept'));
  const snapshot = cluster.snapshot();
  const before = cluster.resourceVersion();
  cluster.createPod(podManifest('lost'));
  const after = cluster.resourceVersion();
  return { snapshot, before, after };
}

describe('lost history over the wire (cluster.restore)', () => {
  it('breaks open watches as a restart does: the chunked response dies, the WebSocket drops (1006)', async () => {
    const { snapshot } = await serverThatWillLoseHistory();
    const chunked = await openHttpWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    const socket = await openWebSocketWatch(server.url, '/api/v1/namespaces/default/pods?watch=true');
    await waitFor(() => cluster.stats().activeWatches === 2, 'both watches to open');
    cluster.restore(snapshot);
    await waitFor(() => chunked.end !== 'open' && socket.closeCode !== undefined, 'both watches to break');
    expect([chunked.end, socket.closeCode]).toEqual(['abrupt', 1006]);
  });

  it('answers a list from the newer version with HTTP 504 and the apiserver Status, Retry-After: 1', async () => {
    const { snapshot, before, after } = await serverThatWillLoseHistory();
    cluster.restore(snapshot);
    for (const path of [
      `/api/v1/namespaces/default/pods?resourceVersion=${after}`,
      `/api/v1/pods?resourceVersion=${after}&resourceVersionMatch=NotOlderThan`,
    ]) {
      const response = await send(server.url, 'GET', path);
      expect(response.status).toBe(504);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toEqual(tooLargeStatus(after, before));
    }
    // The relist: HTTP 200 at the restored version.
    const relist = await send(server.url, 'GET', '/api/v1/namespaces/default/pods');
    expect(relist.status).toBe(200);
    expect(relist.json().metadata?.resourceVersion).toBe(before);
  });

  it('answers a watch from the newer version with HTTP 200 and one ERROR event holding that Status, over HTTP and WebSocket', async () => {
    const { snapshot, before, after } = await serverThatWillLoseHistory();
    cluster.restore(snapshot);
    const path = `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${after}&allowWatchBookmarks=true`;
    const chunked = await openHttpWatch(server.url, path);
    await waitFor(() => chunked.end !== 'open', 'the watch to end');
    expect([chunked.status, chunked.end]).toEqual([200, 'clean']);
    expect(chunked.events).toEqual([{ type: 'ERROR', object: tooLargeStatus(after, before) }]);
    const socket = await openWebSocketWatch(server.url, path);
    await waitFor(() => socket.closeCode !== undefined, 'the WebSocket to close');
    expect(socket.closeCode).toBe(1000);
    expect(socket.events).toEqual([{ type: 'ERROR', object: tooLargeStatus(after, before) }]);
    // From the restored version, the watch works.
    const resumed = await openHttpWatch(
      server.url,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${before}`,
    );
    cluster.createPod(podManifest('new'));
    await waitFor(() => resumed.events.length === 1, 'the new pod');
    expect(resumed.summary()).toEqual(['ADDED:new']);
    resumed.close();
  });
});
