// kubectl (a real Go client: protobuf bodies, server-side apply, dry runs, OpenAPI, HTTP/2) against the
// fake API server. What each command sends is what kubectl 1.32 sends a real apiserver.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@podstorage/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import type { FakeClusterServer, ServeFakeClusterOptions } from './serve.js';
import { podManifest, type Run, spawnProcess, startServer, untilChild } from './server-test-support.js';

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectlFound) {
  console.warn('\n*** kubectl is not on PATH: SKIPPING the kubectl wire tests of the fake API server. ***\n');
}

let directory: string;
let cluster: FakeCluster;
let server: FakeClusterServer;
let kubeconfig: string;
const running = new Set<ChildProcess>();
/** The debug line of every request the server answered. */
let requests: Record<string, unknown>[] = [];

const recorder: Logger = {
  debug: (fields: unknown) => {
    if (typeof fields === 'object' && fields !== null) requests.push(fields as Record<string, unknown>);
  },
  info: () => {},
  warn: () => {},
  error: () => {},
} as unknown as Logger;

function kubectl(...args: string[]): Run {
  return spawnProcess(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(directory, 'cache'), ...args],
    running,
  );
}

async function run(...args: string[]): Promise<Run> {
  const result = kubectl(...args);
  await result.done;
  return result;
}

async function succeeds(...args: string[]): Promise<string> {
  const result = await run(...args);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function manifest(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

function podYaml(name: string, image = 'busybox', labels = 'app: demo'): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    ${labels}\nspec:\n  containers:\n  - name: main\n    image: ${image}\n`;
}

describe.skipIf(!kubectlFound)('kubectl on the wire', () => {
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'podstorage-kubectl-wire-'));
  });

  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  async function start(options: ServeFakeClusterOptions = {}): Promise<void> {
    requests = [];
    ({ cluster, server } = await startServer({}, { logger: recorder, ...options }));
    kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(kubeconfig, server.kubeconfig);
  }

  afterEach(async () => {
    for (const child of running) child.kill('SIGKILL');
    await server?.close();
  });

  it('creates a namespace with a protobuf body, and reads the protobuf answer', async () => {
    await start();
    expect(await succeeds('create', 'namespace', 'team-a')).toContain('namespace/team-a created');
    expect(cluster.getNamespace('team-a')).toBeDefined();
    const post = requests.find(
      (line) => line.method === 'POST' && String(line.path).startsWith('/api/v1/namespaces?'),
    );
    expect(post).toMatchObject({
      status: 201,
      contentType: 'application/vnd.kubernetes.protobuf',
      responseType: 'application/vnd.kubernetes.protobuf',
    });
  });

  it('applies server-side: creates, reapplies unchanged, conflicts with another manager (409), then forces', async () => {
    await start();
    const file = manifest('ssa.yaml', podYaml('ssa'));
    expect(await succeeds('apply', '--server-side', '-f', file)).toContain('pod/ssa serverside-applied');
    const first = cluster.getPod('default', 'ssa');
    expect(first?.metadata?.managedFields).toEqual([
      expect.objectContaining({
        manager: 'kubectl',
        operation: 'Apply',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
        },
      }),
    ]);
    expect(await succeeds('apply', '--server-side', '-f', file)).toContain('pod/ssa serverside-applied');
    // The same configuration again changes nothing in the store.
    expect(cluster.getPod('default', 'ssa')?.metadata?.resourceVersion).toBe(
      first?.metadata?.resourceVersion,
    );

    const other = manifest('ssa-other.yaml', podYaml('ssa', 'nginx'));
    const conflict = await run('apply', '--server-side', '--field-manager=other', '-f', other);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl"');
    expect(conflict.stderr).toContain('.spec.containers[name="main"].image');
    expect(cluster.getPod('default', 'ssa')?.spec?.containers[0]?.image).toBe('busybox');

    await succeeds('apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', other);
    const forced = cluster.getPod('default', 'ssa');
    expect(forced?.spec?.containers[0]?.image).toBe('nginx');
    const managers = forced?.metadata?.managedFields?.map((entry) => entry.manager);
    expect(managers).toEqual(['kubectl', 'other']);
    expect(JSON.stringify(forced?.metadata?.managedFields?.[0]?.fieldsV1)).not.toContain('f:image');
  });

  it('diffs a manifest against the live object with a server-side dry run, changing nothing', async () => {
    await start();
    await succeeds('apply', '-f', manifest('diff.yaml', podYaml('diffed')));
    const version = cluster.resourceVersion();
    const result = await run(
      'diff',
      '-f',
      manifest('diff-changed.yaml', podYaml('diffed', 'busybox', 'app: changed')),
    );
    expect(result.code, result.stderr).toBe(1); // 1: differences found
    expect(result.stdout).toMatch(/^-\s+app: demo$/m);
    expect(result.stdout).toMatch(/^\+\s+app: changed$/m);
    expect(cluster.resourceVersion()).toBe(version);
    expect(cluster.getPod('default', 'diffed')?.metadata?.labels).toEqual({ app: 'demo' });
    expect(requests.some((line) => String(line.path).includes('dryRun=All'))).toBe(true);
  });

  it('creates with --dry-run=server: the answer, and nothing stored', async () => {
    await start();
    const version = cluster.resourceVersion();
    const output = await succeeds('create', '--dry-run=server', '-f', manifest('dry.yaml', podYaml('dry')));
    expect(output).toContain('pod/dry created (server dry run)');
    expect(cluster.getPod('default', 'dry')).toBeUndefined();
    expect(cluster.resourceVersion()).toBe(version);
  });

  it('explains pod.spec from the OpenAPI v3 schemas', async () => {
    await start();
    const output = await succeeds('explain', 'pod.spec');
    expect(output).toMatch(/KIND:\s+Pod/);
    expect(output).toMatch(/FIELD:\s+spec <PodSpec>/);
    expect(output).toMatch(/containers\s+<\[\]Container> -required-/);
    expect(await succeeds('explain', 'pod.spec.containers.imagePullPolicy')).toContain('Always');
  });

  it('answers kubectl auth can-i with yes', async () => {
    await start();
    expect((await succeeds('auth', 'can-i', 'create', 'pods')).trim()).toBe('yes');
    expect((await succeeds('auth', 'can-i', 'watch', 'events.events.k8s.io', '-n', 'default')).trim()).toBe(
      'yes',
    );
  });

  it('gets events as events.k8s.io/v1, converted from the core/v1 events', async () => {
    await start();
    cluster.createPod(podManifest('noisy'));
    cluster.recordPodEvent(
      { namespace: 'default', name: 'noisy' },
      { reason: 'Pulling', message: 'Pulling image "busybox"' },
    );
    const list = JSON.parse(await succeeds('get', 'events.v1.events.k8s.io', '-o', 'json')) as {
      items: Record<string, unknown>[];
    };
    expect(list.items).toEqual([
      expect.objectContaining({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        reason: 'Pulling',
        note: 'Pulling image "busybox"',
        regarding: expect.objectContaining({ kind: 'Pod', name: 'noisy' }),
      }),
    ]);
  });

  it('refuses a manifest with an unknown field (kubectl asks for Strict)', async () => {
    await start();
    const file = manifest(
      'typo.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n  - name: main\n    image: busybox\n    imagePullPolicey: Always\n',
    );
    const result = await run('apply', '-f', file);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolicey"',
    );
    expect(cluster.getPod('default', 'typo')).toBeUndefined();
    // With --validate=warn kubectl asks for Warn: the pod is created without the field, and a warning printed.
    const warned = await run('create', '--validate=warn', '-f', file);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain('unknown field "spec.containers[0].imagePullPolicey"');
    expect(JSON.stringify(cluster.getPod('default', 'typo'))).not.toContain('imagePullPolicey');
  });

  it('speaks HTTP/2 over TLS, watches included', async () => {
    // With TLS and no credentials kubectl would prompt for a username: give it a token, as a cluster would.
    await start({ tls: true, token: 'h2-token' });
    cluster.createPod(podManifest('h2'));
    expect(await succeeds('get', 'pods', '-o', 'name')).toContain('pod/h2');
    const watch = kubectl('get', 'pods', '-w', '-o', 'name');
    await untilChild(() => watch.stdout.includes('pod/h2'), 'the watch to show the pod');
    watch.process.kill('SIGTERM');
    await watch.done;
    const versions = new Set(requests.map((line) => line.http));
    expect(versions).toEqual(new Set(['2.0']));
  });
});
