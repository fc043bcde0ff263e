// kubectl's human output against the fake: the server-side Tables of pods, events and namespaces, on
// lists, `-o wide` and watches. The expected cells are what kubernetes/kubernetes
// pkg/printers/internalversion/printers.go (printPod, printEvent, printNamespace) computes.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodStatus } from '@podstorage/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from '../fake-cluster.js';
import { kubernetesTime } from '../lifecycle.js';
import {
  kubectlOnPath,
  kubectlRunner,
  podManifest,
  send,
  startServer,
  waitFor,
} from './server-test-support.js';
import { humanDuration, toTable } from './tables.js';

const kubectlFound = kubectlOnPath('the kubectl Table tests of the fake API server');

let directory: string;
let kubeconfig: string;
let cluster: FakeCluster;
const running = new Set<ChildProcess>();

const { kubectl, succeeds } = kubectlRunner(() => ({ kubeconfig, directory }), running, { quiet: true });

/** kubectl's table as rows of cells (columns are two or more spaces apart). */
function rows(output: string): string[][] {
  return output
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

async function start(): Promise<string> {
  const started = await startServer();
  cluster = started.cluster;
  kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, started.server.kubeconfig);
  return started.server.url;
}

function scheduled(name: string, extra: Record<string, unknown> = {}) {
  const manifest = podManifest(name);
  return { ...manifest, spec: { ...manifest.spec, nodeName: 'fake-node-1', ...extra } };
}

function container(state: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return { name: 'main', image: 'busybox', imageID: '', ready: false, restartCount: 0, state, ...more };
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'podstorage-kubectl-tables-'));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('humanDuration (apimachinery pkg/util/duration HumanDuration)', () => {
  it.each([
    [-3_000, '<invalid>'],
    [-1_000, '0s'],
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [200_000, '3m20s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3_600_000, '3h'],
    [(5 * 60 + 10) * 60_000, '5h10m'],
    [47 * 3_600_000, '47h'],
    [(2 * 24 + 3) * 3_600_000, '2d3h'],
    [8 * 24 * 3_600_000, '8d'],
    [(2 * 365 + 20) * 24 * 3_600_000, '2y20d'],
    [9 * 365 * 24 * 3_600_000, '9y'],
  ])('%i ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe.skipIf(!kubectlFound)('kubectl reads the fake server-side Tables', () => {
  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
  });

  it('get pods: READY, STATUS with kubectl reasons, RESTARTS with "(Xs ago)", AGE', async () => {
    await start();
    const now = () => cluster.clock.date();
    cluster.createPod(podManifest('pending'));
    cluster.createPod(scheduled('running'));
    cluster.setPodPhase('default', 'running', 'Running');
    cluster.createPod(scheduled('done'));
    cluster.setPodPhase('default', 'done', 'Succeeded', {
      containerStatuses: [container({ terminated: { exitCode: 0, reason: 'Completed' } })],
    } as Partial<PodStatus>);
    cluster.createPod(scheduled('pulling'));
    cluster.setPodPhase('default', 'pulling', 'Pending', {
      containerStatuses: [container({ waiting: { reason: 'ErrImagePull', message: 'no such image' } })],
    } as Partial<PodStatus>);
    cluster.createPod(scheduled('crashing'));
    await cluster.clock.advance(300_000);
    cluster.setPodPhase('default', 'crashing', 'Running', {
      containerStatuses: [
        container(
          { waiting: { reason: 'CrashLoopBackOff' } },
          {
            restartCount: 3,
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: kubernetesTime(now()) } },
          },
        ),
      ],
    } as Partial<PodStatus>);
    cluster.createPod({
      ...scheduled('initializing', { initContainers: [{ name: 'setup', image: 'busybox' }] }),
    });
    cluster.setPodPhase('default', 'initializing', 'Pending', {
      initContainerStatuses: [{ ...container({ running: {} }), name: 'setup' }],
      containerStatuses: [container({ waiting: { reason: 'PodInitializing' } })],
    } as Partial<PodStatus>);
    cluster.createPod(scheduled('leaving'));
    cluster.setPodPhase('default', 'leaving', 'Running');
    cluster.deletePod('default', 'leaving');
    await cluster.clock.advance(15_000);

    const table = rows(await succeeds('get', 'pods'));
    expect(table[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(Object.fromEntries(table.slice(1).map((row) => [row[0], row.slice(1)]))).toEqual({
      crashing: ['0/1', 'CrashLoopBackOff', '3 (15s ago)', '5m15s'],
      done: ['0/1', 'Completed', '0', '5m15s'],
      initializing: ['0/1', 'Init:0/1', '0', '15s'],
      leaving: ['1/1', 'Terminating', '0', '15s'],
      pending: ['0/1', 'Pending', '0', '5m15s'],
      pulling: ['0/1', 'ErrImagePull', '0', '5m15s'],
      running: ['1/1', 'Running', '0', '5m15s'],
    });
  });

  it('get pods -o wide: IP, NODE, NOMINATED NODE, READINESS GATES', async () => {
    await start();
    cluster.createPod(scheduled('gated', { readinessGates: [{ conditionType: 'example.com/ready' }] }));
    cluster.setPodPhase('default', 'gated', 'Running', {
      podIP: '10.0.0.7',
      podIPs: [{ ip: '10.0.0.7' }],
    } as Partial<PodStatus>);
    cluster.createPod(podManifest('unscheduled'));
    const table = rows(await succeeds('get', 'pods', '-o', 'wide'));
    expect(table[0]).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    expect(table[1]).toEqual([
      'gated',
      '1/1',
      'Running',
      '0',
      '0s',
      '10.0.0.7',
      'fake-node-1',
      '<none>',
      '0/1',
    ]);
    expect(table[2]).toEqual([
      'unscheduled',
      '0/1',
      'Pending',
      '0',
      '0s',
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ]);
  });

  it('get events and get namespaces', async () => {
    await start();
    cluster.createPod(podManifest('web'));
    await cluster.clock.advance(90_000);
    cluster.recordPodEvent(
      { namespace: 'default', name: 'web' },
      {
        reason: 'Pulled',
        message: 'Container image "busybox" already present',
        fieldPath: 'spec.containers{main}',
      },
    );
    await cluster.clock.advance(30_000);
    const events = rows(await succeeds('get', 'events'));
    expect(events).toEqual([
      ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
      ['30s', 'Normal', 'Pulled', 'pod/web', 'Container image "busybox" already present'],
    ]);
    const wide = rows(await succeeds('get', 'events', '-o', 'wide'));
    expect(wide[0]).toEqual([
      'LAST SEEN',
      'TYPE',
      'REASON',
      'OBJECT',
      'SUBOBJECT',
      'SOURCE',
      'MESSAGE',
      'FIRST SEEN',
      'COUNT',
      'NAME',
    ]);
    expect(wide[1]?.slice(0, 9)).toEqual([
      '30s',
      'Normal',
      'Pulled',
      'pod/web',
      'spec.containers{main}',
      'kubelet, fake-node-1',
      'Container image "busybox" already present',
      '30s',
      '1',
    ]);
    const namespaces = rows(await succeeds('get', 'namespaces'));
    expect(namespaces[0]).toEqual(['NAME', 'STATUS', 'AGE']);
    expect(namespaces).toContainEqual(['default', 'Active', '2m']);
  });

  it('get pods -w --output-watch-events: a Table row per event, headers once', async () => {
    await start();
    cluster.createPod(podManifest('existing'));
    const watch = kubectl('get', 'pods', '-w', '--output-watch-events');
    const lines = () => rows(watch.stdout);
    await waitFor(() => lines().length >= 2, 'the existing pod', { realMs: 30_000 });
    cluster.createPod(scheduled('new'));
    await waitFor(() => lines().some((row) => row[1] === 'new'), 'the created pod', { realMs: 30_000 });
    cluster.setPodPhase('default', 'new', 'Running');
    await waitFor(() => lines().some((row) => row[1] === 'new' && row[3] === 'Running'), 'the change', {
      realMs: 30_000,
    });
    cluster.deletePod('default', 'new', { gracePeriodSeconds: 0 });
    await waitFor(() => lines().some((row) => row[0] === 'DELETED'), 'the deletion', { realMs: 30_000 });
    watch.process.kill('SIGTERM');
    await watch.done;
    expect(watch.stderr).toBe('');
    expect(lines()).toEqual([
      ['EVENT', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      ['ADDED', 'existing', '0/1', 'Pending', '0', '0s'],
      ['ADDED', 'new', '0/1', 'Pending', '0', '0s'],
      ['MODIFIED', 'new', '1/1', 'Running', '0', '0s'],
      ['DELETED', 'new', '1/1', 'Running', '0', '0s'],
    ]);
  });
});

describe('the Table over the wire', () => {
  it('answers the first servable entry of Accept, with includeObject and list metadata', async () => {
    const url = await start();
    cluster.createPod(podManifest('a'));
    cluster.createPod(podManifest('b'));
    const accept =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const table = await send(url, 'GET', '/api/v1/namespaces/default/pods?limit=1', {
      headers: { Accept: accept },
    });
    expect(table.status).toBe(200);
    const body = table.json() as Record<string, unknown> & { rows: { cells: unknown[]; object: unknown }[] };
    expect(body).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { remainingItemCount: 1 },
    });
    expect((body.metadata as { continue?: string }).continue).toBeTruthy();
    expect(body.rows).toHaveLength(1);
    expect(body.rows[0]?.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'a', namespace: 'default' },
    });
    const full = await send(url, 'GET', '/api/v1/namespaces/default/pods/b?includeObject=Object', {
      headers: { Accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' },
    });
    expect(full.json()).toMatchObject({
      apiVersion: 'meta.k8s.io/v1beta1',
      rows: [
        {
          cells: ['b', '0/1', 'Pending', '0', '0s', '<none>', '<none>', '<none>', '<none>'],
          object: { kind: 'Pod' },
        },
      ],
    });
    const none = await send(url, 'GET', '/api/v1/namespaces/default/pods/b?includeObject=None', {
      headers: { Accept: accept },
    });
    expect((none.json() as { rows: object[] }).rows[0]).not.toHaveProperty('object');
    // An `as` the fake does not print (PartialObjectMetadata) falls through to the next entry.
    const plain = await send(url, 'GET', '/api/v1/namespaces/default/pods/b', {
      headers: { Accept: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json' },
    });
    expect(plain.json()).toMatchObject({ kind: 'Pod' });
    const bad = await send(url, 'GET', '/api/v1/namespaces/default/pods/b?includeObject=All', {
      headers: { Accept: accept },
    });
    expect(bad.status).toBe(400);
  });
});

describe('the node printer (printNode), for when Node objects are served', () => {
  it('prints STATUS from the Ready condition, ROLES from node-role labels, and the wide columns', () => {
    const now = new Date('2026-01-01T01:00:00Z');
    const table = toTable(
      'nodes',
      {
        items: [
          {
            metadata: {
              name: 'fake-node-1',
              creationTimestamp: '2026-01-01T00:00:00Z',
              labels: { 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/control-plane': '' },
            },
            spec: { unschedulable: true },
            status: {
              conditions: [{ type: 'Ready', status: 'True' }],
              addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
              nodeInfo: {
                kubeletVersion: 'v1.32.0',
                osImage: 'Fake OS',
                containerRuntimeVersion: 'fake://1',
              },
            },
          },
          { metadata: { name: 'bare', labels: { 'kubernetes.io/role': 'edge' } }, status: {} },
        ],
        metadata: { resourceVersion: '9' },
      } as never,
      { version: 'v1', includeObject: 'None' },
      now,
    ) as { rows: { cells: unknown[] }[]; columnDefinitions: { name: string }[] };
    expect(table.columnDefinitions.map((column) => column.name)).toEqual([
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      'Internal-IP',
      'External-IP',
      'OS-Image',
      'Kernel-Version',
      'Container-Runtime',
    ]);
    expect(table.rows.map((row) => row.cells)).toEqual([
      [
        'fake-node-1',
        'Ready,SchedulingDisabled',
        'control-plane,worker',
        '60m',
        'v1.32.0',
        '10.0.0.1',
        '<none>',
        'Fake OS',
        '<unknown>',
        'fake://1',
      ],
      ['bare', 'Unknown', 'edge', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    ]);
  });
});
