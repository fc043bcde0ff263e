// Namespace deletion, deletecollection, the system namespaces and 404s in missing namespaces, judged by
// kubectl and @kubernetes/client-node. The apiserver's side: pkg/registry/core/namespace/storage
// (Delete turns a namespace Terminating), the namespace controller (pkg/controller/namespace/deletion
// deletes its content, then the namespace), the NamespaceLifecycle admission plugin (403 for content in
// a Terminating namespace, immortal default/kube-system/kube-public), and the generic registry's
// DeleteCollection (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go).
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import {
  openHttpWatch,
  podManifest,
  type Run,
  send,
  sendJson,
  spawnProcess,
  startServer,
  waitFor,
} from './server-test-support.js';

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectlFound) {
  console.warn(
    '\n*** kubectl is not on PATH: SKIPPING the kubectl namespace tests of the fake API server. ***\n',
  );
}

let directory: string;
let kubeconfig: string;
const running = new Set<ChildProcess>();

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'podstorage-namespaces-'));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

function kubectl(...args: string[]): Run {
  return spawnProcess(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(directory, 'cache'), ...args],
    running,
  );
}

async function finished(...args: string[]): Promise<Run> {
  const run = kubectl(...args);
  await run.done;
  return run;
}

async function start() {
  const started = await startServer();
  kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, started.server.kubeconfig);
  return started;
}

function runningPod(cluster: FakeCluster, namespace: string, name: string): void {
  const manifest = podManifest(name);
  cluster.createPod({
    ...manifest,
    metadata: { ...manifest.metadata, namespace },
    spec: { ...manifest.spec, nodeName: 'fake-node-1' },
  });
  cluster.setPodPhase(namespace, name, 'Running');
}

const realMs = { realMs: 30_000 };

describe.skipIf(!kubectlFound)('kubectl: namespaces and collections', () => {
  it('deletes a namespace: Terminating, its pods and events deleted, new content refused, then gone', async () => {
    const { cluster, server } = await start();
    cluster.createNamespace('team');
    runningPod(cluster, 'team', 'worker');
    cluster.recordPodEvent({ namespace: 'team', name: 'worker' }, { reason: 'Started', message: 'started' });
    const namespaces = await openHttpWatch(
      server.url,
      '/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Dteam',
    );
    const pods = await openHttpWatch(server.url, '/api/v1/namespaces/team/pods?watch=1');
    await waitFor(() => namespaces.events.length === 1 && pods.events.length === 1, 'the initial state');

    const deletion = kubectl('delete', 'namespace', 'team');
    await waitFor(() => cluster.getNamespace('team')?.status?.phase === 'Terminating', 'Terminating', realMs);
    expect(cluster.getNamespace('team')?.metadata?.deletionTimestamp).toBeTruthy();
    expect(cluster.listEvents('team').items).toEqual([]);
    expect(cluster.getPod('team', 'worker')?.metadata?.deletionTimestamp).toBeTruthy();
    const listed = await finished('get', 'namespace', 'team');
    expect(listed.stdout).toMatch(/^team\s+Terminating\s/m);
    const refused = await finished('run', 'late', '-n', 'team', '--image=busybox', '--restart=Never');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'pods "late" is forbidden: unable to create new content in namespace team because it is being terminated',
    );
    // kubectl waits for the namespace to go; the pod's grace period runs on the cluster clock.
    await waitFor(() => cluster.stats().activeWatches >= 3, 'kubectl to wait', realMs);
    expect(deletion.code).toBeUndefined();
    await cluster.clock.advance(30_000);
    await deletion.done;
    expect(deletion.code, deletion.stderr).toBe(0);
    expect(deletion.stdout).toContain('namespace "team" deleted');
    expect(cluster.getNamespace('team')).toBeUndefined();
    await waitFor(() => namespaces.summary().includes('DELETED:team'), 'the namespace watch to see it go');
    expect(namespaces.summary()).toEqual(['ADDED:team', 'MODIFIED:team', 'DELETED:team']);
    expect(namespaces.events[1]?.object).toMatchObject({ status: { phase: 'Terminating' } });
    await waitFor(() => pods.summary().includes('DELETED:worker'), 'the pod watch to see the pod go');
    namespaces.close();
    pods.close();
  });

  it('keeps the system namespaces: present, and default/kube-system/kube-public cannot be deleted', async () => {
    await start();
    const listed = await finished('get', 'namespaces', '-o', 'name');
    expect(listed.stdout.trim().split('\n')).toEqual([
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
    const refused = await finished('delete', 'namespace', 'kube-system');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    );
  });

  it('delete pods --all and -l delete what they select', async () => {
    const { cluster } = await start();
    cluster.createPod(podManifest('a', { labels: { app: 'web' } }));
    cluster.createPod(podManifest('b', { labels: { app: 'db' } }));
    cluster.createPod(podManifest('c', { labels: { app: 'web' } }));
    const selected = await finished('delete', 'pods', '-l', 'app=web');
    expect(selected.code, selected.stderr).toBe(0);
    expect(cluster.listPods('default').items.map((pod) => pod.metadata?.name)).toEqual(['b']);
    const all = await finished('delete', 'pods', '--all');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('pod "b" deleted');
    expect(cluster.listPods('default').items).toEqual([]);
  });

  it('answers a named pod in a missing namespace with pods "x" not found, as the apiserver', async () => {
    const { server } = await start();
    // The server's answer (the registry's Get/Delete find no key: NotFound for the pod, not the namespace).
    for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
      const writes = method === 'PUT' || method === 'PATCH';
      const response = await send(server.url, method, '/api/v1/namespaces/nowhere/pods/x', {
        ...(writes ? { body: JSON.stringify(podManifest('x')) } : {}),
        headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
      });
      expect([method, response.status, response.json().message]).toEqual([method, 404, 'pods "x" not found']);
    }
    // kubectl get itself asks for the namespace after a 404 (GET /api/v1/namespaces/nowhere) and
    // reports that instead, against a real cluster as here.
    const get = await finished('get', 'pod', 'x', '-n', 'nowhere');
    expect(get.stderr).toContain('Error from server (NotFound): namespaces "nowhere" not found');
    const remove = await finished('delete', 'pod', 'x', '-n', 'nowhere');
    expect(remove.stderr).toContain('Error from server (NotFound): pods "x" not found');
    const list = await finished('get', 'pods', '-n', 'nowhere');
    expect(list.code).toBe(0);
    expect(list.stderr).toContain('No resources found in nowhere namespace.');
    const create = await finished('run', 'x', '-n', 'nowhere', '--image=busybox');
    expect(create.stderr).toContain('Error from server (NotFound): namespaces "nowhere" not found');
  });
});

describe('deletecollection over the wire', () => {
  it('client-node deletes pods by label and events by field selector; the answer lists what went', async () => {
    const { cluster, server } = await startServer();
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    config.loadFromString(server.kubeconfig);
    const core = config.makeApiClient(k8s.CoreV1Api);
    cluster.createPod(podManifest('a', { labels: { app: 'web' } }));
    runningPod(cluster, 'default', 'b');
    cluster.updatePod({ ...cluster.getPod('default', 'b'), metadata: { name: 'b', labels: { app: 'web' } } });
    cluster.createPod(podManifest('c', { labels: { app: 'db' } }));
    cluster.recordPodEvent({ namespace: 'default', name: 'a' }, { reason: 'Pulled', message: 'one' });
    cluster.recordPodEvent({ namespace: 'default', name: 'c' }, { reason: 'Pulled', message: 'two' });
    const status = await core.deleteCollectionNamespacedPod({
      namespace: 'default',
      labelSelector: 'app=web',
    });
    expect(status).toMatchObject({ kind: 'PodList' });
    // The unscheduled pod goes at once; the running one starts its grace period.
    expect(cluster.getPod('default', 'a')).toBeUndefined();
    expect(cluster.getPod('default', 'b')?.metadata?.deletionTimestamp).toBeTruthy();
    expect(cluster.getPod('default', 'c')?.metadata?.deletionTimestamp).toBeUndefined();
    await core.deleteCollectionNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=a',
    });
    expect(cluster.listEvents('default').items.map((event) => event.message)).toEqual(['two']);
    const raw = await sendJson(
      server.url,
      'DELETE',
      '/api/v1/namespaces/default/pods?labelSelector=app%3Ddb',
      {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        gracePeriodSeconds: 0,
      },
    );
    expect(raw.status).toBe(200);
    expect(raw.json().items?.map((item) => (item.metadata as { name: string }).name)).toEqual(['c']);
    expect((await send(server.url, 'DELETE', '/api/v1/pods')).status).toBe(405);
  });
});
