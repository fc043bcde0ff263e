import { afterEach, describe, expect, it } from 'vitest';
import { FakeCluster } from '../fake-cluster.js';
import { type FakeClusterServer, serveFakeCluster } from './serve.js';
import { send } from './server-test-support.js';

let server: FakeClusterServer | undefined;

afterEach(async () => {
  await server?.close();
  expect(server?.openConnections() ?? 0).toBe(0);
  server = undefined;
});

describe('TLS', () => {
  it('serves HTTPS with a generated CA that clients verify, and puts the CA in the kubeconfig', async () => {
    server = await serveFakeCluster(new FakeCluster(), { tls: true });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = server.ca as string;
    expect(ca).toContain('BEGIN CERTIFICATE');
    const response = await send(server.url, 'GET', '/api/v1/namespaces/default/pods', { ca });
    expect(response.status).toBe(200);
    expect(server.kubeconfig).toContain(
      `certificate-authority-data: "${Buffer.from(ca).toString('base64')}"`,
    );
    expect(server.kubeconfig).not.toContain('insecure-skip-tls-verify');
    // Without the CA the certificate is not trusted: it really is TLS with a private CA.
    await expect(send(server.url, 'GET', '/version')).rejects.toThrow(
      /self-signed|unable to verify|certificate/,
    );
  });

  it('closes without hanging while a watch is open over HTTPS', async () => {
    const cluster = new FakeCluster();
    server = await serveFakeCluster(cluster, { tls: true });
    const pending = send(server.url, 'GET', '/api/v1/pods?watch=true', { ca: server.ca as string }).catch(
      (error: unknown) => error,
    );
    for (let turn = 0; turn < 10_000 && cluster.stats().activeWatches === 0; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(cluster.stats().activeWatches).toBe(1);
    await server.close();
    await server.close();
    await pending;
    expect(cluster.stats().activeWatches).toBe(0);
  });
});

describe('bearer token', () => {
  it('answers requests without the token, or with a wrong one, with a 401 Status', async () => {
    server = await serveFakeCluster(new FakeCluster(), { token: 's3cret' });
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: 'Bearer wrong' },
      { Authorization: 'Basic czNjcmV0' },
    ]) {
      const response = await send(server.url, 'GET', '/api/v1/namespaces/default/pods', { headers });
      expect(response.status).toBe(401);
      expect(response.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    const allowed = await send(server.url, 'GET', '/api/v1/namespaces/default/pods', {
      headers: { Authorization: 'Bearer s3cret' },
    });
    expect(allowed.status).toBe(200);
    expect(server.kubeconfig).toContain('token: "s3cret"');
  });
});
