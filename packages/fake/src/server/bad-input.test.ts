import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import { SeededRandom } from '../names.js';
import type { FakeClusterServer } from './serve.js';
import {
  openHttpWatch,
  podManifest,
  type RawResponse,
  send,
  sendJson,
  startServer,
  waitFor,
} from './server-test-support.js';

let cluster: FakeCluster;
let server: FakeClusterServer;

/** Everything a client could observe of the store. */
function storeState(): string {
  return JSON.stringify([
    cluster.resourceVersion(),
    cluster.listPods(undefined).items,
    cluster.listEvents(undefined).items,
    cluster.listNamespaces(),
  ]);
}

function expectStatus(response: RawResponse, code: number, reason: string): void {
  expect(response.status).toBe(code);
  expect(response.headers['content-type']).toBe('application/json');
  expect(response.json()).toMatchObject({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason,
  });
}

describe('bad input gets the right Status and changes nothing', () => {
  it('malformed JSON is 400 BadRequest', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('web'));
    const before = storeState();
    expectStatus(
      await send(server.url, 'POST', '/api/v1/namespaces/default/pods', { body: '{"metadata": {' }),
      400,
      'BadRequest',
    );
    expectStatus(
      await send(server.url, 'PUT', '/api/v1/namespaces/default/pods/web', { body: 'null' }),
      400,
      'BadRequest',
    );
    expectStatus(
      await send(server.url, 'PATCH', '/api/v1/namespaces/default/pods/web', {
        body: '{not json',
        headers: { 'Content-Type': 'application/merge-patch+json' },
      }),
      400,
      'BadRequest',
    );
    expectStatus(
      await send(server.url, 'PATCH', '/api/v1/namespaces/default/pods/web', {
        body: '{"op":"add"}',
        headers: { 'Content-Type': 'application/json-patch+json' },
      }),
      400,
      'BadRequest',
    );
    expect(storeState()).toBe(before);
  });

  it('unsupported content types are 415, server-side apply included', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('web'));
    const before = storeState();
    const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\n';
    for (const type of ['application/yaml', 'text/plain', 'application/vnd.kubernetes.protobuf']) {
      expectStatus(
        await send(server.url, 'POST', '/api/v1/namespaces/default/pods', {
          body: yaml,
          headers: { 'Content-Type': type },
        }),
        415,
        'UnsupportedMediaType',
      );
    }
    expectStatus(
      await send(server.url, 'PATCH', '/api/v1/namespaces/default/pods/web', {
        body: yaml,
        headers: { 'Content-Type': 'application/apply-patch+yaml' },
      }),
      415,
      'UnsupportedMediaType',
    );
    expectStatus(
      await send(server.url, 'PATCH', '/api/v1/namespaces/default/pods/web', {
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
      }),
      415,
      'UnsupportedMediaType',
    );
    expect(storeState()).toBe(before);
  });

  it('a body over the cap is 413 (default 3 MiB, as the apiserver), and the server keeps serving', async () => {
    ({ cluster, server } = await startServer());
    const before = storeState();
    const big = JSON.stringify({
      ...podManifest('big'),
      metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } },
    });
    expectStatus(
      await send(server.url, 'POST', '/api/v1/namespaces/default/pods', { body: big }),
      413,
      'RequestEntityTooLarge',
    );
    expect(storeState()).toBe(before);
    expect((await send(server.url, 'GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
  });

  it('invalid names are 422 Invalid with causes naming the field', async () => {
    ({ cluster, server } = await startServer());
    const before = storeState();
    const response = await sendJson(
      server.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      podManifest('Bad_Name'),
    );
    expectStatus(response, 422, 'Invalid');
    expect(response.json().details).toMatchObject({
      name: 'Bad_Name',
      kind: 'Pod',
      causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }],
    });
    const namespace = await sendJson(server.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'a.b' } });
    expectStatus(namespace, 422, 'Invalid');
    const shape = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'ok', labels: { a: 1 } },
      spec: { containers: 'nope' },
    });
    expectStatus(shape, 422, 'Invalid');
    expect(((shape.json().details?.causes ?? []) as { field: string }[]).map((cause) => cause.field)).toEqual(
      ['metadata.labels', 'spec.containers'],
    );
    expect(storeState()).toBe(before);
  });

  it('unknown paths are 404 and unsupported verbs 405, each as a Status', async () => {
    ({ cluster, server } = await startServer());
    cluster.createPod(podManifest('web'));
    const before = storeState();
    for (const path of [
      '/api/v2',
      '/apis/apps/v1/namespaces/default/deployments',
      '/api/v1/services',
      '/api/v1/namespaces/default/pods/web/logs',
      '/api/v1/namespaces/default/pods/%zz',
      '/api/v1/namespaces/default/pods/a%2Fb',
    ]) {
      expectStatus(await send(server.url, 'GET', path), 404, 'NotFound');
    }
    for (const [method, path] of [
      // deletecollection is served per namespace, not across all of them.
      ['DELETE', '/api/v1/pods'],
      ['POST', '/api/v1/pods'],
      ['PUT', '/api/v1/namespaces/default'],
      ['DELETE', '/api/v1/namespaces/default/pods/web/status'],
      ['POST', '/version'],
    ] as const) {
      expectStatus(await send(server.url, method, path, { body: '{}' }), 405, 'MethodNotAllowed');
    }
    expect(storeState()).toBe(before);
  });

  it('dryRun is refused with 400 rather than applied', async () => {
    ({ cluster, server } = await startServer());
    const before = storeState();
    expectStatus(
      await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods?dryRun=All', podManifest('dry')),
      400,
      'BadRequest',
    );
    expect(storeState()).toBe(before);
  });

  it('a body for the wrong kind or namespace is 400 BadRequest', async () => {
    ({ cluster, server } = await startServer({ namespaces: ['default', 'other'] }));
    const before = storeState();
    expectStatus(
      await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
        kind: 'Event',
        metadata: { name: 'x' },
      }),
      400,
      'BadRequest',
    );
    expectStatus(
      await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
        ...podManifest('x'),
        metadata: { name: 'x', namespace: 'other' },
      }),
      400,
      'BadRequest',
    );
    expect(storeState()).toBe(before);
  });
});

describe('fuzz', () => {
  it('keeps serving and keeps the store consistent under 500 random requests and random bytes', async () => {
    ({ cluster, server } = await startServer({ namespaces: ['default', 'other'], historySize: 50 }));
    const random = new SeededRandom(20_260_101);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random.next() * values.length)] as T;
    const names = ['a', 'b', 'c', 'web', 'job-1', 'Bad_Name', '', 'x'.repeat(300), 'a%2Fb', '..'];
    const namespaces = ['default', 'other', 'missing', 'Bad'];
    const junk = () =>
      Buffer.from(
        Array.from({ length: Math.floor(random.next() * 64) }, () => Math.floor(random.next() * 256)),
      );
    const value = (depth = 0): unknown => {
      const choice = Math.floor(random.next() * (depth > 2 ? 5 : 7));
      if (choice === 0) return null;
      if (choice === 1) return random.next() > 0.5;
      if (choice === 2) return Math.floor(random.next() * 100) - 10;
      if (choice === 3) return pick(names);
      if (choice === 4) return pick(['Running', 'Succeeded', 'Bogus', 'Pending']);
      if (choice === 5) return Array.from({ length: Math.floor(random.next() * 3) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random.next() * 4) }, () => [
          pick([
            'metadata',
            'spec',
            'status',
            'name',
            'labels',
            'containers',
            'phase',
            'finalizers',
            'count',
            '$patch',
          ]),
          value(depth + 1),
        ]),
      );
    };
    const contentTypes = [
      'application/json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/json-patch+json',
      'application/apply-patch+yaml',
      'text/plain',
    ];
    const validNames = ['a', 'b', 'c', 'web', 'job-1'];
    const path = (method: string): string => {
      const valid = random.next() < 0.8;
      const resource = valid
        ? pick(['pods', 'pods', 'events'])
        : pick(['pods', 'events', 'namespaces', 'services']);
      const namespace = encodeURIComponent(valid ? pick(['default', 'other']) : pick(namespaces));
      const name = encodeURIComponent(valid ? pick(validNames) : pick(names));
      const query = pick([
        '',
        '',
        '?limit=1',
        '?limit=-1',
        '?fieldSelector=status.phase%3DRunning',
        '?labelSelector=k%20in%20(a',
        '?resourceVersion=1&resourceVersionMatch=Exact',
        '?continue=garbage',
        '?gracePeriodSeconds=0',
        '?watch=true&timeoutSeconds=1',
      ]);
      if (valid && method === 'POST') return `/api/v1/namespaces/${namespace}/${resource}`;
      if (valid && method !== 'GET') {
        return random.next() < 0.2 && resource === 'pods'
          ? `/api/v1/namespaces/${namespace}/pods/${name}/status`
          : `/api/v1/namespaces/${namespace}/${resource}/${name}${query}`;
      }
      return pick([
        `/api/v1/namespaces/${namespace}/${resource}${query}`,
        `/api/v1/namespaces/${namespace}/${resource}/${name}${query}`,
        `/api/v1/namespaces/${namespace}/pods/${name}/status`,
        `/api/v1/${resource}${query}`,
        `/api/v1/namespaces/${name}`,
        `/${encodeURIComponent(pick(names))}/%${pick(['zz', '41', ''])}`,
      ]);
    };
    const body = (method: string): string | Buffer => {
      if (random.next() < 0.1) return junk();
      if (random.next() < 0.15) return JSON.stringify(value());
      if (method === 'POST' || method === 'PUT') {
        const name = random.next() < 0.9 ? pick(validNames) : pick(names);
        const manifest = podManifest(name, { labels: { k: pick(validNames) } });
        if (random.next() < 0.3) {
          return JSON.stringify({
            metadata: { name: random.next() < 0.5 ? name : undefined, generateName: 'gen-' },
            involvedObject: { kind: 'Pod', name, namespace: 'default' },
            reason: 'Fuzz',
            message: pick(validNames),
          });
        }
        if (random.next() < 0.2)
          (manifest.metadata as Record<string, unknown>).finalizers = ['example.com/f'];
        return JSON.stringify(manifest);
      }
      if (method === 'PATCH' && random.next() < 0.4) {
        return JSON.stringify([
          {
            op: pick(['add', 'remove', 'replace', 'test']),
            path: pick(['/metadata/labels', '/spec', '/status/phase', '/metadata/finalizers', '']),
            value: value(),
          },
        ]);
      }
      return JSON.stringify({
        metadata: { labels: { k: pick(validNames) }, ...(random.next() < 0.3 ? { finalizers: null } : {}) },
        status: { phase: pick(['Running', 'Failed', 'Succeeded']) },
      });
    };
    const contentTypeFor = (method: string): string => {
      if (random.next() < 0.1) return pick(contentTypes);
      if (method === 'PATCH') return pick(contentTypes.slice(1, 4));
      return 'application/json';
    };
    // A watch from the start sees every change: resourceVersions must only grow.
    const watch = await openHttpWatch(
      server.url,
      '/api/v1/pods?watch=true&resourceVersion=1&timeoutSeconds=3600',
    );
    let lastVersion = Number(cluster.resourceVersion());
    const codes = new Map<number, number>();
    for (let index = 0; index < 500; index++) {
      if (index % 25 === 0) {
        // Random bytes straight onto a socket: the server must shrug them off.
        await new Promise<void>((resolve) => {
          const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => {
            socket.end(junk());
          });
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.resume();
        });
      }
      const method = pick(['GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
      const withBody = method !== 'GET' && random.next() > 0.1;
      const target = path(method);
      let settled = false;
      const pending = send(server.url, method, target, {
        ...(withBody ? { body: body(method), headers: { 'Content-Type': contentTypeFor(method) } } : {}),
      }).finally(() => {
        settled = true;
      });
      // A watch that was accepted ends at its timeoutSeconds, on the cluster clock.
      for (let turn = 0; turn < 3 && target.includes('watch=true'); turn++) {
        await waitFor(() => settled || cluster.stats().activeWatches > 1, 'the watch to open or be refused');
        if (settled) break;
        await cluster.clock.advance(1_000);
      }
      const response = await pending;
      codes.set(response.status, (codes.get(response.status) ?? 0) + 1);
      expect(response.status).toBeGreaterThanOrEqual(200);
      expect(response.status, `${method} ${target} -> ${response.text}`).toBeLessThan(500);
      if (response.headers['content-type'] === 'application/json' && !target.includes('watch=true')) {
        const parsed = response.json();
        if (response.status >= 400) expect(parsed).toMatchObject({ kind: 'Status', code: response.status });
      }
      const version = Number(cluster.resourceVersion());
      expect(version).toBeGreaterThanOrEqual(lastVersion);
      lastVersion = version;
      if (index % 50 === 0) await cluster.clock.advance(1_000);
    }
    expect((await send(server.url, 'GET', '/version')).status).toBe(200);
    // Every pod and event is listable and gettable, whole, with the version the list shows.
    for (const resource of ['pods', 'events'] as const) {
      const list = (await send(server.url, 'GET', `/api/v1/${resource}`)).json();
      const expected =
        resource === 'pods' ? cluster.listPods(undefined).items : cluster.listEvents(undefined).items;
      expect(list.items?.length).toBe(expected.length);
      for (const item of list.items ?? []) {
        const metadata = item.metadata as Record<string, string>;
        expect(metadata.uid).toBeTruthy();
        expect(metadata.creationTimestamp).toBeTruthy();
        expect(Number(metadata.resourceVersion)).toBeLessThanOrEqual(lastVersion);
        if (resource === 'pods')
          expect(Array.isArray((item.spec as { containers: unknown }).containers)).toBe(true);
        const got = await send(
          server.url,
          'GET',
          `/api/v1/namespaces/${metadata.namespace}/${resource}/${metadata.name}`,
        );
        expect(got.status).toBe(200);
        expect(got.json()).toEqual(item);
      }
    }
    await waitFor(() => watch.events.length > 0 || Number(cluster.resourceVersion()) === 2, 'watch events');
    const versions = watch.events
      .filter((event) => event.type !== 'ERROR')
      .map((event) => Number(event.object.metadata?.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(codes.get(200) ?? 0).toBeGreaterThan(0);
    expect(codes.get(201) ?? 0).toBeGreaterThan(0);
    watch.close();
    // 500 round trips: about half a second on an idle machine, many times that on a loaded one.
  }, 180_000);
});
