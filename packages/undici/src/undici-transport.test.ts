import { getEventListeners } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { KubernetesError, type WatchEvent } from '@podstorage/core';
import { FakeClock, FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { scriptedServer, waitFor } from './test-support.js';
import { createUndiciTransport, type UndiciTransport } from './undici-transport.js';

const pod = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
});

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function fake(options: { tls?: boolean; token?: string; watch?: 'http' | 'websocket' } = {}) {
  const cluster = new FakeCluster({ mode: 'manual' });
  const server = await serveFakeCluster(cluster, {
    ...(options.tls ? { tls: true } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const transport = createUndiciTransport({ kubeconfig: server.kubeconfig, watch: options.watch ?? 'http' });
  cleanups.push(() => server.close());
  cleanups.push(() => transport.close());
  return { cluster, server, transport };
}

const signal = () => new AbortController().signal;

async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('requests', () => {
  it('gets, lists with selectors and deletes with preconditions; the namespace is the context default', async () => {
    const { cluster, transport } = await fake();
    expect(transport.namespace).toBe('default');
    const web = cluster.createPod(pod('web', { app: 'web', tier: 'a' }));
    cluster.createPod(pod('api', { app: 'api', tier: 'b' }));
    cluster.createPod(pod('db', { app: 'web', tier: 'c' }));
    expect((await transport.get('pods', 'default', 'web', { signal: signal() })).metadata?.uid).toBe(
      web.metadata?.uid,
    );
    const names = async (options: Parameters<UndiciTransport['list']>[2]) =>
      (await transport.list('pods', 'default', options)).items.map((item) => item.metadata?.name).sort();
    expect(await names({ signal: signal(), labelSelector: 'app=web,tier in (a,b)' })).toEqual(['web']);
    expect(await names({ signal: signal(), fieldSelector: { 'metadata.name': 'api' } })).toEqual(['api']);
    const page = await transport.list('pods', 'default', { signal: signal(), limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.metadata.continue).toBeTruthy();
    await expect(
      transport.delete('pods', 'default', 'web', {
        signal: signal(),
        preconditions: { uid: 'someone-else' },
      }),
    ).rejects.toMatchObject({ code: 409, reason: 'Conflict' });
    await transport.delete('pods', 'default', 'web', {
      signal: signal(),
      preconditions: { uid: web.metadata?.uid ?? '' },
      gracePeriodSeconds: 0,
    });
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    const missing = await settled(transport.get('pods', 'default', 'web', { signal: signal() }));
    expect(KubernetesError.isInstance(missing.error)).toBe(true);
    expect(missing.error).toMatchObject({
      code: 404,
      reason: 'NotFound',
      namespace: 'default',
      objectName: 'web',
    });
  });

  it('URL-encodes every path segment and query value', async () => {
    const scripted = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"metadata":{},"items":[]}');
    });
    cleanups.push(() => scripted.close());
    const transport = createUndiciTransport({ kubeconfig: scripted.kubeconfig });
    cleanups.push(() => transport.close());
    const labelSelector = 'app in (a b),tier!=x&admin=true#frag';
    await transport.list('pods', 'ns', {
      signal: signal(),
      labelSelector,
      fieldSelector: { 'metadata.name': 'a,b=c&d' },
      continue: 'token/with+plus=',
    });
    await transport.get('events', 'ns', 'pod.17e/../x?y', { signal: signal() }).catch(() => {});
    const [list, get] = scripted.requests.map((url) => new URL(url, 'http://x'));
    expect(list?.pathname).toBe('/api/v1/namespaces/ns/pods');
    expect(list?.searchParams.get('labelSelector')).toBe(labelSelector);
    expect(list?.searchParams.get('fieldSelector')).toBe('metadata.name=a\\,b\\=c&d');
    expect(list?.searchParams.get('continue')).toBe('token/with+plus=');
    expect([...(list?.searchParams.keys() ?? [])]).toEqual(['fieldSelector', 'labelSelector', 'continue']);
    expect(scripted.requests[1]).toBe('/api/v1/namespaces/ns/events/pod.17e%2F..%2Fx%3Fy');
    expect(get?.search).toBe('');
  });

  it('turns Status bodies into KubernetesError, with Retry-After in retryAfterSeconds', async () => {
    const { cluster, transport } = await fake();
    cluster.faults.failNext(1, {
      code: 429,
      reason: 'TooManyRequests',
      message: 'slow down',
      retryAfterSeconds: 7,
    });
    const error = (await settled(transport.list('pods', 'default', { signal: signal() }))).error;
    expect(error).toBeInstanceOf(KubernetesError);
    expect(error).toMatchObject({
      code: 429,
      reason: 'TooManyRequests',
      serverMessage: 'slow down',
      retryAfterSeconds: 7,
    });
    expect((error as KubernetesError).retryable).toBe(true);
  });

  it('turns a body that is no Status (a proxy page) into a KubernetesError with the HTTP code', async () => {
    const scripted = await scriptedServer((request, response) => {
      if (request.url?.includes('html')) {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html><body>Bad Gateway</body></html>');
        return;
      }
      response.writeHead(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      response.end();
    });
    cleanups.push(() => scripted.close());
    const transport = createUndiciTransport({ kubeconfig: scripted.kubeconfig });
    cleanups.push(() => transport.close());
    const html = (await settled(transport.get('pods', 'html', 'x', { signal: signal() })))
      .error as KubernetesError;
    expect(KubernetesError.isInstance(html)).toBe(true);
    expect(html.code).toBe(502);
    expect(html.message).toContain(
      'HTTP 502 with a body that is not a Kubernetes Status (text/html): <html><body>Bad Gateway',
    );
    const empty = (await settled(transport.get('pods', 'other', 'x', { signal: signal() })))
      .error as KubernetesError;
    expect(empty.code).toBe(503);
    expect(empty.reason).toBe('ServiceUnavailable');
    expect(empty.message).toContain('an empty body');
    expect(empty.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(empty.retryAfterSeconds).toBeLessThanOrEqual(31);
  });

  it('rejects a request with the abort reason and leaves nothing open', async () => {
    const { cluster, server, transport } = await fake();
    cluster.faults.latency(60_000);
    const controller = new AbortController();
    const request = settled(transport.list('pods', 'default', { signal: controller.signal }));
    await waitFor(() => cluster.stats().requests.list === 1, 'the list to arrive');
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect((await request).error).toBe(reason);
    await waitFor(() => server.openConnections() === 0, 'the connection to close');
    expect(transport.openHandles()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('openHandles and close', () => {
  it('counts a request in flight and an open watch, not the idle keep-alive socket left after them', async () => {
    const { cluster, server, transport } = await fake();
    cluster.createPod(pod('a'));
    cluster.faults.latency(60_000);
    const controller = new AbortController();
    const request = settled(transport.get('pods', 'default', 'a', { signal: controller.signal }));
    await waitFor(() => transport.openHandles() > 0, 'the request to be counted');
    controller.abort(new Error('enough'));
    await request;
    cluster.faults.latency(0);
    await transport.get('pods', 'default', 'a', { signal: signal() });
    await waitFor(() => transport.openHandles() === 0, 'the answered request to be released');
    // The socket stays open for reuse: the server still sees it, the transport does not hold it for anyone.
    expect(server.openConnections()).toBe(1);
    const watchController = new AbortController();
    await transport.watch('pods', 'default', { signal: watchController.signal });
    expect(transport.openHandles()).toBeGreaterThan(0);
    watchController.abort();
    await waitFor(() => transport.openHandles() === 0, 'the watch to be released');
  });

  it('closes the idle keep-alive socket too when disposed with await using', async () => {
    const { cluster, server, transport: unused } = await fake();
    await unused.close();
    cluster.createPod(pod('a'));
    {
      await using transport = createUndiciTransport({ kubeconfig: server.kubeconfig });
      await transport.get('pods', 'default', 'a', { signal: signal() });
      expect(server.openConnections()).toBe(1);
    }
    await waitFor(() => server.openConnections() === 0, 'the server to see the pooled socket close');
  });
});

describe.each(['http', 'websocket'] as const)('watches over %s', (watch) => {
  it('yields events, surfaces ERROR 410 as its Status and ends when the server ends', async () => {
    const { cluster, transport } = await fake({ watch });
    cluster.createPod(pod('a'));
    const old = cluster.resourceVersion();
    cluster.createPod(pod('b'));
    const activity = { count: 0 };
    const stream = await transport.watch('pods', 'default', {
      signal: signal(),
      resourceVersion: old,
      onActivity: () => {
        activity.count += 1;
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
    expect(activity.count).toBeGreaterThan(0);
    cluster.faults.compact();
    const expired = await transport.watch('pods', 'default', { signal: signal(), resourceVersion: old });
    const events: WatchEvent<unknown>[] = [];
    for await (const event of expired) events.push(event);
    expect(events).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
    ]);
    await iterator.return?.();
  });

  it('return() while next() waits closes the stream at once', async () => {
    const { cluster, server, transport } = await fake({ watch });
    const controller = new AbortController();
    const iterator = (await transport.watch('pods', 'default', { signal: controller.signal }))[
      Symbol.asyncIterator
    ]();
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch to be served');
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    await waitFor(() => cluster.stats().activeWatches === 0, 'the server to see the watch close');
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
    await waitFor(() => transport.openHandles() === 0, 'the transport to hold nothing');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('abort while the stream is open rejects the waiting next() with the reason', async () => {
    const { cluster, server, transport } = await fake({ watch });
    const controller = new AbortController();
    const iterator = (await transport.watch('pods', 'default', { signal: controller.signal }))[
      Symbol.asyncIterator
    ]();
    const pending = settled(iterator.next());
    const reason = new DOMException('stop', 'AbortError');
    controller.abort(reason);
    expect((await pending).error).toBe(reason);
    await waitFor(() => cluster.stats().activeWatches === 0, 'the server to see the watch close');
    await waitFor(() => server.openConnections() === 0 && transport.openHandles() === 0, 'nothing left open');
  });

  it('abort before the response headers closes the socket at once', async () => {
    const { cluster, server, transport } = await fake({ watch });
    cluster.faults.stallNextWatch();
    const controller = new AbortController();
    const opening = settled(transport.watch('pods', 'default', { signal: controller.signal }));
    await waitFor(() => cluster.stats().requests.watch === 1, 'the watch request to arrive');
    const reason = new Error('deadline');
    controller.abort(reason);
    expect((await opening).error).toBe(reason);
    await waitFor(() => transport.openHandles() === 0, 'the transport to hold nothing');
    if (watch === 'http')
      await waitFor(() => server.openConnections() === 0, 'the server to see the socket close');
    // Over WebSocket the client socket is closed (counted above), but the fake server does not notice a
    // client leaving during a stalled upgrade: see the package README.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a connection reset throws, so the engine resumes', async () => {
    const { cluster, transport } = await fake({ watch });
    const stream = await transport.watch('pods', 'default', { signal: signal() });
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch to be served');
    const iterator = stream[Symbol.asyncIterator]();
    const pending = settled(iterator.next());
    cluster.faults.resetWatches();
    const { error } = await pending;
    expect(error).toMatchObject({ retryable: true });
    expect(KubernetesError.isInstance(error)).toBe(false);
  });

  it('a rejected token is a 401 KubernetesError before any event', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const server: FakeClusterServer = await serveFakeCluster(cluster, { tls: true, token: 'right' });
    cleanups.push(() => server.close());
    const transport = createUndiciTransport({
      kubeconfig: server.kubeconfig.replace('token: "right"', 'token: "wrong-secret"'),
      watch,
    });
    cleanups.push(() => transport.close());
    const { error } = await settled(transport.watch('pods', 'default', { signal: signal() }));
    expect(error).toMatchObject({ code: 401, reason: 'Unauthorized' });
    expect(String(error)).not.toContain('wrong-secret');
    expect(transport.refreshCredentials).toBeUndefined();
  });
});

describe('chunked watch decoding on the wire', () => {
  it('decodes events split across chunks, split UTF-8 and keep-alive lines, counting each chunk as activity', async () => {
    let write: (chunk: Buffer) => void = () => {};
    let finish: () => void = () => {};
    const scripted = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
      write = (chunk) => response.write(chunk);
      finish = () => response.end();
    });
    cleanups.push(() => scripted.close());
    const transport = createUndiciTransport({ kubeconfig: scripted.kubeconfig });
    cleanups.push(() => transport.close());
    let activity = 0;
    const stream = await transport.watch('events', 'default', {
      signal: signal(),
      onActivity: () => {
        activity += 1;
      },
    });
    const events: WatchEvent<{ message?: string }>[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event as WatchEvent<{ message?: string }>);
    })();
    const text = (message: string) => JSON.stringify({ type: 'ADDED', object: { message } });
    const wire = Buffer.from(`${text('Pulling image "ünïcødé 😀"')}\n\n${text('second')}\n`);
    const cut = wire.indexOf(Buffer.from('😀')) + 2; // inside the 4-byte emoji
    const chunks = [
      wire.subarray(0, 10),
      wire.subarray(10, cut),
      wire.subarray(cut),
      Buffer.from('\n'),
      Buffer.from(text('last, no newline')),
    ];
    for (const [index, chunk] of chunks.entries()) {
      write(chunk);
      await waitFor(() => activity === index + 1, `chunk ${index + 1} to arrive`);
    }
    finish();
    await reading;
    expect(events.map((event) => (event.object as { message?: string }).message)).toEqual([
      'Pulling image "ünïcødé 😀"',
      'second',
      'last, no newline',
    ]);
    expect(activity).toBe(chunks.length);
  });

  it('a malformed event is a retryable error that does not quote the payload', async () => {
    const scripted = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"type":"ADDED","object":{"secret":"do-not-show"\n');
    });
    cleanups.push(() => scripted.close());
    const transport = createUndiciTransport({ kubeconfig: scripted.kubeconfig });
    cleanups.push(() => transport.close());
    const stream = await transport.watch('pods', 'default', { signal: signal() });
    const { error } = await settled(stream[Symbol.asyncIterator]().next());
    expect(error).toMatchObject({ retryable: true });
    expect(String(error)).toContain('not valid JSON');
    expect(String(error)).not.toContain('do-not-show');
  });
});

describe('WebSocket liveness', () => {
  async function webSocketServer(autoPong: boolean) {
    const http = createServer();
    const sockets = new WebSocketServer({ server: http, autoPong });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    cleanups.push(async () => {
      for (const client of sockets.clients) client.terminate();
      await new Promise((resolve) => sockets.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    });
    return {
      sockets,
      kubeconfig: {
        clusters: [{ name: 's', cluster: { server: url } }],
        contexts: [{ name: 's', context: { cluster: 's' } }],
        'current-context': 's',
      },
    };
  }

  it('pings at the interval; pongs count as activity', async () => {
    const { sockets, kubeconfig } = await webSocketServer(true);
    const clock = new FakeClock();
    const baseline = clock.pendingTimers();
    const transport = createUndiciTransport({ kubeconfig, watch: 'websocket', clock, pingIntervalMs: 1_000 });
    cleanups.push(() => transport.close());
    let activity = 0;
    let pings = 0;
    sockets.on('connection', (socket) => socket.on('ping', () => (pings += 1)));
    const stream = await transport.watch('pods', 'default', {
      signal: signal(),
      onActivity: () => (activity += 1),
    });
    for (let round = 1; round <= 3; round++) {
      await clock.advance(1_000);
      await waitFor(() => pings === round && activity === round, `ping and pong ${round}`);
    }
    await stream[Symbol.asyncIterator]().return?.();
    expect(clock.pendingTimers()).toBe(baseline);
    await waitFor(() => transport.openHandles() === 0, 'the socket to close');
  });

  it('a ping without a pong by the next interval is a dead connection: the stream throws', async () => {
    const { kubeconfig } = await webSocketServer(false);
    const clock = new FakeClock();
    const baseline = clock.pendingTimers();
    const transport = createUndiciTransport({ kubeconfig, watch: 'websocket', clock, pingIntervalMs: 1_000 });
    cleanups.push(() => transport.close());
    const stream = await transport.watch('pods', 'default', { signal: signal() });
    const pending = settled(stream[Symbol.asyncIterator]().next());
    await clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(1_000);
    const { error } = await pending;
    expect(String(error)).toContain('no pong within 1000 ms');
    expect(error).toMatchObject({ retryable: true });
    expect(clock.pendingTimers()).toBe(baseline);
    await waitFor(() => transport.openHandles() === 0, 'the dead socket to be closed');
  });
});

describe('configuration', () => {
  it('never proxies loopback from the environment; refuses WebSocket watches through a socks5 proxy', async () => {
    const socks = {
      clusters: [
        {
          name: 'c',
          cluster: { server: 'https://api.example:6443', 'proxy-url': 'socks5://proxy.example:1080' },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'c', namespace: 'jobs' } }],
      'current-context': 'c',
    };
    expect(() => createUndiciTransport({ kubeconfig: socks, watch: 'websocket' })).toThrow('socks5');
    const proxied = createUndiciTransport({ kubeconfig: socks });
    expect(proxied.namespace).toBe('jobs');
    await proxied.close();
    const { server } = await fake();
    const transport = createUndiciTransport({
      kubeconfig: server.kubeconfig,
      environment: {
        env: { HTTP_PROXY: 'http://127.0.0.1:9' },
        homeDirectory: '/nonexistent',
        workingDirectory: '/',
      },
    });
    cleanups.push(() => transport.close());
    expect((await transport.list('pods', 'default', { signal: signal() })).items).toEqual([]);
  });

  it.each([
    ['http', false],
    ['http', true],
    ['websocket', false],
    ['websocket', true],
  ] as const)(
    '%s watches tunnel through the kubeconfig proxy-url (HTTP CONNECT; TLS %s)',
    async (watch, tls) => {
      const { cluster, server } = await fake({ tls });
      const port = new URL(server.url).port;
      const tunnels: string[] = [];
      const relayed: string[] = [];
      const proxy = await scriptedServer((request, response) => {
        // Plain http requests through a forward proxy arrive in absolute form: relay them, streaming.
        relayed.push(request.url ?? '');
        const target = new URL(request.url ?? '/');
        const upstream = httpRequest(`${server.url}${target.pathname}${target.search}`, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        });
        upstream.on('error', () => response.destroy());
        response.on('close', () => upstream.destroy());
        upstream.end();
      });
      proxy.server.on('connect', (request: IncomingMessage, client: Duplex, head: Buffer) => {
        tunnels.push(request.url ?? '');
        const upstream = connect(Number(port), '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(client).pipe(upstream);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
      });
      cleanups.push(() => proxy.close());
      // The name only the proxy can resolve; the certificate of the fake is for localhost.
      const kubeconfig = server.kubeconfig
        .replace(/server: "(https?):\/\/127\.0\.0\.1:/, 'server: "$1://localhost:')
        .replace(/( {4}server: .*)/, `$1\n    proxy-url: "${proxy.url}"`);
      const transport = createUndiciTransport({ kubeconfig, watch });
      cleanups.push(() => transport.close());
      cluster.createPod(pod('a'));
      const iterator = (await transport.watch('pods', 'default', { signal: signal() }))[
        Symbol.asyncIterator
      ]();
      expect((await iterator.next()).value).toMatchObject({
        type: 'ADDED',
        object: { metadata: { name: 'a' } },
      });
      await iterator.return?.();
      if (tls || watch === 'websocket') expect(tunnels).toEqual([`localhost:${port}`]);
      else expect(relayed).toEqual([`http://localhost:${port}/api/v1/namespaces/default/pods?watch=true`]);
      await waitFor(() => transport.openHandles() === 0, 'the tunnel to close').catch((error: unknown) => {
        console.log('STATS', JSON.stringify(transport.stats()));
        throw error;
      });
    },
  );

  it('goes through an HTTP proxy from HTTP_PROXY for a non-loopback name', async () => {
    const { server } = await fake();
    const port = new URL(server.url).port;
    const proxied: string[] = [];
    // A forward proxy in miniature: it sees absolute-form request targets and relays them to the fake.
    const proxy = await scriptedServer((request, response) => {
      proxied.push(request.url ?? '');
      const target = new URL(request.url ?? '/');
      fetch(`${server.url}${target.pathname}${target.search}`)
        .then(async (answer) => {
          response.writeHead(answer.status, { 'content-type': 'application/json' });
          response.end(await answer.text());
        })
        .catch(() => response.destroy());
    });
    cleanups.push(() => proxy.close());
    const transport = createUndiciTransport({
      kubeconfig: server.kubeconfig.replace('127.0.0.1', 'kubernetes.test'),
      environment: {
        env: { HTTP_PROXY: proxy.url, NO_PROXY: 'other.test' },
        homeDirectory: '/nonexistent',
        workingDirectory: '/',
      },
    });
    cleanups.push(() => transport.close());
    expect((await transport.list('pods', 'default', { signal: signal() })).items).toEqual([]);
    expect(proxied).toEqual([`http://kubernetes.test:${port}/api/v1/namespaces/default/pods`]);
  });
});
