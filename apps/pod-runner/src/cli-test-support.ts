import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';

/** The built CLI: the tests run it as users do, as a child process. */
export const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A CLI run: its output so far, its exit, and waits on its output. */
export interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** The exit code, or the signal's name if a signal ended it. */
  readonly exit: Promise<number | string | null>;
  /** Resolves with the first line of stdout for which `test` is true; rejects if the run ends first. */
  line(test: (line: string) => boolean): Promise<string>;
}

export interface RunOptions {
  /** Environment on top of a clean one: no KUBECONFIG, a HOME without a kubeconfig, unless given here. */
  readonly env?: Record<string, string | undefined>;
  /** Text for standard input (else none). */
  readonly stdin?: string;
}

// Each run gets a HOME of its own, so the machine's ~/.kube/config never leaks into a test.
const emptyHome = mkdtempSync(join(tmpdir(), 'podstorage-run-home-'));

/** The environment of a run: this one without kubeconfig or in-cluster hints, plus `extra`. */
export function cleanEnvironment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: emptyHome };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs the built CLI and collects its output. */
export function run(args: readonly string[], options: RunOptions = {}): Run {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: cleanEnvironment(options.env),
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  const waiters: {
    test: (line: string) => boolean;
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }[] = [];
  let ended = false;
  const find = (test: (line: string) => boolean) => result.stdout.split('\n').find(test);
  const result: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => {
      child.on('close', (code, signal) => {
        ended = true;
        for (const waiter of waiters.splice(0)) {
          waiter.reject(
            new Error(
              `the run ended (${code ?? signal}) before the line; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
            ),
          );
        }
        resolve(code ?? signal);
      });
    }),
    line: (test) =>
      new Promise((resolve, reject) => {
        const found = find(test);
        if (found !== undefined) resolve(found);
        else if (ended) reject(new Error(`the run ended before the line; stdout:\n${result.stdout}`));
        else waiters.push({ test, resolve, reject });
      }),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
    for (const waiter of [...waiters]) {
      const found = find(waiter.test);
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

/** The JSON records of a `--json` run. */
export const records = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** A fake cluster served over HTTPS with a token, its clock following real time, and a kubeconfig file. */
export async function servedCluster(options: { namespaces?: string[]; speed?: number } = {}): Promise<{
  cluster: FakeCluster;
  server: FakeClusterServer;
  kubeconfig: string;
  close(): Promise<void>;
}> {
  const cluster = new FakeCluster({ namespaces: options.namespaces ?? ['default', 'batch'] });
  const stopClock = cluster.clock.followRealTime({ speed: options.speed ?? 50 });
  const server = await serveFakeCluster(cluster, { tls: true, token: 'runner-token' });
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'podstorage-run-')), 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig);
  return {
    cluster,
    server,
    kubeconfig,
    close: async () => {
      await server.close();
      await stopClock();
    },
  };
}

/** Pods of the cluster that are not being deleted: what a run left behind. */
export function livePods(cluster: FakeCluster, namespace = 'default') {
  return cluster.listPods(namespace).items.filter((pod) => !pod.metadata?.deletionTimestamp);
}
