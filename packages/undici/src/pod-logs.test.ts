// readPodLog over a real socket, and logsForPod on the system clock when the log connection is cut
// mid-follow. The server side is written by hand: what the kubelet sends through the apiserver is
// plain text (server/server.go getContainerLogs), a Status for errors.
import type { ServerResponse } from 'node:http';
import { createPodStorage, KubernetesError } from '@podstorage/core';
import { afterEach, describe, expect, it } from 'vitest';
import { openHandles, scriptedServer, waitFor } from './test-support.js';
import { createUndiciTransport } from './undici-transport.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const signal = () => AbortSignal.timeout(30_000);

async function serve(handler: (url: URL, response: ServerResponse, request: number) => void) {
  let count = 0;
  const scripted = await scriptedServer((request, response) => {
    count += 1;
    handler(new URL(request.url ?? '', 'http://x'), response, count);
  });
  cleanups.push(() => scripted.close());
  const transport = createUndiciTransport({ kubeconfig: scripted.kubeconfig });
  cleanups.push(() => transport.close());
  return { scripted, transport };
}

describe('container logs over undici', () => {
  it('sends kubectl logs parameters, decodes UTF-8 split across chunks, and ends with the body', async () => {
    const { scripted, transport } = await serve((_url, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const text = Buffer.from('héllo\nwörld\n');
      // Cut inside the two-byte é.
      response.write(text.subarray(0, 2));
      response.end(text.subarray(2));
    });
    const chunks = await transport.readPodLog('ns', 'my-pod', {
      signal: signal(),
      container: 'main',
      follow: true,
      timestamps: true,
      sinceTime: '2026-12-01T10:00:00Z',
      tailLines: 10,
      limitBytes: 1000,
    });
    let text = '';
    for await (const chunk of chunks) text += chunk;
    expect(text).toBe('héllo\nwörld\n');
    const url = new URL(scripted.requests[0] ?? '', 'http://x');
    expect(url.pathname).toBe('/api/v1/namespaces/ns/pods/my-pod/log');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      container: 'main',
      follow: 'true',
      timestamps: 'true',
      sinceTime: '2026-12-01T10:00:00Z',
      tailLines: '10',
      limitBytes: '1000',
    });
    await waitFor(() => openHandles(transport) === 0, 'the transport to hold nothing');
  });

  it('a container that cannot be read yet is a 400 KubernetesError with the server message', async () => {
    const { transport } = await serve((_url, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          code: 400,
          reason: 'BadRequest',
          message: 'container "main" in pod "p" is waiting to start: ContainerCreating',
        }),
      );
    });
    const error = await transport
      .readPodLog('ns', 'p', { signal: signal() })
      .catch((caught: unknown) => caught);
    expect(KubernetesError.isInstance(error) && error.code).toBe(400);
    expect((error as Error).message).toContain('is waiting to start');
    await waitFor(() => openHandles(transport) === 0, 'the transport to hold nothing');
  });

  it('aborting a follow closes its socket at once', async () => {
    let closed = false;
    const { transport } = await serve((_url, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first\n');
      response.on('close', () => {
        closed = true;
      });
    });
    const controller = new AbortController();
    const chunks = await transport.readPodLog('ns', 'p', { signal: controller.signal, follow: true });
    const iterator = chunks[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe('first\n');
    const pending = iterator.next();
    controller.abort(new Error('the reader left'));
    await expect(pending).rejects.toThrow('the reader left');
    await waitFor(() => closed, 'the server to see the log connection closed');
    await waitFor(() => openHandles(transport) === 0, 'the transport to hold nothing');
  });

  it('logsForPod, system clock: a follow cut mid-stream resumes from the last line without repeats', async () => {
    const line = (second: number, text: string) => `2026-12-01T10:00:0${second}.000000001Z ${text}\n`;
    const running = {
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', uid: 'u' },
      status: { phase: 'Running', containerStatuses: [{ name: 'main', state: { running: {} } }] },
    };
    const done = {
      ...running,
      status: {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 0 } } }],
      },
    };
    let logRequests = 0;
    const sinceTimes: (string | null)[] = [];
    const { transport } = await serve((url, response) => {
      if (!url.pathname.endsWith('/log')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(logRequests >= 2 ? done : running));
        return;
      }
      logRequests += 1;
      sinceTimes.push(url.searchParams.get('sinceTime'));
      response.writeHead(200, { 'content-type': 'text/plain' });
      if (logRequests === 1) {
        response.write(line(1, 'one') + line(2, 'two'));
        // The connection is cut, as a proxy or a restarting apiserver does.
        setImmediate(() => response.socket?.destroy());
      } else {
        response.end(line(2, 'two') + line(3, 'three'));
      }
    });
    await using storage = createPodStorage(transport, { backoff: { initialMs: 10, maxMs: 50 } });
    const lines: string[] = [];
    for await (const entry of storage.logsForPod('p', 'ns', 30_000)) lines.push(entry.text);
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(sinceTimes).toEqual([null, '2026-12-01T10:00:02.000000001Z']);
    await waitFor(() => openHandles(transport) === 0, 'the transport to hold nothing');
  });
});
