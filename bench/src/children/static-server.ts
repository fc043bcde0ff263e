// A static API server of pre-rendered bytes, so that the server is never what a decode or memory
// benchmark measures: `watch` serves `events` ADDED events of realistic pods (chunked HTTP, or one
// WebSocket message each) and ends; `list` pages serve `pods` pods (limit/continue), and a watch after
// a list stays open and silent. Everything is rendered before `start` answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { realisticPod } from '../pods.ts';
import { serveCalls } from '../processes.ts';

const CHUNK_BYTES = 64 * 1024;

interface StartOptions {
  /** Pods in the watch stream (each watch sends them all as ADDED, then ends). */
  readonly events: number;
  /** Pods in the list (paged), for the memory benchmark; a watch with a resourceVersion stays open. */
  readonly pods: number;
}

let events: Buffer[] = [];
let stream = Buffer.alloc(0);
let podCount = 0;
const listResourceVersion = '900000';

async function writeAll(response: ServerResponse, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    if (!response.write(bytes.subarray(offset, offset + CHUNK_BYTES))) {
      await new Promise((resolve) => response.once('drain', resolve));
    }
    if (response.destroyed) return;
  }
}

function listPage(url: URL): Buffer {
  const limit = Number(url.searchParams.get('limit') || podCount);
  const start = Number(url.searchParams.get('continue') || 0);
  const end = Math.min(podCount, start + limit);
  const items = [];
  for (let index = start; index < end; index++) items.push(realisticPod(index, 'bench', { status: true }));
  const metadata: Record<string, unknown> = { resourceVersion: listResourceVersion };
  if (end < podCount) {
    metadata.continue = String(end);
    metadata.remainingItemCount = podCount - end;
  }
  return Buffer.from(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata, items }));
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://static');
  if (!url.pathname.endsWith('/pods')) {
    response.writeHead(404, { 'Content-Type': 'application/json' });
    response.end('{"kind":"Status","apiVersion":"v1","status":"Failure","code":404,"reason":"NotFound"}');
    return;
  }
  if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
    response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // A watch resuming after a list (the memory benchmark) stays open and silent; the headers must go
    // now (Node holds them until the first body byte otherwise), as clients wait for them.
    if (url.searchParams.get('resourceVersion')) {
      response.flushHeaders();
      return;
    }
    await writeAll(response, stream);
    response.end();
    return;
  }
  const body = listPage(url);
  response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  response.end(body);
}

async function sendAll(socket: WebSocket, binary: boolean): Promise<void> {
  for (const event of events) {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(binary ? event : event.toString('utf8'), { binary });
    if (socket.bufferedAmount > 4 * CHUNK_BYTES) {
      await new Promise<void>((resolve) => {
        const check = () => (socket.bufferedAmount <= CHUNK_BYTES ? resolve() : setImmediate(check));
        check();
      });
    }
  }
  socket.close(1000);
}

serveCalls({
  start: async (options: StartOptions) => {
    events = [];
    for (let index = 0; index < options.events; index++) {
      const object = realisticPod(index, 'default', { status: true });
      events.push(Buffer.from(JSON.stringify({ type: 'ADDED', object })));
    }
    stream = Buffer.concat(events.flatMap((event) => [event, Buffer.from('\n')]));
    podCount = options.pods;
    const server = createServer((request, response) => {
      handle(request, response).catch(() => response.destroy());
    });
    const webSockets = new WebSocketServer({
      noServer: true,
      handleProtocols: (offered) => (offered.has('binary.k8s.io') ? 'binary.k8s.io' : false),
    });
    server.on('upgrade', (request, socket, head) => {
      webSockets.handleUpgrade(request, socket, head, (webSocket) => {
        void sendAll(webSocket, webSocket.protocol === 'binary.k8s.io');
      });
    });
    // Node's 5 s keep-alive timeout races clients reusing an idle connection on a loaded machine
    // ("other side closed"): keep connections as long as a benchmark runs.
    server.keepAliveTimeout = 600_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, bytes: stream.length };
  },
});
