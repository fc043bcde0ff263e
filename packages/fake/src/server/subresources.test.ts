// Pod subresources: binding and eviction as the apiserver serves them (pkg/registry/core/pod/storage:
// BindingREST, EvictionREST), and a Status that says so for what the fake cannot do (exec, attach,
// port-forward, proxy, ephemeralcontainers, resize) instead of the generic 404.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { podManifest, type Run, send, sendJson, spawnProcess, startServer } from './server-test-support.js';

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectlFound)
  console.warn('\n*** kubectl is not on PATH: SKIPPING the kubectl subresource tests. ***\n');

let directory: string;
let kubeconfig: string;
const running = new Set<ChildProcess>();
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'podstorage-subresources-'));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

async function kubectl(...args: string[]): Promise<Run> {
  const run = spawnProcess(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(directory, 'cache'), ...args],
    running,
  );
  await run.done;
  return run;
}

describe.skipIf(!kubectlFound)('kubectl and the subresources the fake cannot serve', () => {
  it('exec, attach and port-forward fail with a message saying the fake does not support them', async () => {
    const { cluster, server } = await startServer();
    kubeconfig = join(directory, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfig);
    const manifest = podManifest('web');
    cluster.createPod({ ...manifest, spec: { ...manifest.spec, nodeName: 'fake-node-1' } });
    cluster.setPodPhase('default', 'web', 'Running');
    for (const [args, subresource] of [
      [['exec', 'web', '--', 'true'], 'exec'],
      [['attach', 'web'], 'attach'],
      [['port-forward', 'pod/web', '18080:80'], 'portforward'],
    ] as const) {
      const run = await kubectl(...args);
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.stderr, args.join(' ')).toContain(
        `pods/${subresource} is not supported by the podstorage fake cluster`,
      );
    }
  });
});

describe('pod subresources over the wire', () => {
  it('answers unsupported subresources with 405 and a message, whatever the method', async () => {
    const { cluster, server } = await startServer();
    cluster.createPod(podManifest('web'));
    for (const [method, path] of [
      ['POST', 'exec?command=ls'],
      ['GET', 'attach'],
      ['GET', 'portforward'],
      ['GET', 'proxy/metrics'],
      ['GET', 'ephemeralcontainers'],
      ['PATCH', 'resize'],
    ] as const) {
      const response = await send(server.url, method, `/api/v1/namespaces/default/pods/web/${path}`);
      expect([path, response.status, response.json().reason]).toEqual([path, 405, 'MethodNotAllowed']);
      expect(response.json().message).toMatch(/^pods\/\w+ is not supported by the podstorage fake cluster: /);
    }
    // An unknown subresource is still an unknown path.
    expect((await send(server.url, 'GET', '/api/v1/namespaces/default/pods/web/bogus')).status).toBe(404);
  });

  it('binds a pod through pods/binding, once', async () => {
    const { cluster, server } = await startServer();
    cluster.createPod(podManifest('web'));
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'web' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'fake-node-1' },
    };
    const bound = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods/web/binding', binding);
    expect(bound.status).toBe(201);
    expect(bound.json()).toMatchObject({ kind: 'Status', status: 'Success' });
    expect(cluster.getPod('default', 'web')?.spec?.nodeName).toBe('fake-node-1');
    expect(cluster.getPod('default', 'web')?.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'PodScheduled', status: 'True' }),
    );
    const again = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods/web/binding', binding);
    expect(again.status).toBe(409);
    expect(again.json().message).toBe('pod web is already assigned to node "fake-node-1"');
  });

  it('evicts a pod with client-node: a graceful delete with the eviction delete options', async () => {
    const { cluster, server } = await startServer();
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    config.loadFromString(server.kubeconfig);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const manifest = podManifest('web');
    cluster.createPod({ ...manifest, spec: { ...manifest.spec, nodeName: 'fake-node-1' } });
    cluster.setPodPhase('default', 'web', 'Running');
    await core.createNamespacedPodEviction({
      name: 'web',
      namespace: 'default',
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'web', namespace: 'default' },
        deleteOptions: { gracePeriodSeconds: 5 },
      },
    });
    expect(cluster.getPod('default', 'web')?.metadata?.deletionGracePeriodSeconds).toBe(5);
    await cluster.clock.advance(5_000);
    expect(cluster.getPod('default', 'web')).toBeUndefined();
  });
});
