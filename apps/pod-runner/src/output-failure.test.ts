import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIFECYCLE_ANNOTATION } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { cleanEnvironment, cli, livePods, run, servedCluster } from './cli-test-support.js';

// A pod the fake's scheduler never places: it stays Pending, with a FailedScheduling warning each
// minute of the fake's time, so only the closed output can end the run before its 10 minutes.
const manifest = join(mkdtempSync(join(tmpdir(), 'podstorage-run-')), 'pending.json');
writeFileSync(
  manifest,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'never-scheduled',
      annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ unschedulable: true }) },
    },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
  }),
);

/** Runs `podstorage-run -f manifest` in bash, piped as given, and returns the runner's own exit status. */
function pipeline(pipe: string, kubeconfig: string) {
  const child = spawn(
    'bash',
    ['-c', `"$NODE" "$CLI" -f "$MANIFEST" ${pipe}; echo "runner exit \${PIPESTATUS[0]}" >&2`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnvironment({ NODE: process.execPath, CLI: cli, MANIFEST: manifest, KUBECONFIG: kubeconfig }),
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<{ stdout: string; stderr: string }>((resolve) =>
    child.on('close', () => resolve({ stdout, stderr })),
  );
}

const noStackTrace = (stderr: string) => {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/Error:|node:internal|Unhandled/);
};

describe('a closed output is cleaned up like Ctrl-C', () => {
  it('`| head -2`: the pod is deleted on the cluster, exit 141 (SIGPIPE), a note on stderr, no stack trace', async () => {
    const served = await servedCluster({ speed: 20 });
    try {
      const { stdout, stderr } = await pipeline('| head -2', served.kubeconfig);
      expect(stdout.split('\n').slice(0, 1)).toEqual([
        `Running 1 pod in namespace default on context podstorage-fake (cluster ${served.server.url}, through undici)`,
      ]);
      noStackTrace(stderr);
      expect(stderr).toMatch(
        /^podstorage-run: stdout failed \(EPIPE\)\. Output closed: cancelling, then deleting the pods this run created\npodstorage-run: deleted 1 unfinished pod this run created\nrunner exit 141\n$/,
      );
      expect(livePods(served.cluster)).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('`2>&1 | head -2`: stdout and stderr both gone, still cleaned up, exit 141', async () => {
    const served = await servedCluster({ speed: 20 });
    try {
      const { stderr } = await pipeline('2>&1 | head -2', served.kubeconfig);
      expect(stderr).toBe('runner exit 141\n');
      expect(livePods(served.cluster)).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('a pipe its reader closes mid-run: the next write fails, and the pod the run created is deleted', async () => {
    const served = await servedCluster({ speed: 1 });
    try {
      const result = run(['-f', manifest], { env: { KUBECONFIG: served.kubeconfig } });
      await result.line((line) => / never-scheduled +created /.test(line));
      expect(livePods(served.cluster).map((pod) => pod.metadata?.name)).toEqual(['never-scheduled']);
      result.child.stdout?.destroy();
      // Something for the runner to write into the closed pipe, without waiting for the fake's minute.
      served.cluster.recordPodEvent(
        { namespace: 'default', name: 'never-scheduled' },
        { reason: 'Nudge', message: 'an event to report' },
      );
      expect(await result.exit, result.stderr).toBe(141);
      noStackTrace(result.stderr);
      expect(result.stderr).toMatch(/deleted 1 unfinished pod this run created/);
      expect(livePods(served.cluster)).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
