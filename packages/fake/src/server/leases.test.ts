// coordination.k8s.io/v1 leases over the wire, as kube-apiserver v1.32 serves them: discovery
// (/apis lists the group, /apis/coordination.k8s.io/v1 the namespaced `leases` resource), get and list
// in a namespace and across all, watches; the fake's leases are the kubelets' (pkg/kubelet/nodelease)
// and read-only here, so other verbs are 405. The printer is pkg/printers/internalversion printLease.
import { describe, expect, it } from 'vitest';
import { openHttpWatch, send, sendJson, startServer, waitFor } from './server-test-support.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

describe('leases over the API server', () => {
  it('discovery, get, list, the Table, and the read-only verbs', async () => {
    const { cluster, server } = await startServer({ mode: 'simulated' });
    const group = (await send(server.url, 'GET', '/apis/coordination.k8s.io/v1')).json();
    expect(group).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'coordination.k8s.io/v1',
      resources: [{ name: 'leases', namespaced: true, kind: 'Lease', verbs: ['get', 'list', 'watch'] }],
    });
    const list = (await send(server.url, 'GET', LEASES)).json();
    expect(list).toMatchObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'LeaseList' });
    expect(list.items?.map((item) => (item.metadata as { name?: string }).name)).toEqual(['fake-node-1']);
    const all = (await send(server.url, 'GET', '/apis/coordination.k8s.io/v1/leases')).json();
    expect(all.items).toHaveLength(1);
    const lease = (await send(server.url, 'GET', `${LEASES}/fake-node-1`)).json();
    expect(lease).toMatchObject({ kind: 'Lease', spec: { holderIdentity: 'fake-node-1' } });
    const missing = await send(server.url, 'GET', `${LEASES}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({
      reason: 'NotFound',
      message: 'leases.coordination.k8s.io "nope" not found',
      details: { name: 'nope', group: 'coordination.k8s.io', kind: 'leases' },
    });
    await cluster.clock.advance(125_000);
    const table = (
      await send(server.url, 'GET', LEASES, { headers: { Accept: TABLE } })
    ).json() as unknown as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(table.columnDefinitions.map((column) => column.name)).toEqual(['Name', 'Holder', 'Age']);
    expect(table.rows.map((row) => row.cells)).toEqual([['fake-node-1', 'fake-node-1', '2m5s']]);
    const before = cluster.resourceVersion();
    for (const [method, path] of [
      ['POST', LEASES],
      ['PUT', `${LEASES}/fake-node-1`],
      ['PATCH', `${LEASES}/fake-node-1`],
      ['DELETE', `${LEASES}/fake-node-1`],
    ] as const) {
      const refused = await sendJson(server.url, method, path, { metadata: { name: 'fake-node-1' } });
      expect(refused.status, `${method} ${path}`).toBe(405);
      expect(refused.json().reason).toBe('MethodNotAllowed');
    }
    expect(cluster.resourceVersion()).toBe(before);
  });

  it('a watch sees each renewal; one that offers protobuf is answered in JSON', async () => {
    const { cluster, server } = await startServer({ mode: 'simulated' });
    const from = cluster.resourceVersion();
    const watch = await openHttpWatch(server.url, `${LEASES}?watch=true&resourceVersion=${from}`, {
      Accept: 'application/vnd.kubernetes.protobuf;stream=watch, application/json',
    });
    expect(watch.status).toBe(200);
    expect(watch.headers['content-type']).toBe('application/json');
    await cluster.clock.advance(20_000);
    await waitFor(() => watch.events.length >= 2, 'two renewals');
    expect(watch.events.map((event) => event.type)).toEqual(['MODIFIED', 'MODIFIED']);
    expect(
      watch.events.map((event) => (event.object.spec as { renewTime?: string } | undefined)?.renewTime),
    ).toEqual(['2026-01-01T00:00:10.000000Z', '2026-01-01T00:00:20.000000Z']);
    watch.close();
    await waitFor(() => cluster.stats().activeWatches === 0, 'the watch to close');
  });
});
