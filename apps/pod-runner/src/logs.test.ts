// `--logs` as users run it: the built CLI streams each container's output, prefixed as
// `kubectl logs --prefix` prefixes it (staging/src/k8s.io/kubectl/pkg/cmd/logs/logs.go addPrefixIfNeeded:
// `[pod/NAME/CONTAINER] `), on the embedded fake and through both network backends to the fake's API
// server, whose simulated kubelet prints what the container's command echoes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { livePods, records, run, servedCluster } from './cli-test-support.js';

const JOB = ['--command', '--', 'sh', '-c', 'echo first line; sleep 1; echo second line; sleep 1'];

/** A pod with an init container, both printing: init containers' lines come first (--all-containers). */
const manifest = join(mkdtempSync(join(tmpdir(), 'podstorage-run-logs-')), 'two-step.json');
writeFileSync(
  manifest,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'two-step' },
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c', 'echo preparing; sleep 1'] }],
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo serving; sleep 1'] }],
    },
  }),
);

type LogRecord = { type: 'log'; pod: string; container: string; line: string; time: string | null };
const logRecords = (stdout: string) =>
  records(stdout).filter((record): record is LogRecord => record.type === 'log');

describe('podstorage-run --logs', () => {
  it('on the embedded fake: one JSON record per line, each pod its lines once, in order', async () => {
    const result = run([
      '--fake',
      '--speed',
      '50',
      '--json',
      '--logs',
      '--image',
      'busybox',
      '--count',
      '2',
      ...JOB,
    ]);
    expect(await result.exit, result.stderr).toBe(0);
    const logs = logRecords(result.stdout);
    const pods = [...new Set(logs.map((record) => record.pod))];
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      const of = logs.filter((record) => record.pod === pod);
      expect(of.map((record) => `${record.container} ${record.line}`)).toEqual([
        'main first line',
        'main second line',
      ]);
      for (const record of of) expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    }
    // Every log line comes before its pod's finished record: the logs are read before the delete.
    const all = records(result.stdout);
    for (const pod of pods) {
      const lastLog = all.findLastIndex((record) => record.type === 'log' && record.pod === pod);
      const finished = all.findIndex((record) => record.type === 'finished' && record.pod === pod);
      expect(lastLog).toBeLessThan(finished);
    }
  });

  it('piped: `[pod/NAME/CONTAINER] line` lines, init containers first', async () => {
    const result = run(['--fake', '--speed', '50', '--logs', '-f', manifest]);
    expect(await result.exit, result.stderr).toBe(0);
    const logs = result.stdout.split('\n').filter((line) => line.includes('[pod/'));
    expect(logs.map((line) => line.replace(/^ +\d+\.\ds {2}/, ''))).toEqual([
      '[pod/two-step/setup] preparing',
      '[pod/two-step/main] serving',
    ]);
  });

  it('without --logs, no log lines', async () => {
    const result = run(['--fake', '--speed', '50', '--json', '-f', manifest]);
    expect(await result.exit, result.stderr).toBe(0);
    expect(logRecords(result.stdout)).toEqual([]);
  });

  it.each(['undici', 'client-node'])(
    'through the %s backend to the fake API server: the same lines, and nothing left behind',
    async (backend) => {
      const served = await servedCluster();
      try {
        const result = run([
          '--backend',
          backend,
          '--kubeconfig',
          served.kubeconfig,
          '--json',
          '--logs',
          '-f',
          manifest,
        ]);
        expect(await result.exit, result.stderr).toBe(0);
        expect(logRecords(result.stdout).map((record) => `${record.container} ${record.line}`)).toEqual([
          'setup preparing',
          'main serving',
        ]);
        expect(records(result.stdout).filter((record) => record.type === 'note')).toEqual([]);
        expect(livePods(served.cluster)).toEqual([]);
      } finally {
        await served.close();
      }
    },
  );

  it('Ctrl-C while following: the pod is deleted and the run ends (exit 130)', async () => {
    const served = await servedCluster({ speed: 1 });
    try {
      const result = run(
        [
          '--backend',
          'undici',
          '--kubeconfig',
          served.kubeconfig,
          '--logs',
          '--image',
          'busybox',
          '--command',
          '--',
          'sh',
          '-c',
          'echo started; sleep 600',
        ],
        {},
      );
      await result.line((line) => line.includes('] started'));
      result.child.kill('SIGINT');
      expect(await result.exit, result.stderr).toBe(130);
      expect(result.stdout).toMatch(/deleted 1 unfinished pod this run created/);
      expect(livePods(served.cluster)).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
