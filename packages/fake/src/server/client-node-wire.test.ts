// @kubernetes/client-node against the fake's TLS server: HTTP/2 by ALPN (client-node 2.x offers h2, as it
// does to a real apiserver), gzip of large answers, a watch and a server-side apply.
import { describe, expect, it } from 'vitest';
import { podManifest, startServer, waitFor } from './server-test-support.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);
const supported = nodeMajor >= 23 || (nodeMajor === 22 && Number(process.versions.node.split('.')[1]) >= 19);
if (!supported) {
  console.warn(
    `\n*** Node ${process.versions.node} is too old for @kubernetes/client-node 2.x: SKIPPING its wire tests. ***\n`,
  );
}

describe.skipIf(!supported)('@kubernetes/client-node on the TLS server', () => {
  it('lists a large namespace gzipped, watches, and applies server-side', async () => {
    const lines: { http?: string; encoding?: string; path?: string; status?: number }[] = [];
    const logger = { debug: (fields: never) => lines.push(fields), info() {}, warn() {}, error() {} };
    const { cluster, server } = await startServer(
      {},
      { tls: true, token: 'secret', logger: logger as never },
    );
    for (let index = 0; index < 120; index++) {
      cluster.createPod({
        ...podManifest(`big-${index}`),
        metadata: { name: `big-${index}`, annotations: { filler: 'x'.repeat(1_200) } },
      });
    }
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    config.loadFromString(server.kubeconfig);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'default' });
    expect(list.items).toHaveLength(120);
    const listed = lines.find((line) => line.path?.startsWith('/api/v1/namespaces/default/pods'));
    expect(listed).toMatchObject({ http: '2.0', encoding: 'gzip', status: 200 });

    const seen: string[] = [];
    const watch = await new k8s.Watch(config).watch(
      '/api/v1/namespaces/default/pods',
      { fieldSelector: 'metadata.name=big-7' },
      (type: string, object: { metadata?: { name?: string } }) =>
        seen.push(`${type}:${object.metadata?.name}`),
      () => {},
    );
    await waitFor(() => seen.length === 1, 'the ADDED event');
    cluster.setPodPhase('default', 'big-7', 'Running');
    await waitFor(() => seen.length === 2, 'the MODIFIED event');
    expect(seen).toEqual(['ADDED:big-7', 'MODIFIED:big-7']);
    watch.abort();

    const applied = await core.patchNamespacedPod(
      {
        name: 'applied',
        namespace: 'default',
        fieldManager: 'client-node',
        body: podManifest('applied'),
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.metadata?.managedFields?.[0]).toMatchObject({
      manager: 'client-node',
      operation: 'Apply',
    });
    await server.close();
  });
});
