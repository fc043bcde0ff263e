// The fake API server's wire, as the apiserver's: content negotiation
// (k8s.io/apiserver/pkg/endpoints/handlers/negotiation), protobuf bodies
// (k8s.io/apimachinery/pkg/runtime/serializer/protobuf), YAML, gzip over 128 KiB
// (handlers/responsewriters/writers.go), dryRun, fieldValidation, server-side apply
// (handlers/patch.go, fieldmanager), events.k8s.io/v1 and authorization.k8s.io/v1, HTTP/2 by ALPN.
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { FakeCluster } from '../fake-cluster.js';
import { decodeProtobuf, decodeWatchFrames, encodeProtobuf } from './protobuf-codec.js';
import type { FakeClusterServer } from './serve.js';
import { podManifest, send, sendJson, startServer, waitFor } from './server-test-support.js';

let cluster: FakeCluster;
let server: FakeClusterServer;

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

async function start(options: Parameters<typeof startServer>[1] = {}) {
  ({ cluster, server } = await startServer({}, options));
}

/** A request whose body comes back as bytes. */
async function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer) {
  const response = await request(`${server.url}${path}`, {
    method: method as 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    bytes: Buffer.from(await response.body.arrayBuffer()),
  };
}

describe('content negotiation', () => {
  it('answers protobuf to a client that asks only for it, lists and Status errors included', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    const got = await raw('GET', '/api/v1/namespaces/default/pods/web', { Accept: PROTOBUF });
    expect(got.headers['content-type']).toBe(PROTOBUF);
    expect(decodeProtobuf(got.bytes)).toMatchObject({ kind: 'Pod', metadata: { name: 'web' } });
    const list = await raw('GET', '/api/v1/namespaces/default/pods', { Accept: PROTOBUF });
    expect(decodeProtobuf(list.bytes)).toMatchObject({
      kind: 'PodList',
      items: [{ metadata: { name: 'web' } }],
    });
    const missing = await raw('GET', '/api/v1/namespaces/default/pods/nope', { Accept: PROTOBUF });
    expect(missing.status).toBe(404);
    expect(decodeProtobuf(missing.bytes)).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
  });

  it('follows the order of preference, with q-values', async () => {
    await start();
    const first = await raw('GET', '/api/v1/namespaces', { Accept: `${PROTOBUF}, application/json` });
    expect(first.headers['content-type']).toBe(PROTOBUF);
    const weighted = await raw('GET', '/api/v1/namespaces', {
      Accept: `${PROTOBUF};q=0.5, application/json`,
    });
    expect(weighted.headers['content-type']).toBe('application/json');
    const anything = await raw('GET', '/api/v1/namespaces', { Accept: 'text/html, */*' });
    expect(anything.headers['content-type']).toBe('application/json');
  });

  it('is 406 NotAcceptable for media types it cannot write', async () => {
    await start();
    const response = await send(server.url, 'GET', '/api/v1/namespaces/default/pods', {
      headers: { Accept: 'text/html' },
    });
    expect(response.status).toBe(406);
    expect(response.json()).toMatchObject({
      kind: 'Status',
      reason: 'NotAcceptable',
      message: `only the following media types are accepted: application/json, application/yaml, ${PROTOBUF}`,
    });
    // A watch has no YAML form.
    const watch = await send(server.url, 'GET', '/api/v1/namespaces/default/pods?watch=true', {
      headers: { Accept: 'application/yaml' },
    });
    expect(watch.status).toBe(406);
  });

  it('reads protobuf and YAML bodies, and answers YAML', async () => {
    await start();
    const created = await raw(
      'POST',
      '/api/v1/namespaces/default/pods',
      { 'Content-Type': PROTOBUF, Accept: PROTOBUF },
      encodeProtobuf(podManifest('from-protobuf')),
    );
    expect(created.status).toBe(201);
    expect(decodeProtobuf(created.bytes)).toMatchObject({
      metadata: { name: 'from-protobuf', uid: expect.any(String) },
    });
    const yaml = await send(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      body: stringifyYaml(podManifest('from-yaml')),
      headers: { 'Content-Type': 'application/yaml', Accept: 'application/yaml' },
    });
    expect(yaml.status).toBe(201);
    expect(yaml.headers['content-type']).toBe('application/yaml');
    expect(parseYaml(yaml.text)).toMatchObject({ kind: 'Pod', metadata: { name: 'from-yaml' } });
    expect(cluster.getPod('default', 'from-yaml')?.spec?.containers[0]?.image).toBe('busybox');
    const broken = await send(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      body: 'not protobuf',
      headers: { 'Content-Type': PROTOBUF },
    });
    expect(broken.status).toBe(400);
    expect(broken.json().message).toContain('magic');
  });

  it('streams a protobuf watch as length-prefixed WatchEvents', async () => {
    await start();
    cluster.createPod(podManifest('watched'));
    const controller = new AbortController();
    const response = await request(`${server.url}/api/v1/namespaces/default/pods?watch=true`, {
      headers: { Accept: PROTOBUF },
      signal: controller.signal,
    });
    expect(response.headers['content-type']).toBe(`${PROTOBUF};stream=watch`);
    const chunks: Buffer[] = [];
    const reading = (async () => {
      try {
        for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
      } catch {
        // aborted
      }
    })();
    await waitFor(() => decodeWatchFrames(Buffer.concat(chunks)).length === 1, 'the ADDED frame');
    cluster.setPodPhase('default', 'watched', 'Running');
    await waitFor(() => decodeWatchFrames(Buffer.concat(chunks)).length === 2, 'the MODIFIED frame');
    const events = decodeWatchFrames(Buffer.concat(chunks));
    expect(events.map((event) => event.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(events[1]?.object).toMatchObject({ kind: 'Pod', status: { phase: 'Running' } });
    controller.abort();
    await reading;
  });

  it('gzips answers over 128 KiB when the client accepts gzip, and only then', async () => {
    await start();
    for (let index = 0; index < 120; index++) {
      cluster.createPod({
        ...podManifest(`big-${index}`),
        metadata: { name: `big-${index}`, annotations: { filler: 'x'.repeat(1_200) } },
      });
    }
    const gzipped = await raw('GET', '/api/v1/namespaces/default/pods', { 'Accept-Encoding': 'gzip' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    const list = JSON.parse(gunzipSync(gzipped.bytes).toString()) as { items: unknown[] };
    expect(list.items).toHaveLength(120);
    const plain = await raw('GET', '/api/v1/namespaces/default/pods', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.bytes.length).toBeGreaterThan(128 * 1024);
    const small = await raw('GET', '/api/v1/namespaces/default/pods/big-0', { 'Accept-Encoding': 'gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('dryRun=All', () => {
  it('answers updates, patches and deletes as they would be, and stores nothing', async () => {
    await start();
    cluster.createPod(podManifest('dry'));
    const stored = cluster.getPod('default', 'dry');
    const version = cluster.resourceVersion();
    const patched = await sendJson(
      server.url,
      'PATCH',
      '/api/v1/namespaces/default/pods/dry?dryRun=All',
      { metadata: { labels: { patched: 'yes' } } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(200);
    expect(patched.json().metadata).toMatchObject({
      labels: { patched: 'yes' },
      resourceVersion: stored?.metadata?.resourceVersion,
    });
    const updated = await sendJson(server.url, 'PUT', '/api/v1/namespaces/default/pods/dry?dryRun=All', {
      ...stored,
      metadata: { ...stored?.metadata, labels: { updated: 'yes' } },
    });
    expect(updated.json().metadata).toMatchObject({ labels: { updated: 'yes' } });
    const deleted = await send(server.url, 'DELETE', '/api/v1/namespaces/default/pods/dry?dryRun=All');
    expect(deleted.status).toBe(200);
    expect(cluster.getPod('default', 'dry')).toEqual(stored);
    expect(cluster.resourceVersion()).toBe(version);
    // The storage checks still apply: a taken name is 409.
    const taken = await sendJson(
      server.url,
      'POST',
      '/api/v1/namespaces/default/pods?dryRun=All',
      podManifest('dry'),
    );
    expect(taken.status).toBe(409);
  });
});

describe('fieldValidation', () => {
  const typo = () => ({
    ...podManifest('typo'),
    spec: { containers: [{ name: 'main', image: 'busybox', imagePullPolicey: 'Always' }] },
  });

  it('Strict is 400 BadRequest naming the field; Warn drops it with a Warning header; Ignore drops it silently', async () => {
    await start();
    const strict = await sendJson(
      server.url,
      'POST',
      '/api/v1/namespaces/default/pods?fieldValidation=Strict',
      typo(),
    );
    expect(strict.status).toBe(400);
    expect(strict.json().message).toBe(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolicey"',
    );
    const warned = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', typo());
    expect(warned.status).toBe(201);
    expect(warned.headers.warning).toBe('299 - "unknown field \\"spec.containers[0].imagePullPolicey\\""');
    expect(JSON.stringify(cluster.getPod('default', 'typo'))).not.toContain('imagePullPolicey');
    const ignored = await sendJson(
      server.url,
      'PATCH',
      '/api/v1/namespaces/default/pods/typo?fieldValidation=Ignore',
      { metadata: { labelz: { a: 'b' } } },
      'application/merge-patch+json',
    );
    expect(ignored.status).toBe(200);
    expect(ignored.headers.warning).toBeUndefined();
    expect(JSON.stringify(cluster.getPod('default', 'typo'))).not.toContain('labelz');
    const bad = await sendJson(
      server.url,
      'POST',
      '/api/v1/namespaces/default/pods?fieldValidation=Loose',
      podManifest('x'),
    );
    expect(bad.status).toBe(400);
    expect(bad.json().message).toContain('fieldValidation: Unsupported value: "Loose"');
  });
});

describe('server-side apply', () => {
  function apply(name: string, body: object, query = 'fieldManager=tester') {
    return send(server.url, 'PATCH', `/api/v1/namespaces/default/pods/${name}?${query}`, {
      body: stringifyYaml(body),
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
    });
  }

  it('removes what a manager stops applying unless another owns it, and leaves status alone', async () => {
    await start();
    const config = {
      ...podManifest('ssa'),
      metadata: { name: 'ssa', labels: { keep: 'a', drop: 'b' } },
      status: { phase: 'Succeeded' },
    };
    expect((await apply('ssa', config)).status).toBe(201);
    expect(cluster.getPod('default', 'ssa')?.status?.phase).toBe('Pending');
    // Another manager takes `keep` by a merge patch (an Update), so it stays when tester drops both.
    await sendJson(
      server.url,
      'PATCH',
      '/api/v1/namespaces/default/pods/ssa?fieldManager=editor',
      { metadata: { labels: { keep: 'edited' } } },
      'application/merge-patch+json',
    );
    const second = await apply('ssa', { ...config, metadata: { name: 'ssa' } });
    expect(second.status).toBe(200);
    const pod = cluster.getPod('default', 'ssa');
    expect(pod?.metadata?.labels).toEqual({ keep: 'edited' });
    expect(pod?.metadata?.managedFields?.map((entry) => [entry.manager, entry.operation])).toEqual([
      ['tester', 'Apply'],
      ['editor', 'Update'],
    ]);
  });

  it('names every conflicting field and manager in the 409, and needs a fieldManager (422)', async () => {
    await start();
    await apply(
      'ssa',
      { ...podManifest('ssa'), metadata: { name: 'ssa', labels: { a: '1', b: '2' } } },
      'fieldManager=first',
    );
    const conflict = await apply(
      'ssa',
      { ...podManifest('ssa'), metadata: { name: 'ssa', labels: { a: 'x', b: 'y' } } },
      'fieldManager=second',
    );
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({
      reason: 'Conflict',
      message:
        'Apply failed with 2 conflicts: conflicts with "first" using v1:\n- .metadata.labels.a\n- .metadata.labels.b',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "first" using v1',
            field: '.metadata.labels.a',
          },
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "first" using v1',
            field: '.metadata.labels.b',
          },
        ],
      },
    });
    // The same values are no conflict: both managers own them.
    expect(
      (
        await apply(
          'ssa',
          { ...podManifest('ssa'), metadata: { name: 'ssa', labels: { a: '1' } } },
          'fieldManager=second',
        )
      ).status,
    ).toBe(200);
    const anonymous = await apply('ssa', podManifest('ssa'), '');
    expect(anonymous.status).toBe(422);
    expect(anonymous.json().message).toContain('fieldManager: Required value: is required for apply patch');
  });

  it('records the creator of a plain create as an Update manager, named after the User-Agent', async () => {
    await start();
    await send(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      body: JSON.stringify(podManifest('made')),
      headers: { 'User-Agent': 'my-operator/1.2 (linux)' },
    });
    expect(cluster.getPod('default', 'made')?.metadata?.managedFields).toEqual([
      expect.objectContaining({ manager: 'my-operator', operation: 'Update', apiVersion: 'v1' }),
    ]);
  });
});

describe('events.k8s.io/v1 and authorization.k8s.io/v1', () => {
  it('serves the core events converted, and stores events created through it as core events', async () => {
    await start();
    cluster.createPod(podManifest('noisy'));
    const created = await sendJson(server.url, 'POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'noisy.1' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'example.com/ctl',
      reportingInstance: 'ctl-1',
      action: 'Checked',
      reason: 'Checked',
      note: 'all good',
      type: 'Normal',
      regarding: { kind: 'Pod', namespace: 'default', name: 'noisy' },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'all good' });
    expect(cluster.getEvent('default', 'noisy.1')).toMatchObject({
      apiVersion: 'v1',
      message: 'all good',
      reportingComponent: 'example.com/ctl',
      involvedObject: { name: 'noisy' },
    });
    const list = (await send(server.url, 'GET', '/apis/events.k8s.io/v1/events')).json();
    expect(list).toMatchObject({
      kind: 'EventList',
      apiVersion: 'events.k8s.io/v1',
      items: [{ note: 'all good' }],
    });
    const discovery = (await send(server.url, 'GET', '/apis/events.k8s.io/v1')).json();
    expect(discovery).toMatchObject({
      groupVersion: 'events.k8s.io/v1',
      resources: [{ name: 'events', kind: 'Event' }],
    });
  });

  it('allows every self access review', async () => {
    await start();
    const review = await sendJson(
      server.url,
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } },
      },
    );
    expect(review.status).toBe(201);
    expect(review.json()).toMatchObject({
      status: { allowed: true },
      spec: { resourceAttributes: { verb: 'delete' } },
    });
  });
});

describe('HTTP/2', () => {
  it('speaks h2 by ALPN to undici, watches included, and HTTP/1.1 to clients that offer only that', async () => {
    const versions: unknown[] = [];
    const logger = {
      debug: (fields: { http?: unknown }) => versions.push(fields.http),
      info() {},
      warn() {},
      error() {},
    };
    await start({ tls: true, logger: logger as never });
    cluster.createPod(podManifest('h2'));
    const agent = new Agent({ allowH2: true, connect: { ca: server.ca } });
    try {
      const got = await request(`${server.url}/api/v1/namespaces/default/pods/h2`, { dispatcher: agent });
      expect(((await got.body.json()) as { metadata: { name: string } }).metadata.name).toBe('h2');
      const controller = new AbortController();
      const watch = await request(`${server.url}/api/v1/namespaces/default/pods?watch=true`, {
        dispatcher: agent,
        signal: controller.signal,
      });
      let text = '';
      const reading = (async () => {
        try {
          for await (const chunk of watch.body) text += Buffer.from(chunk).toString();
        } catch {
          // aborted
        }
      })();
      await waitFor(() => text.includes('"ADDED"'), 'the ADDED event over h2');
      controller.abort();
      await reading;
      // node:https offers only HTTP/1.1.
      const http1 = await send(server.url, 'GET', '/api/v1/namespaces/default/pods/h2', {
        ca: server.ca ?? '',
      });
      expect(http1.status).toBe(200);
      expect(versions).toEqual(['2.0', '2.0', '1.1']);
    } finally {
      await agent.close();
    }
  });

  it('still upgrades WebSocket watches over HTTP/1.1 on the TLS server', async () => {
    await start({ tls: true });
    cluster.createPod(podManifest('ws'));
    const { WebSocket } = await import('ws');
    const target = `${server.url.replace('https:', 'wss:')}/api/v1/namespaces/default/pods?watch=true`;
    const socket = new WebSocket(target, { ca: server.ca });
    const messages: string[] = [];
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    await waitFor(() => messages.length === 1, 'the ADDED event over wss');
    expect(JSON.parse(messages[0] ?? '{}')).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'ws' } },
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await closed;
  });
});
