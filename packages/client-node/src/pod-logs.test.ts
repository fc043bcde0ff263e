// readPodLog through client-node's Log helper over a real socket, on both majors, and logsForPod's
// wait for a container that has not started when client-node keeps only the 400 of the refusal.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPodStorage, KubernetesError } from '@podstorage/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientNodeTransport } from './client-node-transport.js';
import { MAJORS, waitFor } from './clients.test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A hand-written API server: `handler` answers each request; the pod is `pod()`. */
async function serve(handler: (url: URL, response: ServerResponse) => void) {
  const urls: URL[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '', 'http://x');
    urls.push(url);
    handler(url, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { urls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const json = (response: ServerResponse, code: number, body: unknown) => {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

describe.each(MAJORS)('container logs over $name', ({ client }) => {
  function transportFor(url: string) {
    const kubeConfig = new client.KubeConfig();
    kubeConfig.loadFromString(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 's', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 's', context: { cluster: 's', user: 'u' } }],
        'current-context': 's',
      }),
    );
    const transport = createClientNodeTransport({ kubeConfig, client });
    cleanups.push(() => transport.close());
    return transport;
  }

  it('streams the text with kubectl logs parameters; aborting closes the stream', async () => {
    let closed = false;
    const { urls, url } = await serve((_url, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('héllo\n');
      response.on('close', () => {
        closed = true;
      });
    });
    const controller = new AbortController();
    const chunks = await transportFor(url).readPodLog('ns', 'p', {
      signal: controller.signal,
      container: 'main',
      follow: true,
      timestamps: true,
      tailLines: 5,
    });
    const iterator = chunks[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe('héllo\n');
    expect(urls[0]?.pathname).toBe('/api/v1/namespaces/ns/pods/p/log');
    expect(urls[0]?.searchParams.get('container')).toBe('main');
    expect(urls[0]?.searchParams.get('follow')).toBe('true');
    expect(urls[0]?.searchParams.get('tailLines')).toBe('5');
    const pending = iterator.next();
    controller.abort(new Error('the reader left'));
    await expect(pending).rejects.toThrow('the reader left');
    await waitFor(() => closed, 'the server to see the log connection closed');
  });

  it('logsForPod waits out a 400 while the pod says its container is waiting, then reads it', async () => {
    let logRequests = 0;
    const pod = (state: object, phase: string) => ({
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', uid: 'u' },
      status: { phase, containerStatuses: [{ name: 'main', state }] },
    });
    const { url } = await serve((requested, response) => {
      if (!requested.pathname.endsWith('/log')) {
        json(
          response,
          200,
          logRequests < 2
            ? pod({ waiting: { reason: 'ContainerCreating' } }, 'Pending')
            : pod({ terminated: { exitCode: 0 } }, 'Succeeded'),
        );
        return;
      }
      logRequests += 1;
      if (logRequests < 2) {
        json(response, 400, {
          kind: 'Status',
          code: 400,
          reason: 'BadRequest',
          message: 'container "main" in pod "p" is waiting to start: ContainerCreating',
        });
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('2026-12-01T10:00:01.000000001Z ready\n');
    });
    const transport = transportFor(url);
    const refusal = await transport
      .readPodLog('ns', 'p', { signal: AbortSignal.timeout(20_000) })
      .catch((error: unknown) => error);
    expect(KubernetesError.isInstance(refusal) && refusal.code).toBe(400);
    logRequests = 0;
    await using storage = createPodStorage(transport, { backoff: { initialMs: 10, maxMs: 50 } });
    const lines: string[] = [];
    for await (const line of storage.logsForPod('p', 'ns', 30_000, { container: 'main' }))
      lines.push(line.text);
    expect(lines).toEqual(['ready']);
    expect(logRequests).toBe(2);
  });
});
