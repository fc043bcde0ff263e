import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '@podstorage/core';
import { LIFECYCLE_ANNOTATION } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { livePods, records, run, servedCluster } from './cli-test-support.js';

const directory = mkdtempSync(join(tmpdir(), 'podstorage-run-'));
const file = (name: string, text: string) => {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
};
/** A job manifest: never restarted, its command runs 1 s and exits 0 (the fake's kubelet reads it). */
const podYaml = (name: string, extra = '') =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${extra}spec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox\n    command: [sh, -c, 'echo done; sleep 1']\n`;
/** A pod that runs for `runMs` of the fake's time once started (the fake's kubelet reads the annotation). */
const longPod = (name: string, runMs: number): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ pullMs: 100, runMs }) } },
  spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
});

describe('podstorage-run', () => {
  it('runs pods from --image to success on the fake cluster: exit 0, JSON lines and a summary', async () => {
    const result = run([
      '--fake',
      '--image',
      'busybox:1.36',
      '--count',
      '2',
      '--json',
      '--speed',
      '100',
      '--timeout',
      '30s',
      // A job: the fake's kubelet runs this command 2 s and it exits 0 (an image alone is a server).
      '--',
      'sh',
      '-c',
      'echo working; sleep 2',
    ]);
    expect(await result.exit, result.stderr).toBe(0);
    const lines = records(result.stdout);
    expect(lines[0]).toEqual({ type: 'start', pods: 2, namespace: 'default', backend: 'fake' });
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ type: 'summary', succeeded: true });
    expect(summary?.pods).toHaveLength(2);
    const created = lines.filter((line) => line.type === 'created');
    expect(created.map((line) => line.image)).toEqual(['busybox:1.36', 'busybox:1.36']);
    expect(
      lines.some((line) => line.type === 'event' && line.message === 'Pulling image "busybox:1.36"'),
    ).toBe(true);
    expect(lines.some((line) => line.type === 'phase' && line.to === 'Succeeded')).toBe(true);
  });

  it('the demo batch (--fake with nothing else) shows a failure: exit 1, or 0 with --allow-failed-pods', async () => {
    const strict = run(['--fake', '--json', '--speed', '100']);
    const lenient = run(['--fake', '--json', '--speed', '100', '--allow-failed-pods']);
    expect(await strict.exit, strict.stderr).toBe(1);
    expect(await lenient.exit, lenient.stderr).toBe(0);
    const summary = records(lenient.stdout).at(-1) as {
      pods: { pod: string; phase: string; result: string }[];
    };
    expect(Object.fromEntries(summary.pods.map((pod) => [pod.pod, [pod.phase, pod.result]]))).toEqual({
      'quick-success': ['Succeeded', 'Succeeded'],
      'slow-image-pull': ['Succeeded', 'Succeeded'],
      'failing-job': ['Failed', 'Failed'],
      'flaky-retry': ['Succeeded', 'Succeeded'],
    });
  });

  it('prints plain lines and a summary table when stdout is not a terminal', async () => {
    const result = run(['--fake', '--image', 'alpine', '--speed', '100', '--', 'sleep', '2']);
    expect(await result.exit, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^Running 1 pod in namespace default on the embedded fake cluster \(time x100\)\n/,
    );
    expect(result.stdout).toMatch(/ +\d+\.\ds {2}podstorage-run-\w+ +event +Started container main/);
    expect(result.stdout).toMatch(/ +\d+\.\ds {2}podstorage-run-\w+ +phase +Pending -> Running/);
    expect(result.stdout).toMatch(
      /POD +PHASE +DURATION +EVENTS +ERROR\npodstorage-run-\w+ +Succeeded +[\d.]+s +5\n/,
    );
  });

  it('--version prints the version of the package', async () => {
    const result = run(['--version']);
    expect(await result.exit).toBe(0);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(result.stdout).toBe(`podstorage-run ${version}\n`);
  });

  describe('-f as kubectl takes it', () => {
    const manifests = join(directory, 'manifests');
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'a.yaml'), `${podYaml('from-dir-a')}---\n${podYaml('from-dir-b')}`);
    writeFileSync(
      join(manifests, 'c.json'),
      JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        items: [
          {
            kind: 'Pod',
            apiVersion: 'v1',
            metadata: { name: 'from-dir-c' },
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'sleep 1'] }],
            },
          },
        ],
      }),
    );
    writeFileSync(
      join(manifests, 'notes.txt'),
      'not a manifest: a directory gives only its .json, .yaml and .yml files',
    );
    const single = file('single.yml', podYaml('from-file'));
    const other = file('other.yaml', podYaml('from-comma'));

    it('a manifest that names its namespace runs there without -n', async () => {
      const result = run([
        '--fake',
        '--json',
        '--speed',
        '100',
        '-f',
        file('batch-pod.yaml', podYaml('in-batch', '  namespace: batch\n')),
      ]);
      expect(await result.exit, result.stderr).toBe(0);
      expect(records(result.stdout)[0]).toMatchObject({ type: 'start', namespace: 'batch' });
    });

    it('files, directories, comma lists and - for standard input, every pod in one run', async () => {
      const result = run(
        [
          '--fake',
          '--json',
          '--speed',
          '100',
          '-f',
          manifests,
          '-f',
          `${single},${other}`,
          '--filename',
          '-',
        ],
        { stdin: podYaml('from-stdin') },
      );
      expect(await result.exit, result.stderr).toBe(0);
      const summary = records(result.stdout).at(-1) as { pods: { pod: string; phase: string }[] };
      expect(summary.pods.map((pod) => [pod.pod, pod.phase])).toEqual(
        ['from-dir-a', 'from-dir-b', 'from-dir-c', 'from-file', 'from-comma', 'from-stdin'].map((name) => [
          name,
          'Succeeded',
        ]),
      );
    });
  });

  it('-- ARGS become the container args, --command -- CMD ARGS its command, as with kubectl run', async () => {
    const served = await servedCluster();
    try {
      const seen: Pod[] = [];
      const stop = new AbortController();
      const watching = (async () => {
        const events = await served.cluster.transport().watch('pods', 'default', { signal: stop.signal });
        try {
          for await (const event of events) if (event.type === 'ADDED') seen.push(event.object as Pod);
        } catch {
          // The watch ends when the test stops it.
        }
      })();
      const env = { KUBECONFIG: served.kubeconfig };
      const withArgs = run(['--image', 'busybox', '--json', '--', 'echo', 'hello world'], { env });
      expect(await withArgs.exit, withArgs.stderr).toBe(0);
      const withCommand = run(['--image', 'busybox', '--json', '--command', '--', 'sh', '-c', 'exit 0'], {
        env,
      });
      expect(await withCommand.exit, withCommand.stderr).toBe(0);
      stop.abort();
      await watching;
      // As stored: the fake applies the apiserver's container defaults (imagePullPolicy, ...) besides.
      expect(seen.map((pod) => pod.spec?.containers[0])).toMatchObject([
        { name: 'main', image: 'busybox', args: ['echo', 'hello world'] },
        { name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 0'] },
      ]);
    } finally {
      await served.close();
    }
  });

  it('runs on the current kubeconfig context by default (KUBECONFIG), and says where in the header', async () => {
    const served = await servedCluster();
    try {
      const result = run(['--image', 'busybox', '--count', '2', '--', 'sh', '-c', 'echo working; sleep 2'], {
        env: { KUBECONFIG: served.kubeconfig },
      });
      expect(await result.exit, result.stderr).toBe(0);
      expect(result.stdout.split('\n')[0]).toBe(
        `Running 2 pods in namespace default on context podstorage-fake (cluster ${served.server.url}, through undici)`,
      );
      expect(livePods(served.cluster)).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it.each(['undici', 'client-node'])(
    'runs pods on a cluster through the %s backend (the fake API server over HTTPS with a token)',
    async (backend) => {
      const served = await servedCluster();
      try {
        const args = [
          '--backend',
          backend,
          '--kubeconfig',
          served.kubeconfig,
          '-n',
          'batch',
          '--image',
          'busybox',
          '--count',
          '2',
          '--json',
          '--',
          'sh',
          '-c',
          'echo working; sleep 2',
        ];
        const result = run(args);
        expect(await result.exit, result.stderr).toBe(0);
        const lines = records(result.stdout);
        expect(lines[0]).toEqual({
          type: 'start',
          pods: 2,
          namespace: 'batch',
          backend,
          context: 'podstorage-fake',
          server: served.server.url,
        });
        const summary = lines.at(-1) as { succeeded: boolean; pods: { events: number }[] };
        expect(summary.succeeded).toBe(true);
        expect(summary.pods).toHaveLength(2);
        for (const pod of summary.pods) expect(pod.events).toBeGreaterThanOrEqual(5);
        // Finished pods were deleted: at most terminating ones remain, none running.
        expect(livePods(served.cluster, 'batch')).toEqual([]);
      } finally {
        await served.close();
      }
    },
  );

  it.each([[[]], [['--backend', 'client-node']]])(
    'with no kubeconfig %j: exit 2, and the message says how to run on the fake instead',
    async (backend) => {
      const result = run([...backend, '--image', 'busybox']);
      expect(await result.exit).toBe(2);
      expect(result.stderr).toMatch(
        /^podstorage-run: cannot use the kubeconfig \(.*\): (no configuration found|no kubeconfig): KUBECONFIG is not set, .*; to run on an embedded fake cluster instead, add --fake\n$/,
      );
    },
  );

  describe('bad input: one line naming the problem, exit 2, nothing created', () => {
    const service = file('service.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n');
    const badName = file(
      'bad-name.json',
      JSON.stringify({
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'Web_1' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
    );
    const broken = file('broken.yaml', 'kind: Pod\n  spec: [\n');
    const first = file('first.yaml', `${podYaml('web')}---\n${podYaml('api')}`);
    const second = file('second.yaml', podYaml('web'));
    const inBatch = file('in-batch.yaml', podYaml('elsewhere', '  namespace: batch\n'));
    const unreachable = file(
      'unreachable.kubeconfig',
      'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: http://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n',
    );

    it.each([
      [
        ['--fake', '-f', join(directory, 'missing.yaml')],
        /cannot read manifest .*missing\.yaml: no such file/,
      ],
      [['--fake', '-f', service], /service\.yaml: expected kind Pod, found Service/],
      [['--fake', '-f', badName], /bad-name\.json: Invalid pod name "Web_1"/],
      [['--fake', '-f', broken], /broken\.yaml is not valid YAML or JSON/],
      [
        ['--fake', '-f', first, '-f', second],
        /pod name web is given twice: in .*first\.yaml \(document 1\) and in .*second\.yaml$/m,
      ],
      [
        ['--fake', '-f', inBatch, '-n', 'default'],
        /pod elsewhere is in namespace batch, but the run is in default \(use -n batch\)/,
      ],
      [['--fake', service], /unexpected argument ".*service\.yaml": manifests go after -f/],
      [['--fake', '-n', 'Not_A_Namespace'], /Invalid namespace "Not_A_Namespace"/],
      [['--fake', '--count', '0', '--image', 'x'], /'--count <count>' argument '0' is invalid/],
      [['--fake', '--timeout', 'soon'], /invalid duration "soon"/],
      [['--fake', '--timeout=30'], /invalid duration "30": missing unit \(use 30s/],
      [['--fake', '--', 'echo', 'hi'], /--count, --command and -- ARGS go with --image/],
      [['--fake', '--image', 'x', '--command'], /--command needs the command after --/],
      [['--fake', '--backend', 'client-node'], /--fake and --backend client-node contradict each other/],
      [['--image', 'x', '--speed', '3'], /--speed goes with --fake/],
      [[], /nothing to run: give -f FILE or --image IMAGE \(or --fake for a demo batch/],
      [['--backend', 'undici', '--image', 'x', '--kubeconfig', unreachable], /cannot reach .*127\.0\.0\.1:9/],
    ])('%j', async (args, message) => {
      const result = run(args as string[]);
      expect(await result.exit).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).not.toMatch(/created/);
    });

    it.each(['undici', 'client-node'])(
      'a namespace missing on the cluster (%s), found before any pod exists',
      async (backend) => {
        const served = await servedCluster();
        try {
          const result = run(['--backend', backend, '-f', first, '-n', 'nowhere'], {
            env: { KUBECONFIG: served.kubeconfig },
          });
          expect(await result.exit).toBe(2);
          expect(result.stderr).toMatch(
            /^podstorage-run: namespace nowhere does not exist on context podstorage-fake .*nothing was created/,
          );
          expect(result.stderr.trim().split('\n')).toHaveLength(1);
          expect(result.stdout).not.toMatch(/created|POD/);
          expect(served.cluster.listPods(undefined).items).toEqual([]);
        } finally {
          await served.close();
        }
      },
    );
  });

  it('on SIGINT cancels, deletes the pods it created, says so and exits 130', async () => {
    // Real time (speed 1): the default lifecycle takes seconds, so the run is surely mid-way.
    const result = run(['--fake', '--image', 'busybox', '--count', '2', '--json', '--speed', '1']);
    await result.line((line) => line.includes('"type":"event"') && line.includes('Pulling image'));
    result.child.kill('SIGINT');
    expect(await result.exit).toBe(130);
    const lines = records(result.stdout);
    expect(lines).toContainEqual(
      expect.objectContaining({ type: 'note', message: expect.stringMatching(/^Interrupted \(SIGINT\)/) }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ type: 'note', message: 'deleted 2 unfinished pods this run created' }),
    );
    expect(lines.at(-1)).toMatchObject({ type: 'summary', succeeded: false });
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)(
    'on %s cleans up as on Ctrl-C and exits %d; the summary has the last phase seen',
    async (signal, code) => {
      const served = await servedCluster({ speed: 1 });
      try {
        const manifest = file('long.json', JSON.stringify(longPod('long-runner', 600_000)));
        const result = run(['-f', manifest, '--json'], { env: { KUBECONFIG: served.kubeconfig } });
        await result.line((line) => line.includes('"type":"phase"') && line.includes('"to":"Running"'));
        result.child.kill(signal);
        expect(await result.exit, result.stderr).toBe(code);
        const lines = records(result.stdout);
        expect(lines).toContainEqual(
          expect.objectContaining({ type: 'note', message: 'deleted 1 unfinished pod this run created' }),
        );
        expect(lines.at(-1)).toEqual({
          type: 'summary',
          succeeded: false,
          pods: [
            expect.objectContaining({
              pod: 'long-runner',
              phase: 'Running',
              result: 'interrupted',
              error: `interrupted (${signal})`,
            }),
          ],
        });
        expect(livePods(served.cluster)).toEqual([]);
      } finally {
        await served.close();
      }
    },
  );
});
