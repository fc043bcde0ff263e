import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
  /** Resolves when stdout has a line for which `test` is true. */
  line(test: (line: string) => boolean): Promise<string>;
}

/** Runs the built CLI (the fake cluster follows real time, sped up) and collects its output. */
function run(...args: string[]): Run {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const result: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    line: (test) =>
      new Promise((resolve) => {
        const found = result.stdout.split('\n').find(test);
        if (found !== undefined) resolve(found);
        else waiters.push({ test, resolve });
      }),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
    for (const waiter of [...waiters]) {
      const found = result.stdout.split('\n').find(waiter.test);
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString();
  });
  return result;
}

const records = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('podstorage-run', () => {
  it('runs pods from --image to success on the fake cluster: exit 0, JSON lines and a summary', async () => {
    // A job's command: the fake's kubelet runs it 2 s and it exits 0 (an image alone would be a server).
    const result = run(
      '--image',
      'busybox:1.36',
      '--command',
      'echo working; sleep 2',
      '--count',
      '2',
      '--json',
      '--speed',
      '100',
    );
    expect(await result.exit, result.stderr).toBe(0);
    const lines = records(result.stdout);
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

  it('the demo batch shows a failure: exit 1, or 0 with --allow-failed-pods', async () => {
    const strict = run('--json', '--speed', '100');
    const lenient = run('--json', '--speed', '100', '--allow-failed-pods');
    expect(await strict.exit, strict.stderr).toBe(1);
    expect(await lenient.exit, lenient.stderr).toBe(0);
    const summary = records(lenient.stdout).at(-1) as { pods: { pod: string; result: string }[] };
    expect(Object.fromEntries(summary.pods.map((pod) => [pod.pod, pod.result]))).toEqual({
      'quick-success': 'Succeeded',
      'slow-image-pull': 'Succeeded',
      'failing-job': 'Failed',
      'flaky-retry': 'Succeeded',
    });
  });

  it('prints plain lines and a summary table when stdout is not a terminal', async () => {
    const result = run('--image', 'alpine', '--command', 'sleep 2', '--speed', '100');
    expect(await result.exit, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Running 1 pod in default on the embedded fake cluster/);
    expect(result.stdout).toMatch(/podstorage-run-\w+ +event +Started container main/);
    expect(result.stdout).toMatch(
      /POD +FINAL PHASE +DURATION +EVENTS\npodstorage-run-\w+ +Succeeded +[\d.]+s +5/,
    );
  });

  it.each(['undici', 'client-node'])(
    'runs pods on a cluster through the %s backend (the fake API server over HTTPS with a token)',
    async (backend) => {
      const cluster = new FakeCluster({ namespaces: ['default', 'batch'] });
      const stopClock = cluster.clock.followRealTime({ speed: 50 });
      const server = await serveFakeCluster(cluster, { tls: true, token: 'runner-token' });
      const kubeconfig = join(mkdtempSync(join(tmpdir(), 'podstorage-run-')), 'kubeconfig');
      writeFileSync(kubeconfig, server.kubeconfig);
      try {
        const result = run(
          '--backend',
          backend,
          '--kubeconfig',
          kubeconfig,
          '-n',
          'batch',
          '--image',
          'busybox',
          '--command',
          'echo working; sleep 2',
          '--count',
          '2',
          '--json',
        );
        expect(await result.exit, result.stderr).toBe(0);
        const summary = records(result.stdout).at(-1) as { succeeded: boolean; pods: { events: number }[] };
        expect(summary.succeeded).toBe(true);
        expect(summary.pods).toHaveLength(2);
        for (const pod of summary.pods) expect(pod.events).toBeGreaterThanOrEqual(5);
        // Finished pods were deleted: at most terminating ones remain, none running.
        expect(cluster.listPods('batch').items.filter((pod) => !pod.metadata?.deletionTimestamp)).toEqual([]);
      } finally {
        await server.close();
        await stopClock();
      }
    },
  );

  describe('bad input: one line naming the problem, exit 2, nothing created', () => {
    const directory = mkdtempSync(join(tmpdir(), 'podstorage-run-'));
    const service = join(directory, 'service.yaml');
    writeFileSync(service, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n');
    const badName = join(directory, 'bad-name.json');
    writeFileSync(
      badName,
      JSON.stringify({
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'Web_1' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
    );
    const broken = join(directory, 'broken.yaml');
    writeFileSync(broken, 'kind: Pod\n  spec: [\n');
    const unreachable = join(directory, 'unreachable.kubeconfig');
    writeFileSync(
      unreachable,
      'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: http://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n',
    );

    it.each([
      [[join(directory, 'missing.yaml')], /cannot read manifest .*missing\.yaml: no such file/],
      [[service], /service\.yaml: expected kind Pod, found Service/],
      [[badName], /bad-name\.json: Invalid pod name "Web_1"/],
      [[broken], /broken\.yaml is not valid YAML or JSON/],
      [['-n', 'Not_A_Namespace'], /Invalid namespace "Not_A_Namespace"/],
      [['--count', '0', '--image', 'x'], /'--count <count>' argument '0' is invalid/],
      [['--timeout', 'soon'], /invalid duration "soon"/],
      [['--backend', 'undici'], /nothing to run on undici: give manifests or --image/],
      [['--backend', 'undici', '--image', 'x', '--kubeconfig', unreachable], /cannot reach .*127\.0\.0\.1:9/],
    ])('%j', async (args, message) => {
      const result = run(...(args as string[]));
      expect(await result.exit).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).not.toMatch(/created/);
    });
  });

  it('on SIGINT cancels, deletes the pods it created, says so and exits 130', async () => {
    // Real time (speed 1): the default lifecycle takes seconds, so the run is surely mid-way.
    const result = run('--image', 'busybox', '--count', '2', '--json', '--speed', '1');
    await result.line((line) => line.includes('"type":"event"') && line.includes('Pulling image'));
    result.child.kill('SIGINT');
    expect(await result.exit).toBe(130);
    const lines = records(result.stdout);
    expect(lines).toContainEqual(
      expect.objectContaining({ type: 'note', message: expect.stringMatching(/^Interrupted/) }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ type: 'note', message: 'deleted 2 unfinished pods this run created' }),
    );
    expect(lines.at(-1)).toMatchObject({ type: 'summary', succeeded: false });
  });
});
