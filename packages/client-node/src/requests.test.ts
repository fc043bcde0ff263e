import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as clientNode2 from '@kubernetes/client-node';
import * as clientNode1 from '@kubernetes/client-node-1';
import { InvalidInputError, KubernetesError } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer } from '@podstorage/fake';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientNodeTransport, createClientNodeTransport } from './client-node-transport.js';
import { type ClientMajor, connect, kubeConfigFor, MAJORS, waitFor } from './clients.test-support.js';

const never = () => new AbortController().signal;
const pod = (name: string, labels?: Record<string, string>) => ({
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
});

let cluster: FakeCluster;
let server: FakeClusterServer;
let transport: ClientNodeTransport;

async function start(major: ClientMajor, tls = false): Promise<void> {
  cluster = new FakeCluster({ mode: 'manual', namespaces: ['default', 'other'] });
  ({ server, transport } = await connect(cluster, major, tls));
}

afterEach(async () => {
  await transport?.close();
  await server?.close();
  expect(server.openConnections()).toBe(0);
});

describe.each(MAJORS)('requests through CoreV1Api of $name', (major) => {
  it('gets, lists and deletes pods and events as the wire JSON the server sent', async () => {
    await start(major);
    const created = cluster.createPod(pod('a'));
    const read = await transport.get('pods', 'default', 'a', { signal: never() });
    // The generated deserialiser would have made Date objects: the transport hands out the wire form.
    expect(read.metadata?.creationTimestamp).toBe(created.metadata?.creationTimestamp);
    expect(read).toEqual(created);
    cluster.recordPodEvent({ namespace: 'default', name: 'a' }, { reason: 'Started', message: 'hello' });
    const events = await transport.list('events', 'default', {
      signal: never(),
      fieldSelector: { 'involvedObject.name': 'a', 'involvedObject.kind': 'Pod' },
    });
    expect(events.items.map((event) => event.message)).toEqual(['hello']);
    const eventName = events.items[0]?.metadata?.name ?? '';
    const event = await transport.get('events', 'default', eventName, { signal: never() });
    expect(event.reason).toBe('Started');
    await transport.delete('events', 'default', eventName, { signal: never() });
    expect(cluster.getEvent('default', eventName)).toBeUndefined();
    const missing = await transport.get('events', 'default', eventName, { signal: never() }).catch((e) => e);
    expect(KubernetesError.isInstance(missing) && missing.code).toBe(404);
  });

  it('passes field selectors escaped, label selectors, paging and resourceVersion', async () => {
    await start(major);
    cluster.createPod(pod('a', { app: 'web' }));
    cluster.createPod(pod('d', { app: 'web' }));
    cluster.createPod(pod('e', { app: 'db' }));
    cluster.createPod({
      ...pod('f', { app: 'web' }),
      metadata: { name: 'f', namespace: 'other', labels: { app: 'web' } },
    });
    cluster.recordPodEvent({ namespace: 'default', name: 'a' }, { reason: 'Odd,reason=x', message: 'odd' });
    cluster.recordPodEvent({ namespace: 'default', name: 'a' }, { reason: 'Odd', message: 'plain' });
    const escaped = await transport.list('events', 'default', {
      signal: never(),
      fieldSelector: { reason: 'Odd,reason=x', 'involvedObject.name': 'a' },
    });
    expect(escaped.items.map((item) => item.message)).toEqual(['odd']);
    const labelled = await transport.list('pods', 'default', {
      signal: never(),
      labelSelector: 'app in (web)',
    });
    expect(labelled.items.map((item) => item.metadata?.name).sort()).toEqual(['a', 'd']);
    const first = await transport.list('pods', 'default', { signal: never(), limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.metadata.continue).toBeTruthy();
    const second = await transport.list('pods', 'default', {
      signal: never(),
      limit: 2,
      continue: first.metadata.continue ?? '',
    });
    expect(second.items).toHaveLength(1);
    const version = first.metadata.resourceVersion ?? '';
    cluster.createPod(pod('g'));
    const exact = await transport.list('pods', 'default', {
      signal: never(),
      resourceVersion: version,
      resourceVersionMatch: 'Exact',
    });
    expect(exact.items.map((item) => item.metadata?.name)).not.toContain('g');
    cluster.faults.compact();
    const expired = await transport
      .list('pods', 'default', { signal: never(), resourceVersion: version, resourceVersionMatch: 'Exact' })
      .catch((error) => error);
    expect(KubernetesError.isInstance(expired) && [expired.code, expired.reason]).toEqual([410, 'Expired']);
    const everywhere = await transport.list('pods', '', { signal: never(), labelSelector: 'app=web' });
    expect(everywhere.items.map((item) => item.metadata?.name).sort()).toEqual(['a', 'd', 'f']);
  });

  it('deletes with uid and resourceVersion preconditions, grace period and propagation policy', async () => {
    await start(major);
    const created = cluster.createPod({ ...pod('a'), spec: { ...pod('a').spec, nodeName: 'node-1' } });
    cluster.setPodPhase('default', 'a', 'Running');
    const conflict = await transport
      .delete('pods', 'default', 'a', { signal: never(), preconditions: { uid: 'not-the-uid' } })
      .catch((error) => error);
    expect(KubernetesError.isInstance(conflict) && [conflict.code, conflict.reason]).toEqual([
      409,
      'Conflict',
    ]);
    const stale = await transport
      .delete('pods', 'default', 'a', { signal: never(), preconditions: { resourceVersion: '1' } })
      .catch((error) => error);
    expect(KubernetesError.isInstance(stale) && stale.code).toBe(409);
    await transport.delete('pods', 'default', 'a', {
      signal: never(),
      preconditions: { uid: created.metadata?.uid ?? '' },
      gracePeriodSeconds: 7,
      propagationPolicy: 'Background',
    });
    expect(cluster.getPod('default', 'a')?.metadata?.deletionGracePeriodSeconds).toBe(7);
    await transport.delete('pods', 'default', 'a', { signal: never(), gracePeriodSeconds: 0 });
    expect(cluster.getPod('default', 'a')).toBeUndefined();
  });

  it('turns ApiException into KubernetesError with code, reason, message and Retry-After', async () => {
    await start(major);
    cluster.faults.failNext(
      1,
      { code: 429, message: 'slow down', retryAfterSeconds: 3 },
      { verbs: ['list'] },
    );
    const throttled = await transport.list('pods', 'default', { signal: never() }).catch((error) => error);
    expect(KubernetesError.isInstance(throttled)).toBe(true);
    expect([throttled.code, throttled.reason, throttled.serverMessage]).toEqual([
      429,
      'TooManyRequests',
      'slow down',
    ]);
    expect(throttled.retryAfterSeconds).toBe(3);
    expect(throttled.retryable).toBe(true);
    cluster.faults.failNext(
      1,
      { code: 403, reason: 'Forbidden', message: 'no pods for you' },
      { verbs: ['get'] },
    );
    const forbidden = await transport
      .get('pods', 'default', 'a', { signal: never() })
      .catch((error) => error);
    expect([forbidden.code, forbidden.reason, forbidden.serverMessage]).toEqual([
      403,
      'Forbidden',
      'no pods for you',
    ]);
    expect(forbidden.message).toContain('get pods');
    // client-node throws a 401 without its body: the code still makes the error.
    cluster.faults.failNext(1, { code: 401, reason: 'Unauthorized' }, { verbs: ['get'] });
    const unauthorized = await transport
      .get('pods', 'default', 'a', { signal: never() })
      .catch((error) => error);
    expect(KubernetesError.isInstance(unauthorized) && [unauthorized.code, unauthorized.reason]).toEqual([
      401,
      'Unauthorized',
    ]);
  });

  it('gives a KubernetesError with the HTTP code for a body that is not a Status', async () => {
    const proxy = createServer((_request, response) => {
      response.writeHead(502, { 'Content-Type': 'text/html', 'Retry-After': '9' });
      response.end('<html>bad gateway</html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const kubeConfig = new major.client.KubeConfig();
      kubeConfig.loadFromString(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: {} }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
      );
      const proxied = createClientNodeTransport({ kubeConfig, client: major.client });
      const listed = await proxied.list('pods', 'default', { signal: never() }).catch((error) => error);
      expect(KubernetesError.isInstance(listed) && [listed.code, listed.reason]).toEqual([502, 'Unknown']);
      expect(listed.serverMessage).toContain('bad gateway');
      expect(listed.retryAfterSeconds).toBe(9);
      const watched = await proxied.watch('pods', 'default', { signal: never() }).catch((error) => error);
      expect(KubernetesError.isInstance(watched) && watched.code).toBe(502);
      expect(watched.retryAfterSeconds).toBe(9);
      await proxied.close();
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
    await start(major);
  });

  it('aborts a request at once, also while the server has not answered, and closes its socket', async () => {
    await start(major);
    cluster.createPod(pod('a'));
    cluster.faults.latency(60_000, { verbs: ['get'] });
    const controller = new AbortController();
    const pending = transport.get('pods', 'default', 'a', { signal: controller.signal });
    const outcome = pending.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await waitFor(() => cluster.stats().requests.get === 1 && server.openConnections() === 1, 'the request');
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
    const before = cluster.stats().requests.get;
    const already = await transport
      .get('pods', 'default', 'a', { signal: AbortSignal.abort(reason) })
      .catch((e) => e);
    expect(already).toBe(reason);
    expect(cluster.stats().requests.get).toBe(before);
  });

  it('refuses a KubeConfig of another major than the client module at creation, naming both', async () => {
    await start(major);
    const other = MAJORS.find((candidate) => candidate !== major) as ClientMajor;
    const create = () =>
      createClientNodeTransport({ kubeConfig: kubeConfigFor(other, server), client: major.client });
    expect(create).toThrow(InvalidInputError);
    expect(create).toThrow('pass the module the kubeConfig comes from as `client`');
  });

  it('close() aborts what is open, releases every socket and refuses later calls', async () => {
    await start(major, true);
    cluster.createPod(pod('a'));
    const stream = await transport.watch('pods', 'default', { signal: never() });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value?.type).toBe('ADDED');
    cluster.faults.latency(60_000, { verbs: ['get'] });
    const pending = transport.get('pods', 'default', 'a', { signal: never() }).catch((error) => error);
    await waitFor(() => server.openConnections() === 2, 'a watch and a request');
    await transport.close();
    await waitFor(() => server.openConnections() === 0, 'the server to see both sockets close');
    expect(String(await pending)).toContain('closed');
    await expect(events.next()).rejects.toThrow('closed');
    await expect(transport.get('pods', 'default', 'a', { signal: never() })).rejects.toThrow('closed');
  });
});

describe('loading the client', () => {
  it('takes the KubeConfig and module of either major as they are typed, and imports the peer by default', async () => {
    cluster = new FakeCluster({ mode: 'manual' });
    ({ server } = await connect(cluster, MAJORS[0] as ClientMajor, true));
    cluster.createPod(pod('a'));
    const kubeConfig2 = new clientNode2.KubeConfig();
    kubeConfig2.loadFromString(server.kubeconfig);
    const kubeConfig1 = new clientNode1.KubeConfig();
    kubeConfig1.loadFromString(server.kubeconfig);
    const byDefault = createClientNodeTransport({ kubeConfig: kubeConfig2 });
    const explicit2 = createClientNodeTransport({ kubeConfig: kubeConfig2, client: clientNode2 });
    const explicit1 = createClientNodeTransport({ kubeConfig: kubeConfig1, client: clientNode1 });
    transport = byDefault;
    for (const each of [byDefault, explicit2, explicit1]) {
      expect((await each.get('pods', 'default', 'a', { signal: never() })).metadata?.name).toBe('a');
      await each.close();
    }
    // Without `client`, a 1.x KubeConfig meets the 2.x the project resolves: refused, not half-working.
    const mismatched = createClientNodeTransport({ kubeConfig: kubeConfig1 });
    const refused = await mismatched.get('pods', 'default', 'a', { signal: never() }).catch((e) => e);
    expect(InvalidInputError.isInstance(refused) && !refused.retryable, String(refused)).toBe(true);
  });
});
