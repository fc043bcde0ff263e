// The Python client (Debian's python3-kubernetes, as .ci/run installs it) against the fake API server.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { podManifest, spawnProcess, startServer, waitFor } from './server-test-support.js';

// Debian's package lives in the system interpreter; a python3 earlier on PATH (pyenv) may not see it.
const python = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import kubernetes'], { encoding: 'utf8' }).status === 0,
);
if (python === undefined) {
  console.warn(
    '\n*** The Python kubernetes client is missing: SKIPPING the Python tests of the fake API server. Install it with `apt-get install -y python3-kubernetes` (.ci/run does). ***\n',
  );
}

const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs a Python program with the client configured for `url` as `api` (a CoreV1Api). */
function runPython(url: string, program: string) {
  const script = [
    'import json, sys',
    'from kubernetes import client, watch',
    'configuration = client.Configuration()',
    `configuration.host = ${JSON.stringify(url)}`,
    'api = client.CoreV1Api(client.ApiClient(configuration))',
    program,
  ].join('\n');
  return spawnProcess(python as string, ['-c', script], running);
}

describe.skipIf(python === undefined)('the Python client against the fake API server', () => {
  it('streams a watch of pods: watch=True and allowWatchBookmarks=True are booleans to the apiserver', async () => {
    // The client sends Python's spelling, `watch=True`; the apiserver's query conversion
    // (Convert_Slice_string_To_bool, apimachinery/pkg/runtime/conversion.go) reads every value but
    // "0" and "false" as true.
    const { cluster, server } = await startServer();
    cluster.createPod(podManifest('existing'));
    const run = runPython(
      server.url,
      [
        'for event in watch.Watch().stream(api.list_namespaced_pod, "default", allow_watch_bookmarks=True, timeout_seconds=120):',
        '    if event["type"] == "BOOKMARK": continue',
        '    print(event["type"], event["object"].metadata.name, event["object"].status.phase, flush=True)',
      ].join('\n'),
    );
    const seen = (line: string) => run.stdout.split('\n').includes(line);
    await waitFor(() => seen('ADDED existing Pending') || run.code !== undefined, 'the existing pod', {
      realMs: 30_000,
    });
    expect(run.stderr).toBe('');
    cluster.createPod(podManifest('new'));
    await waitFor(() => seen('ADDED new Pending'), 'the created pod', { realMs: 30_000 });
    cluster.setPodPhase('default', 'new', 'Running');
    await waitFor(() => seen('MODIFIED new Running'), 'the phase change', { realMs: 30_000 });
    cluster.deletePod('default', 'new');
    await waitFor(() => seen('DELETED new Running'), 'the deletion', { realMs: 30_000 });
    // The watch's own timeout ends it on the cluster clock, and the client returns cleanly.
    await cluster.clock.advance(120_000);
    await run.done;
    expect(run.code, run.stderr).toBe(0);
  });
});
