import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import type { FakeClusterServer } from './serve.js';
import {
  kubectlOnPath,
  kubectlRunner,
  podManifest,
  startServer,
  untilChild,
  waitFor,
} from './server-test-support.js';

const kubectlFound = kubectlOnPath('the kubectl tests of the fake API server');

let directory: string;
let cluster: FakeCluster;
let server: FakeClusterServer;
let kubeconfig: string;
const running = new Set<ChildProcess>();

const { kubectl, succeeds } = kubectlRunner(() => ({ kubeconfig, directory }), running);

describe.skipIf(!kubectlFound)('kubectl against the fake API server', () => {
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'podstorage-kubectl-'));
  });

  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  async function start(options: Parameters<typeof startServer>[1] = {}): Promise<void> {
    ({ cluster, server } = await startServer({}, options));
    kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(kubeconfig, server.kubeconfig);
  }

  afterEach(async () => {
    for (const child of running) child.kill('SIGKILL');
    await server?.close();
    expect(server.openConnections()).toBe(0);
  });

  it('lists and gets pods', async () => {
    await start();
    cluster.createPod(podManifest('alpha'));
    cluster.createPod(podManifest('beta'));
    const table = await succeeds('get', 'pods');
    expect(table).toMatch(/^NAME\s/);
    expect(table).toContain('alpha');
    expect(table).toContain('beta');
    const pod = JSON.parse(await succeeds('get', 'pod', 'alpha', '-o', 'json'));
    expect(pod).toMatchObject({ kind: 'Pod', metadata: { name: 'alpha', namespace: 'default' } });
    const missing = kubectl('get', 'pod', 'nope');
    await missing.done;
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pods "nope" not found');
  });

  it('creates a pod from a manifest without --validate=false', async () => {
    await start();
    const manifest = join(directory, 'pod.yaml');
    writeFileSync(
      manifest,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-file\n  labels:\n    app: demo\nspec:\n  containers:\n  - name: main\n    image: busybox\n',
    );
    expect(await succeeds('create', '-f', manifest)).toContain('pod/from-file created');
    expect(cluster.getPod('default', 'from-file')?.metadata?.labels).toEqual({ app: 'demo' });
  });

  it('watches pods with get -w: the existing pod, then a created one and its phase change', async () => {
    await start();
    cluster.createPod(podManifest('existing'));
    const watch = kubectl('get', 'pods', '-w', '-o', 'jsonpath={.metadata.name} {.status.phase}{"\\n"}');
    await untilChild(() => watch.stdout.includes('existing Pending'), 'the existing pod');
    cluster.createPod(podManifest('new'));
    await untilChild(() => watch.stdout.includes('new Pending'), 'the created pod');
    cluster.setPodPhase('default', 'new', 'Running');
    await untilChild(() => watch.stdout.includes('new Running'), 'the phase change');
    watch.process.kill('SIGTERM');
    await watch.done;
    await waitFor(() => cluster.stats().activeWatches === 0, 'the watch to close');
  });

  it('deletes a running pod gracefully, waiting for the grace period on the cluster clock', async () => {
    await start();
    cluster.createPod(podManifest('victim'));
    const pod = cluster.getPod('default', 'victim');
    cluster.updatePod({ ...pod, spec: { containers: pod?.spec?.containers ?? [], nodeName: 'fake-node-1' } });
    cluster.setPodPhase('default', 'victim', 'Running');
    const deletion = kubectl('delete', 'pod', 'victim');
    await untilChild(
      () => cluster.getPod('default', 'victim')?.metadata?.deletionTimestamp !== undefined,
      'the deletion',
    );
    await untilChild(() => cluster.stats().activeWatches === 1, 'kubectl to wait for the pod to go');
    expect(deletion.code).toBeUndefined();
    await cluster.clock.advance(30_000);
    await deletion.done;
    expect(deletion.code, deletion.stderr).toBe(0);
    expect(deletion.stdout).toContain('pod "victim" deleted');
    expect(cluster.getPod('default', 'victim')).toBeUndefined();
  });

  it('patches the status subresource', async () => {
    await start();
    cluster.createPod(podManifest('job'));
    const output = await succeeds(
      'patch',
      'pod',
      'job',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Succeeded"}}',
    );
    expect(output).toContain('pod/job patched');
    expect(cluster.getPod('default', 'job')?.status?.phase).toBe('Succeeded');
  });

  it('gets the events of one pod with --field-selector involvedObject.name', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    cluster.createPod(podManifest('other'));
    cluster.recordPodEvent(
      { namespace: 'default', name: 'web' },
      { reason: 'Pulled', message: 'pulled for web' },
    );
    cluster.recordPodEvent(
      { namespace: 'default', name: 'other' },
      { reason: 'Pulled', message: 'pulled for other' },
    );
    const output = await succeeds(
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=web',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    );
    expect(output.trim().split('\n')).toEqual(['pulled for web']);
  });

  it('works over HTTPS with the generated CA and a bearer token from the kubeconfig', async () => {
    await start({ tls: true, token: 'kubectl-token' });
    cluster.createPod(podManifest('secure'));
    expect(await succeeds('get', 'pods', '-o', 'name')).toBe('pod/secure\n');
    writeFileSync(kubeconfig, server.kubeconfig.replace('kubectl-token', 'wrong'));
    const denied = kubectl('get', 'pods');
    await denied.done;
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Unauthorized|must be logged in/);
  });
});
