import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubernetesError } from '@podstorage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Kubeconfig } from './kubeconfig.js';
import { TEST_CA, TEST_CLIENT_ALICE, TEST_CLIENT_BOB, TEST_SERVER } from './test-certificates.js';
import { EXEC_PLUGIN_SOURCE, temporaryDirectory } from './test-support.js';
import { createUndiciTransport, type UndiciTransport } from './undici-transport.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const signal = () => new AbortController().signal;

/** An HTTPS API server in miniature that asks for client certificates and answers with the caller's CN. */
async function mutualTlsServer() {
  const seen: string[] = [];
  const commonName = (socket: TLSSocket) =>
    socket.authorized ? String(socket.getPeerCertificate().subject?.CN ?? '') : 'anonymous';
  const server = createServer(
    {
      key: TEST_SERVER.key,
      cert: TEST_SERVER.cert,
      ca: TEST_CA,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (request, response) => {
      const name = commonName(request.socket as TLSSocket);
      response.writeHead(200, { 'content-type': 'application/json' });
      if (request.url?.includes('watch=true')) {
        response.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name } } })}\n`);
        return;
      }
      seen.push(name);
      response.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
    },
  );
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket, request) => {
    const name = commonName(request.socket as TLSSocket);
    socket.send(JSON.stringify({ type: 'ADDED', object: { metadata: { name } } }));
    socket.close(1000);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    async close() {
      for (const client of sockets.clients) client.terminate();
      await new Promise((resolve) => sockets.close(resolve));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let server: Awaited<ReturnType<typeof mutualTlsServer>>;
let transports: UndiciTransport[] = [];
beforeEach(async () => {
  server = await mutualTlsServer();
});
afterEach(async () => {
  for (const transport of transports) await transport.close();
  transports = [];
  await server.close();
});

function connect(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  watch: 'http' | 'websocket' = 'http',
) {
  const kubeconfig = {
    clusters: [{ name: 'c', cluster: { server: server.url, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  } as Kubeconfig;
  const transport = createUndiciTransport({ kubeconfig, watch });
  transports.push(transport);
  return transport;
}

const trusted = { 'certificate-authority-data': b64(TEST_CA), 'tls-server-name': 'kubernetes.internal' };
const alice = {
  'client-certificate-data': b64(TEST_CLIENT_ALICE.cert),
  'client-key-data': b64(TEST_CLIENT_ALICE.key),
};

describe('TLS from the kubeconfig', () => {
  it.each(['http', 'websocket'] as const)(
    'over %s: trusts the CA, checks the certificate against tls-server-name, presents the client certificate',
    async (watch) => {
      const transport = connect(trusted, alice, watch);
      await transport.list('pods', 'default', { signal: signal() });
      expect(server.seen).toEqual(['alice']);
      const names: unknown[] = [];
      for await (const event of await transport.watch('pods', 'default', { signal: signal() })) {
        names.push((event.object as { metadata: { name: string } }).metadata.name);
      }
      expect(names).toEqual(['alice']);
    },
  );

  it('refuses a certificate for another name without tls-server-name', async () => {
    const transport = connect({ 'certificate-authority-data': b64(TEST_CA) }, alice);
    const error = await transport
      .list('pods', 'default', { signal: signal() })
      .catch((reason: unknown) => reason);
    expect(KubernetesError.isInstance(error)).toBe(false);
    expect(String((error as Error).cause)).toMatch(/altnames|IP: 127\.0\.0\.1/i);
  });

  it('refuses an unknown CA, unless the kubeconfig says insecure-skip-tls-verify', async () => {
    const strict = connect({}, alice);
    // An untrusted server certificate is a configuration error no retry fixes: final, naming the server.
    const refused = await strict.list('pods', 'default', { signal: signal() }).catch((error) => error);
    expect(refused).toMatchObject({ retryable: false });
    expect(String(refused)).toContain(
      `the API server ${server.url} presented a certificate the kubeconfig does not trust`,
    );
    const insecure = connect({ 'insecure-skip-tls-verify': true }, alice);
    await insecure.list('pods', 'default', { signal: signal() });
    expect(server.seen).toEqual(['alice']);
  });

  it('reads certificate files relative to the kubeconfig', async () => {
    const directory = temporaryDirectory();
    try {
      directory.write('pki/ca.crt', TEST_CA);
      directory.write('pki/alice.crt', TEST_CLIENT_ALICE.cert);
      directory.write('pki/alice.key', TEST_CLIENT_ALICE.key);
      const path = directory.write(
        'kube/config',
        JSON.stringify({
          clusters: [
            {
              name: 'c',
              cluster: {
                server: server.url,
                'certificate-authority': '../pki/ca.crt',
                'tls-server-name': 'kubernetes.internal',
              },
            },
          ],
          users: [
            {
              name: 'u',
              user: { 'client-certificate': '../pki/alice.crt', 'client-key': '../pki/alice.key' },
            },
          ],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'c',
        }),
      );
      const transport = createUndiciTransport({ kubeconfig: path });
      transports.push(transport);
      await transport.list('pods', 'default', { signal: signal() });
      expect(server.seen).toEqual(['alice']);
    } finally {
      directory.remove();
    }
  });

  it('uses a client certificate from an exec plugin, and a new one after refreshCredentials()', async () => {
    const directory = temporaryDirectory();
    try {
      const script = directory.write('plugin.mjs', EXEC_PLUGIN_SOURCE);
      directory.write('client.crt', TEST_CLIENT_ALICE.cert);
      directory.write('client.key', TEST_CLIENT_ALICE.key);
      const transport = connect(trusted, {
        exec: {
          command: process.execPath,
          args: [script, 'cert-from-files'],
          apiVersion: 'client.authentication.k8s.io/v1',
          interactiveMode: 'Never',
        },
      });
      await transport.list('pods', 'default', { signal: signal() });
      directory.write('client.crt', TEST_CLIENT_BOB.cert);
      directory.write('client.key', TEST_CLIENT_BOB.key);
      await transport.list('pods', 'default', { signal: signal() });
      await transport.refreshCredentials?.({ signal: signal() });
      await transport.list('pods', 'default', { signal: signal() });
      // Cached until refreshed; then new connections carry the new certificate.
      expect(server.seen).toEqual(['alice', 'alice', 'bob']);
    } finally {
      directory.remove();
    }
  });
});
