// What the apiserver does to a pod on create and update, judged by kubectl and @kubernetes/client-node:
// defaults (pkg/apis/core/v1/defaults.go), the default admission plugins (ServiceAccount,
// DefaultTolerationSeconds, Priority) and validation (pkg/apis/core/validation/validation.go).
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeCluster } from '../fake-cluster.js';
import { podManifest, type Run, sendJson, spawnProcess, startServer } from './server-test-support.js';

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectlFound) {
  console.warn('\n*** kubectl is not on PATH: SKIPPING the kubectl pod admission tests. ***\n');
}

let directory: string;
let kubeconfig: string;
const running = new Set<ChildProcess>();

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'podstorage-admission-'));
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

async function start() {
  const started = await startServer();
  kubeconfig = join(directory, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, started.server.kubeconfig);
  return started;
}

function manifest(name: string, spec: string): string {
  const file = join(directory, `${name}.yaml`);
  writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec}`);
  return file;
}

describe.skipIf(!kubectlFound)('kubectl sees the apiserver defaults and validation', () => {
  it('defaults a created pod as the apiserver and its default admission plugins do', async () => {
    const { cluster } = await start();
    const file = manifest(
      'defaults',
      '  containers:\n  - name: latest\n    image: busybox\n  - name: tagged\n    image: registry.example/app:1.2\n  - name: digest\n    image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000\n',
    );
    const created = kubectl('create', '-f', file);
    await created.done;
    expect(created.code, created.stderr).toBe(0);
    const pod = cluster.getPod('default', 'defaults');
    expect(pod?.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      serviceAccountName: 'default',
      serviceAccount: 'default',
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    });
    expect(
      pod?.spec?.containers.map((container) => [
        container.name,
        container.imagePullPolicy,
        container.terminationMessagePath,
        container.terminationMessagePolicy,
      ]),
    ).toEqual([
      ['latest', 'Always', '/dev/termination-log', 'File'],
      ['tagged', 'IfNotPresent', '/dev/termination-log', 'File'],
      ['digest', 'IfNotPresent', '/dev/termination-log', 'File'],
    ]);
  });

  it.each([
    ['no containers', '  containers: []\n', 'The Pod "bad" is invalid: spec.containers: Required value'],
    [
      'a container without image',
      '  containers:\n  - name: main\n',
      'The Pod "bad" is invalid: spec.containers[0].image: Required value',
    ],
    [
      'duplicate container names',
      '  containers:\n  - name: main\n    image: a\n  - name: main\n    image: b\n',
      'The Pod "bad" is invalid: spec.containers[1].name: Duplicate value: "main"',
    ],
    [
      'an invalid restartPolicy',
      '  restartPolicy: Sometimes\n  containers:\n  - name: main\n    image: a\n',
      'The Pod "bad" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
  ])('refuses %s with 422 and the apiserver message', async (_what, spec, message) => {
    const { cluster } = await start();
    const before = cluster.resourceVersion();
    const created = kubectl('create', '-f', manifest('bad', spec));
    await created.done;
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(message);
    expect(cluster.getPod('default', 'bad')).toBeUndefined();
    expect(cluster.resourceVersion()).toBe(before);
  });

  it('refuses to change an immutable pod field, and accepts an image change', async () => {
    const { cluster } = await start();
    cluster.createPod(podManifest('web'));
    const immutable = kubectl(
      'patch',
      'pod',
      'web',
      '--type=merge',
      '-p',
      '{"spec":{"restartPolicy":"Never"}}',
    );
    await immutable.done;
    expect(immutable.code).not.toBe(0);
    expect(immutable.stderr).toContain(
      'The Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`',
    );
    expect(cluster.getPod('default', 'web')?.spec?.restartPolicy).toBe('Always');
    const image = kubectl('set', 'image', 'pod/web', 'main=busybox:1.36');
    await image.done;
    expect(image.code, image.stderr).toBe(0);
    expect(cluster.getPod('default', 'web')?.spec?.containers[0]?.image).toBe('busybox:1.36');
  });
});

describe('the Invalid Status over the wire and in process', () => {
  it('carries details.kind Pod and one cause per problem, several in brackets', async () => {
    const { server } = await startServer();
    const response = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'bad' },
      spec: { containers: [{ name: 'main' }, { name: 'main', image: 'a' }] },
    });
    expect(response.status).toBe(422);
    expect(response.json()).toMatchObject({
      reason: 'Invalid',
      message:
        'Pod "bad" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: "main"]',
      details: {
        name: 'bad',
        kind: 'Pod',
        causes: [
          { reason: 'FieldValueRequired', field: 'spec.containers[0].image', message: 'Required value' },
          {
            reason: 'FieldValueDuplicate',
            field: 'spec.containers[1].name',
            message: 'Duplicate value: "main"',
          },
        ],
      },
    });
  });

  it('the server does not invent a container; the in-process createPod does, for minimal test pods', async () => {
    const { cluster, server } = await startServer();
    const response = await sendJson(server.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'empty' },
    });
    expect(response.status).toBe(422);
    expect(response.json().message).toBe('Pod "empty" is invalid: spec.containers: Required value');
    expect(() => cluster.createPod({ metadata: { name: 'strict' } }, { strict: true })).toThrow(
      'spec.containers: Required value',
    );
    const local = new FakeCluster({ mode: 'manual' });
    expect(local.createPod({ metadata: { name: 'minimal' } }).spec?.containers).toMatchObject([
      { name: 'main', image: 'busybox', imagePullPolicy: 'Always' },
    ]);
  });
});
