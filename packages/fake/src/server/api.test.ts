import { describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import type { FakeClusterServer } from './serve.js';
import { podManifest, send, sendJson, startServer } from './server-test-support.js';

let cluster: FakeCluster;
let server: FakeClusterServer;

async function start(options: Parameters<typeof startServer>[0] = {}) {
  ({ cluster, server } = await startServer(options));
}

describe('discovery', () => {
  it('answers /version, /api, /api/v1 and /apis as a v1.32 apiserver', async () => {
    await start();
    const version = (await send(server.url, 'GET', '/version')).json();
    expect(version).toMatchObject({ major: '1', minor: '32' });
    const api = (await send(server.url, 'GET', '/api')).json();
    expect(api).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const resources = (await send(server.url, 'GET', '/api/v1')).json() as { resources: { name: string }[] };
    expect(resources.resources.map((resource) => resource.name)).toEqual([
      'events',
      'namespaces',
      'nodes',
      'pods',
      'pods/binding',
      'pods/eviction',
      'pods/log',
      'pods/status',
    ]);
    const groups = (await send(server.url, 'GET', '/apis')).json() as { groups: { name: string }[] };
    expect(groups.groups.map((group) => group.name)).toEqual([
      'events.k8s.io',
      'authorization.k8s.io',
      'coordination.k8s.io',
    ]);
  });

  it('tells kubectl through OpenAPI v3 that pods are validated on the server', async () => {
    await start();
    const root = (await send(server.url, 'GET', '/openapi/v3')).json() as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const document = (
      await send(server.url, 'GET', root.paths['api/v1']?.serverRelativeURL ?? '')
    ).json() as {
      paths: Record<string, { patch: { parameters: { name: string }[] } }>;
    };
    const patch = document.paths['/api/v1/namespaces/{namespace}/pods/{name}']?.patch;
    expect(patch?.parameters.map((parameter) => parameter.name)).toContain('fieldValidation');
    expect((await send(server.url, 'GET', '/openapi/v2')).json()).toMatchObject({ swagger: '2.0' });
  });
});

describe('pods', () => {
  it('creates with generateName, uid, creationTimestamp and resourceVersion; a duplicate is 409 AlreadyExists', async () => {
    await start();
    const created = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { generateName: 'job-' },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
    });
    expect(created.status).toBe(201);
    const pod = created.json() as { metadata: Record<string, string> };
    expect(pod.metadata.name).toMatch(/^job-[a-z0-9]{5}$/);
    expect(pod.metadata.uid).toBeTruthy();
    expect(pod.metadata.creationTimestamp).toBe('2026-01-01T00:00:00Z');
    expect(pod.metadata.resourceVersion).toBe(cluster.resourceVersion());

    await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', podManifest('web'));
    const duplicate = await sendJson(
      server.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      podManifest('web'),
    );
    expect(duplicate.status).toBe(409);
    expect(duplicate.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'AlreadyExists',
      code: 409,
      message: 'pods "web" already exists',
      details: { name: 'web', kind: 'pods' },
    });
  });

  it('gets a pod, and answers 404 NotFound for an absent one', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    const got = await send(server.url, 'GET', '/api/v1/namespaces/default/pods/web');
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.json()).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web' } });
    const absent = await send(server.url, 'GET', '/api/v1/namespaces/default/pods/nope');
    expect(absent.status).toBe(404);
    expect(absent.json()).toMatchObject({ reason: 'NotFound', message: 'pods "nope" not found', code: 404 });
  });

  it('lists with field and label selectors from the query string, URL-decoded', async () => {
    await start({ namespaces: ['default', 'other'] });
    cluster.createPod(podManifest('a', { labels: { app: 'web', tier: 'front' } }));
    cluster.createPod(podManifest('b', { labels: { app: 'web', tier: 'back' } }));
    cluster.createPod({ ...podManifest('c'), metadata: { name: 'c', namespace: 'other' } });
    cluster.setPodPhase('default', 'b', 'Running');
    const names = async (path: string) =>
      ((await send(server.url, 'GET', path)).json().items ?? []).map(
        (item) => (item.metadata as { name: string }).name,
      );
    expect(await names('/api/v1/namespaces/default/pods')).toEqual(['a', 'b']);
    expect(await names('/api/v1/pods')).toEqual(['a', 'b', 'c']);
    expect(await names(`/api/v1/pods?fieldSelector=${encodeURIComponent('status.phase=Running')}`)).toEqual([
      'b',
    ]);
    expect(
      await names(
        `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent('tier in (front),app=web')}`,
      ),
    ).toEqual(['a']);
    expect(
      await names(`/api/v1/pods?fieldSelector=${encodeURIComponent('metadata.namespace!=default')}`),
    ).toEqual(['c']);
    const bad = await send(server.url, 'GET', '/api/v1/pods?fieldSelector=spec.image%3Dx');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ reason: 'BadRequest' });
  });

  it('pages with limit and continue, and answers 410 Expired for a continue token older than the history', async () => {
    await start();
    for (const name of ['a', 'b', 'c']) cluster.createPod(podManifest(name));
    const first = (await send(server.url, 'GET', '/api/v1/namespaces/default/pods?limit=2')).json();
    expect(first.items?.length).toBe(2);
    const token = first.metadata?.continue as string;
    expect(first.metadata?.remainingItemCount).toBe(1);
    const second = (
      await send(
        server.url,
        'GET',
        `/api/v1/namespaces/default/pods?limit=2&continue=${encodeURIComponent(token)}`,
      )
    ).json();
    expect(second.items?.map((item) => (item.metadata as { name: string }).name)).toEqual(['c']);
    cluster.createPod(podManifest('d'));
    cluster.faults.compact();
    const expired = await send(
      server.url,
      'GET',
      `/api/v1/namespaces/default/pods?limit=2&continue=${encodeURIComponent(token)}`,
    );
    expect(expired.status).toBe(410);
    expect(expired.json()).toMatchObject({ reason: 'Expired', code: 410 });
  });

  it('honours resourceVersion with resourceVersionMatch=Exact, and 410 once that version is gone', async () => {
    await start();
    cluster.createPod(podManifest('a'));
    const version = cluster.resourceVersion();
    cluster.createPod(podManifest('b'));
    const exact = (
      await send(
        server.url,
        'GET',
        `/api/v1/namespaces/default/pods?resourceVersion=${version}&resourceVersionMatch=Exact`,
      )
    ).json();
    expect(exact.items?.map((item) => (item.metadata as { name: string }).name)).toEqual(['a']);
    expect(exact.metadata?.resourceVersion).toBe(version);
    cluster.faults.compact();
    const gone = await send(
      server.url,
      'GET',
      `/api/v1/namespaces/default/pods?resourceVersion=${version}&resourceVersionMatch=Exact`,
    );
    expect(gone.status).toBe(410);
    const invalidMatch = await send(
      server.url,
      'GET',
      '/api/v1/namespaces/default/pods?resourceVersionMatch=Exact',
    );
    expect(invalidMatch.status).toBe(422);
  });

  it('updates with optimistic concurrency: a stale resourceVersion is 409 Conflict', async () => {
    await start();
    const pod = cluster.createPod(podManifest('web'));
    const updated = await sendJson(server.url, 'PUT', '/api/v1/namespaces/default/pods/web', {
      ...pod,
      metadata: { ...pod.metadata, labels: { app: 'web' } },
    });
    expect(updated.status).toBe(200);
    expect(updated.json()).toMatchObject({ metadata: { labels: { app: 'web' } } });
    const stale = await sendJson(server.url, 'PUT', '/api/v1/namespaces/default/pods/web', pod);
    expect(stale.status).toBe(409);
    expect(stale.json()).toMatchObject({ reason: 'Conflict' });
    const renamed = await sendJson(server.url, 'PUT', '/api/v1/namespaces/default/pods/web', {
      ...pod,
      metadata: { name: 'other' },
    });
    expect(renamed.status).toBe(400);
  });

  it('patches with merge, strategic merge (containers by name) and JSON patch', async () => {
    await start();
    cluster.createPod({
      metadata: { name: 'web', labels: { app: 'web', drop: 'me' } },
      spec: {
        containers: [
          { name: 'main', image: 'busybox' },
          { name: 'side', image: 'envoy' },
        ],
      },
    });
    const path = '/api/v1/namespaces/default/pods/web';
    const merged = await sendJson(
      server.url,
      'PATCH',
      path,
      { metadata: { labels: { drop: null, tier: 'front' } } },
      'application/merge-patch+json',
    );
    expect(merged.status).toBe(200);
    expect(merged.json().metadata?.labels).toEqual({ app: 'web', tier: 'front' });

    const strategic = await sendJson(
      server.url,
      'PATCH',
      path,
      { spec: { containers: [{ name: 'side', image: 'envoy:2' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.status).toBe(200);
    expect((strategic.json().spec as { containers: unknown[] }).containers).toMatchObject([
      { name: 'main', image: 'busybox' },
      // The policy was defaulted from the untagged image at create; an image update keeps it.
      { name: 'side', image: 'envoy:2', imagePullPolicy: 'Always' },
    ]);
    // Removing a container is a change of an immutable pod field (ValidatePodUpdate): 422, nothing stored.
    const before = cluster.resourceVersion();
    const deleted = await sendJson(
      server.url,
      'PATCH',
      path,
      { spec: { containers: [{ name: 'side', $patch: 'delete' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(deleted.status).toBe(422);
    expect(deleted.json().message).toMatch(
      /^Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/,
    );
    expect(cluster.resourceVersion()).toBe(before);

    const json = await sendJson(
      server.url,
      'PATCH',
      path,
      [
        { op: 'test', path: '/metadata/labels/app', value: 'web' },
        { op: 'add', path: '/metadata/annotations', value: { note: 'x' } },
      ],
      'application/json-patch+json',
    );
    expect(json.status).toBe(200);
    expect(json.json().metadata?.annotations).toEqual({ note: 'x' });
    const version = cluster.resourceVersion();
    const failedTest = await sendJson(
      server.url,
      'PATCH',
      path,
      [{ op: 'test', path: '/metadata/labels/app', value: 'db' }],
      'application/json-patch+json',
    );
    expect(failedTest.status).toBe(422);
    expect(cluster.resourceVersion()).toBe(version);
  });

  it('serves the status subresource: get, put and merge patch change only the status', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    const path = '/api/v1/namespaces/default/pods/web/status';
    expect((await send(server.url, 'GET', path)).json()).toMatchObject({ status: { phase: 'Pending' } });
    const patched = await sendJson(
      server.url,
      'PATCH',
      path,
      { status: { phase: 'Running' }, metadata: { labels: { ignored: 'yes' } } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(200);
    expect(cluster.getPod('default', 'web')?.status?.phase).toBe('Running');
    expect(cluster.getPod('default', 'web')?.metadata?.labels).toBeUndefined();
    const pod = cluster.getPod('default', 'web');
    const put = await sendJson(server.url, 'PUT', path, {
      ...pod,
      status: { ...pod?.status, phase: 'Succeeded' },
    });
    expect(put.status).toBe(200);
    expect(cluster.getPod('default', 'web')?.status?.phase).toBe('Succeeded');
    // A plain update keeps the status, as the apiserver does.
    const current = cluster.getPod('default', 'web');
    await sendJson(server.url, 'PUT', '/api/v1/namespaces/default/pods/web', {
      ...current,
      status: { phase: 'Failed' },
    });
    expect(cluster.getPod('default', 'web')?.status?.phase).toBe('Succeeded');
  });

  it('deletes gracefully on the clock, at once with gracePeriodSeconds=0, with preconditions and finalizers', async () => {
    await start();
    const pod = cluster.createPod(podManifest('web'));
    cluster.setPodPhase('default', 'web', 'Running', {});
    cluster.updatePod({
      ...cluster.getPod('default', 'web'),
      spec: { containers: pod.spec?.containers ?? [], nodeName: 'fake-node-1' },
    });
    const conflict = await sendJson(server.url, 'DELETE', '/api/v1/namespaces/default/pods/web', {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { uid: 'someone-else' },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({ reason: 'Conflict' });

    const graceful = await send(
      server.url,
      'DELETE',
      '/api/v1/namespaces/default/pods/web?gracePeriodSeconds=10',
    );
    expect(graceful.status).toBe(200);
    expect(graceful.json()).toMatchObject({ kind: 'Pod', metadata: { deletionGracePeriodSeconds: 10 } });
    expect(cluster.getPod('default', 'web')?.metadata?.deletionTimestamp).toBeDefined();
    await cluster.clock.advance(10_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
    expect((await send(server.url, 'DELETE', '/api/v1/namespaces/default/pods/web')).status).toBe(404);

    cluster.createPod({
      ...podManifest('kept'),
      metadata: { name: 'kept', finalizers: ['example.com/keep'] },
    });
    const immediate = await sendJson(server.url, 'DELETE', '/api/v1/namespaces/default/pods/kept', {
      gracePeriodSeconds: 0,
      preconditions: { uid: cluster.getPod('default', 'kept')?.metadata?.uid },
    });
    expect(immediate.status).toBe(200);
    expect(cluster.getPod('default', 'kept')?.metadata?.deletionTimestamp).toBeDefined();
    await sendJson(
      server.url,
      'PATCH',
      '/api/v1/namespaces/default/pods/kept',
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    expect(cluster.getPod('default', 'kept')).toBeUndefined();
  });
});

describe('events and namespaces', () => {
  it('creates, gets, lists by involvedObject, patches and deletes core/v1 events', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    cluster.recordPodEvent({ namespace: 'default', name: 'web' }, { reason: 'Scheduled', message: 'hello' });
    const created = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/events', {
      metadata: { generateName: 'other.' },
      involvedObject: { kind: 'Pod', name: 'other', namespace: 'default' },
      reason: 'Custom',
      message: 'made by a client',
      type: 'Normal',
    });
    expect(created.status).toBe(201);
    const name = created.json().metadata?.name as string;
    const selected = (
      await send(
        server.url,
        'GET',
        `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.name=web')}`,
      )
    ).json();
    expect(selected.items?.map((item) => item.message)).toEqual(['hello']);
    const patched = await sendJson(
      server.url,
      'PATCH',
      `/api/v1/namespaces/default/events/${name}`,
      { count: 2 },
      'application/strategic-merge-patch+json',
    );
    expect(patched.json()).toMatchObject({ count: 2, message: 'made by a client' });
    expect((await send(server.url, 'GET', `/api/v1/namespaces/default/events/${name}`)).json()).toMatchObject(
      {
        count: 2,
      },
    );
    const deleted = await send(server.url, 'DELETE', `/api/v1/namespaces/default/events/${name}`);
    expect(deleted.json()).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name, kind: 'events' },
    });
    expect(cluster.getEvent('default', name)).toBeUndefined();
  });

  it('lists, gets and creates namespaces; pods in a missing namespace are 404', async () => {
    await start();
    const created = await sendJson(server.url, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
    });
    expect(created.status).toBe(201);
    const list = (await send(server.url, 'GET', '/api/v1/namespaces')).json();
    expect(list.kind).toBe('NamespaceList');
    expect(list.items?.map((item) => (item.metadata as { name: string }).name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'team-a',
    ]);
    expect((await send(server.url, 'GET', '/api/v1/namespaces/team-a')).json()).toMatchObject({
      kind: 'Namespace',
      status: { phase: 'Active' },
    });
    const missing = await sendJson(server.url, 'POST', '/api/v1/namespaces/nowhere/pods', podManifest('web'));
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ message: 'namespaces "nowhere" not found' });
  });
});
