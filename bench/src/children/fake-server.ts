// The fake API server (@podstorage/fake over HTTP) in its own process, in manual lifecycle mode, with
// request and connection counts taken on the server's side (Node's diagnostics channels, so the
// server's code is untouched): what a client costs the API server is counted where it lands.
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { podName, realisticPod } from '../pods.ts';
import { collectGarbage, monotonicMs, serveCalls } from '../processes.ts';

const NAMESPACE = 'bench';

/** What the server saw, since the last `resetCounts`. */
export interface ServerCounts {
  /** HTTP requests of any kind (WebSocket upgrades are not used by these scenarios). */
  requests: number;
  /** Requests for one object (GET .../pods/NAME). */
  gets: number;
  /** List requests (pages). */
  lists: number;
  /** Watch requests. */
  watches: number;
  /** TCP connections accepted. */
  connections: number;
  /** Most TCP connections open at once. */
  peakConnections: number;
  /** Most watch requests open at once. */
  peakWatches: number;
}

let cluster: FakeCluster | undefined;
let server: FakeClusterServer | undefined;
let podCount = 0;
const counts: ServerCounts = {
  requests: 0,
  gets: 0,
  lists: 0,
  watches: 0,
  connections: 0,
  peakConnections: 0,
  peakWatches: 0,
};
let openConnections = 0;
let openWatches = 0;

subscribe('net.server.socket', (message) => {
  const { socket } = message as { socket: Socket };
  counts.connections += 1;
  openConnections += 1;
  counts.peakConnections = Math.max(counts.peakConnections, openConnections);
  socket.once('close', () => {
    openConnections -= 1;
  });
});

/** Counts one request by its path; `closed` registers what to do when its answer ends. */
function countRequest(path: string, closed: (done: () => void) => void): void {
  const url = new URL(path, 'http://fake');
  counts.requests += 1;
  const watch = url.searchParams.get('watch');
  if (watch === 'true' || watch === '1') {
    counts.watches += 1;
    openWatches += 1;
    counts.peakWatches = Math.max(counts.peakWatches, openWatches);
    closed(() => {
      openWatches -= 1;
    });
  } else if (/\/(pods|events)$/.test(url.pathname)) {
    counts.lists += 1;
  } else if (/\/pods\/[^/]+$/.test(url.pathname)) {
    counts.gets += 1;
  }
}

// HTTP/1.1 requests (plain HTTP, and TLS clients that offer only HTTP/1.1)…
subscribe('http.server.request.start', (message) => {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  countRequest(request.url ?? '/', (done) => response.once('close', done));
});
// …and HTTP/2 streams (TLS clients that negotiate h2), which Node reports on a channel of their own.
subscribe('http2.server.stream.start', (message) => {
  const { stream, headers } = message as { stream: ServerHttp2Stream; headers: IncomingHttpHeaders };
  countRequest(String(headers[':path'] ?? '/'), (done) => stream.once('close', done));
});

function theCluster(): FakeCluster {
  if (cluster === undefined) throw new Error('fake server: start it first');
  return cluster;
}

/**
 * Runs `step(index)` for every pod from `from` on, `batch` pods per macrotask, so the server keeps writing
 * to sockets. The times of pods before `from` are NaN.
 */
async function paced(batch: number, step: (index: number) => void, from = 0): Promise<number[]> {
  const times: number[] = new Array(podCount).fill(Number.NaN);
  for (let index = from; index < podCount; ) {
    const end = Math.min(podCount, index + batch);
    for (; index < end; index++) {
      step(index);
      times[index] = monotonicMs();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return times;
}

serveCalls({
  start: async (options: { pods: number; eventsPerPod?: number; tls?: boolean }) => {
    podCount = options.pods;
    cluster = new FakeCluster({
      mode: 'manual',
      watchdog: false,
      // Every pod changes once and may get events: keep all of it servable.
      historySize: options.pods * (3 + (options.eventsPerPod ?? 0)) + 1_000,
    });
    cluster.createNamespace(NAMESPACE);
    for (let index = 0; index < options.pods; index++) cluster.createPod(realisticPod(index, NAMESPACE));
    for (let index = 0; index < options.pods; index++) {
      for (let event = 0; event < (options.eventsPerPod ?? 0); event++) {
        cluster.recordPodEvent(
          { namespace: NAMESPACE, name: podName(index) },
          { reason: 'Scheduled', message: `Successfully assigned ${NAMESPACE}/${podName(index)} (${event})` },
        );
      }
    }
    // Over TLS the server offers HTTP/2 by ALPN, as the apiserver does.
    server = await serveFakeCluster(cluster, { tls: options.tls === true });
    // The pods just made are all young: collected now, no scavenge copies them while a client is measured.
    collectGarbage('the fake API server child');
    return { url: server.url, namespace: NAMESPACE };
  },
  resetCounts: () => {
    for (const key of Object.keys(counts) as (keyof ServerCounts)[]) counts[key] = 0;
    counts.peakConnections = openConnections;
    counts.peakWatches = openWatches;
    return true;
  },
  counts: (): ServerCounts => ({ ...counts }),
  /** Sets every pod Running, `batch` per macrotask; resolves with the time of each change (monotonic ms). */
  flip: (options: { batch: number; from?: number }) =>
    paced(
      options.batch,
      (index) => theCluster().setPodPhase(NAMESPACE, podName(index), 'Running'),
      options.from,
    ),
  /** Sets one pod Running; resolves with the time of the change (monotonic ms). */
  flipOne: (options: { index: number }) => {
    theCluster().setPodPhase(NAMESPACE, podName(options.index), 'Running');
    return monotonicMs();
  },
  /** Records one new event about every pod, `batch` per macrotask; resolves with the times. */
  recordEvents: (options: { batch: number; message: string }) =>
    paced(options.batch, (index) =>
      theCluster().recordPodEvent(
        { namespace: NAMESPACE, name: podName(index) },
        { reason: 'Started', message: `${options.message} ${podName(index)}` },
      ),
    ),
  stop: async () => {
    await server?.close();
    return true;
  },
});
