// The simulated kubelet, scheduler and nodes as kubectl 1.32 sees them through the fake API server, on
// the fake clock (the test moves time; kubectl runs in real time and is waited on with bounds):
// `kubectl run` gives a server that keeps running, `delete` and `wait --for=delete` finish within about
// a second of cluster time (the kubelet's SIGTERM), `logs -f` streams and ends with the container
// (pkg/kubelet/kuberuntime/logs), `logs --previous`/`--tail`, `get nodes`, `describe node`, `cordon`.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import { LIFECYCLE_ANNOTATION } from '../lifecycle.js';
import type { FakeClusterServer } from './serve.js';
import { kubectlOnPath, kubectlRunner, startServer, untilChild, waitFor } from './server-test-support.js';

const kubectlFound = kubectlOnPath('the kubectl tests of the simulated kubelet');

let directory: string;
let cluster: FakeCluster;
let server: FakeClusterServer;
let kubeconfig: string;
const running = new Set<ChildProcess>();

const { kubectl, succeeds, fails } = kubectlRunner(() => ({ kubeconfig, directory }), running);

/** Moves the cluster clock in small steps until `condition` holds or `maxMs` of cluster time passed; returns the time used. */
async function advanceUntil(condition: () => boolean, maxMs: number, what: string): Promise<number> {
  const started = cluster.clock.now();
  await waitFor(
    () => {
      if (condition()) return true;
      if (cluster.clock.now() - started < maxMs) void cluster.clock.advance(100);
      return false;
    },
    what,
    { realMs: 30_000 },
  );
  return cluster.clock.now() - started;
}

describe.skipIf(!kubectlFound)('kubectl against the simulated kubelet', () => {
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'podstorage-kubelet-'));
  });

  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    ({ cluster, server } = await startServer({ mode: 'simulated' }));
    kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(kubeconfig, server.kubeconfig);
  }

  afterEach(async () => {
    for (const child of running) child.kill('SIGKILL');
    await server?.close();
  });

  it('`kubectl run nginx --image=nginx` keeps running; `delete` returns within about a second of cluster time', async () => {
    await start();
    await succeeds('run', 'nginx', '--image=nginx');
    await cluster.clock.advance(3_000);
    const table = await succeeds('get', 'pods', '-o', 'wide');
    expect(table).toMatch(/nginx\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.0\.\d+\s+fake-node-1/);
    await cluster.clock.advance(600_000);
    expect(cluster.getPod('default', 'nginx')?.status?.phase).toBe('Running');

    const waiting = kubectl('wait', '--for=delete', 'pod/nginx', '--timeout=25s');
    const deleting = kubectl('delete', 'pod', 'nginx');
    await untilChild(
      () => cluster.getPod('default', 'nginx')?.metadata?.deletionTimestamp !== undefined,
      'the delete',
    );
    const used = await advanceUntil(
      () => cluster.getPod('default', 'nginx') === undefined,
      30_000,
      'the pod to go',
    );
    expect(used).toBeLessThanOrEqual(1_100);
    await deleting.done;
    await waiting.done;
    expect(deleting.code, deleting.stderr).toBe(0);
    expect(deleting.stdout).toContain('pod "nginx" deleted');
    expect(waiting.code, waiting.stderr).toBe(0);
  });

  it('`kubectl get pods -w` shows a job go ContainerCreating, Running, Completed; a failing one Error', async () => {
    await start();
    const watching = kubectl('get', 'pods', '-w');
    await untilChild(() => cluster.stats().activeWatches >= 1, 'the watch to start');
    cluster.createPod(
      {
        metadata: { name: 'job' },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 2'] }],
        },
      },
      {},
    );
    cluster.createPod(
      {
        metadata: { name: 'bad' },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'exit 3'] }],
        },
      },
      {},
    );
    await advanceUntil(
      () => /job\s+0\/1\s+Completed/.test(watching.stdout),
      10_000,
      'the job to show Completed',
    );
    await untilChild(() => /bad\s+0\/1\s+Error/.test(watching.stdout), 'the failed pod to show Error');
    expect(watching.stdout).toMatch(/job\s+0\/1\s+ContainerCreating/);
    expect(watching.stdout).toMatch(/job\s+1\/1\s+Running/);
    watching.process.kill('SIGINT');
    await watching.done;
  });

  it('`kubectl logs -f` streams what the container prints and ends when it ends; --tail, --previous and their errors', async () => {
    await start();
    cluster.createPod(
      {
        metadata: {
          name: 'job',
          annotations: {
            [LIFECYCLE_ANNOTATION]: JSON.stringify({ output: ['one', 'two', 'three', 'four'], runMs: 4_000 }),
          },
        },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] },
      },
      {},
    );
    await cluster.clock.advance(1_100); // scheduled, pulled, started: "one" is printed
    const following = kubectl('logs', '-f', 'job');
    await untilChild(() => following.stdout.includes('one'), 'the first line');
    expect(following.stdout).not.toContain('two');
    await cluster.clock.advance(1_000);
    await untilChild(() => following.stdout.includes('two'), 'the second line as it is printed');
    await cluster.clock.advance(3_000); // three, four, and the exit
    await following.done;
    expect(following.code, following.stderr).toBe(0);
    expect(following.stdout).toBe('one\ntwo\nthree\nfour\n');
    expect(await succeeds('logs', 'job', '--tail=1')).toBe('four\n');
    expect(await succeeds('logs', 'job', '--timestamps', '--tail=1')).toMatch(
      /^2026-01-01T00:00:04\.\d{9}Z four\n$/,
    );
    expect(await fails('logs', 'job', '--previous')).toContain(
      'previous terminated container "main" in pod "job" not found',
    );
    expect(await fails('logs', 'nope')).toContain('pods "nope" not found');
  });

  it('`kubectl logs --previous` reads the last restarted instance of a crash-looping container', async () => {
    await start();
    cluster.createPod(
      {
        metadata: { name: 'crash' },
        spec: {
          restartPolicy: 'Always',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo boom; exit 2'] }],
        },
      },
      {},
    );
    await cluster.clock.advance(1_100);
    const table = await succeeds('get', 'pod', 'crash');
    expect(table).toMatch(/crash\s+0\/1\s+(CrashLoopBackOff|Error)\s+1/);
    expect(await succeeds('logs', 'crash', '--previous')).toBe('boom\n');
    const describe = await succeeds('describe', 'pod', 'crash');
    expect(describe).toContain('Created container main');
    expect(describe).toMatch(/Back-off restarting failed container main in pod crash_default/);
    expect(describe).toMatch(/Last State:\s+Terminated\s+Reason:\s+Error\s+Exit Code:\s+2/);
  });

  it('`kubectl get nodes`, `describe node` with the requests of its pods, `cordon` and `uncordon`', async () => {
    await start();
    cluster.addNode({ name: 'worker-2', cpu: '2', memory: '4Gi' });
    cluster.createPod(
      {
        metadata: { name: 'web' },
        spec: {
          nodeName: 'worker-2',
          containers: [
            { name: 'main', image: 'nginx:1.27', resources: { requests: { cpu: '500m', memory: '256Mi' } } },
          ],
        },
      },
      {},
    );
    await cluster.clock.advance(1_100);
    const nodes = await succeeds('get', 'nodes');
    expect(nodes).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    expect(nodes).toMatch(/fake-node-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0/);
    expect(nodes).toMatch(/worker-2\s+Ready/);
    const described = await succeeds('describe', 'node', 'worker-2');
    expect(described).toMatch(/Ready\s+True/);
    expect(described).toMatch(/default\s+web\s+500m \(25%\)/);
    expect(described).toMatch(/cpu\s+500m \(25%\)/);
    await succeeds('cordon', 'worker-2');
    expect(cluster.getNode('worker-2')?.spec?.unschedulable).toBe(true);
    expect(await succeeds('get', 'nodes')).toMatch(/worker-2\s+Ready,SchedulingDisabled/);
    await succeeds('uncordon', 'worker-2');
    expect(cluster.getNode('worker-2')?.spec?.unschedulable).toBeUndefined();
  });

  // pkg/kubelet/eviction (helpers.go nodeLowMessageFmt, thresholdMetMessageFmt, containerMessageFmt) and
  // pkg/printers/internalversion printPod: STATUS starts from status.reason, and a container state with
  // a reason of its own wins over it, so an evicted pod shows Evicted until its containers have stopped,
  // then their reason (kubernetes/kubernetes#105467, seen on v1.32).
  it('an evicted pod in `get pods` and `describe pod`, the pressure in `describe node`', async () => {
    await start();
    cluster.createPod(
      {
        metadata: { name: 'hog', annotations: { [LIFECYCLE_ANNOTATION]: '{"usage":{"memory":"300Mi"}}' } },
        spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] },
      },
      {},
    );
    await cluster.clock.advance(1_100);
    cluster.setNodePressure('fake-node-1', 'memory', { available: '50Mi' });
    expect(await succeeds('get', 'pods')).toMatch(/hog\s+1\/1\s+Evicted\s+0/);
    const message =
      'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container main was using 300Mi, request is 0, has larger consumption of memory.';
    const described = await succeeds('describe', 'pod', 'hog');
    expect(described).toMatch(/Status:\s+Failed/);
    expect(described).toMatch(/Reason:\s+Evicted/);
    expect(described).toContain(`Message:          ${message}`);
    expect(described).toMatch(/DisruptionTarget\s+True/);
    expect(described).toMatch(
      new RegExp(`Warning\\s+Evicted\\s+\\S+\\s+kubelet\\s+${message.replaceAll('.', '\\.')}`),
    );
    const node = await succeeds('describe', 'node', 'fake-node-1');
    expect(node).toMatch(/Taints:\s+node\.kubernetes\.io\/memory-pressure:NoSchedule/);
    expect(node).toMatch(
      /MemoryPressure\s+True\s.*KubeletHasInsufficientMemory\s+kubelet has insufficient memory available/,
    );
    expect(node).toMatch(/Warning\s+EvictionThresholdMet\s+\S+\s+kubelet\s+Attempting to reclaim memory/);
    await cluster.clock.advance(2_000);
    expect(await succeeds('get', 'pods')).toMatch(/hog\s+0\/1\s+Completed\s+0/);
    expect(await succeeds('get', 'pod', 'hog', '-o', 'jsonpath={.status.reason}')).toBe('Evicted');
  });

  // The kubelet's heartbeat (pkg/kubelet/nodelease) through coordination.k8s.io/v1, printed as
  // pkg/printers/internalversion printLease prints it: NAME, HOLDER, AGE.
  it('`kubectl get leases -n kube-node-lease`, `get lease -o yaml`, `get -w` sees the renewals; writes refused', async () => {
    await start();
    await cluster.clock.advance(65_000);
    const table = await succeeds('get', 'leases', '-n', 'kube-node-lease');
    expect(table).toMatch(/^NAME\s+HOLDER\s+AGE\n/);
    expect(table).toMatch(/fake-node-1\s+fake-node-1\s+65s/);
    const yaml = await succeeds('get', 'lease', 'fake-node-1', '-n', 'kube-node-lease', '-o', 'yaml');
    expect(yaml).toContain('apiVersion: coordination.k8s.io/v1');
    expect(yaml).toContain('kind: Lease');
    expect(yaml).toContain('holderIdentity: fake-node-1');
    expect(yaml).toContain('leaseDurationSeconds: 40');
    expect(yaml).toContain('renewTime: "2026-01-01T00:01:00.000000Z"');
    expect(yaml).toMatch(/ownerReferences:\n\s+- apiVersion: v1\n\s+kind: Node\n\s+name: fake-node-1/);
    expect(await succeeds('get', 'leases', '-A')).toMatch(/kube-node-lease\s+fake-node-1\s+fake-node-1/);
    const watching = kubectl(
      'get',
      'lease',
      'fake-node-1',
      '-n',
      'kube-node-lease',
      '-w',
      '-o',
      'jsonpath={.spec.renewTime}{"\\n"}',
    );
    await untilChild(() => watching.stdout.includes('00:01:00'), 'the lease as it is');
    await cluster.clock.advance(10_000);
    await untilChild(() => watching.stdout.includes('2026-01-01T00:01:10.000000Z'), 'the renewal');
    watching.process.kill('SIGINT');
    await watching.done;
    expect(await fails('delete', 'lease', 'fake-node-1', '-n', 'kube-node-lease')).toContain(
      'Error from server (MethodNotAllowed): the server does not allow this method on the requested resource',
    );
    expect(await fails('get', 'lease', 'nope', '-n', 'kube-node-lease')).toContain(
      'leases.coordination.k8s.io "nope" not found',
    );
  });
});
