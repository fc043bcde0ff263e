// kubectl is the judge of how a kubeconfig is read. The same files are given to kubectl and to the
// programs pod-runner's two network backends make of them (undici's own loader; client-node through
// @podstorage/client-node's loadKubeConfig), on a pipe and on a real pseudo-terminal (util-linux
// `script`), and each must end as kubectl ends: the same outcome, the same words when it fails, and
// the same `spec.interactive` handed to the exec plugin. What kubectl does comes from client-go:
// tools/clientcmd/loader.go (merging KUBECONFIG, relative paths), tools/clientcmd/validation.go and
// plugin/pkg/client/auth/exec/exec.go (interactiveMode).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'parity-token';
// The clients run from another working directory: they import the packages by absolute URL.
const resolve = (specifier: string) => pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href;

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const hasKubectl = has('kubectl', ['version', '--client']);
const hasScript = has('script', ['--version']);
if (!hasKubectl || !hasScript) {
  console.warn(
    `WARNING: kubeconfig parity tests SKIPPED: ${hasKubectl ? '' : 'kubectl '}${hasScript ? '' : 'script (util-linux) '}missing`,
  );
}

/** Lists pods of the current context through one client; prints `ok` or the error, exits 0 or 1. */
const CLIENTS: Record<string, string[]> = {
  kubectl: ['kubectl', 'get', 'pods', '-o', 'name', '--request-timeout=20s'],
  undici: [
    process.execPath,
    '--input-type=module',
    '-e',
    `import { createUndiciTransport } from '${resolve('@podstorage/undici')}';
     try { const t = createUndiciTransport(); await t.list('pods', 'default', { signal: AbortSignal.timeout(20000) }); await t.close(); console.log('ok'); }
     catch (e) { console.error('error: ' + e.message); process.exit(1); }`,
  ],
  'client-node': [
    process.execPath,
    '--input-type=module',
    '-e',
    `import { KubeConfig } from '${resolve('@kubernetes/client-node')}';
     import { createClientNodeTransport, loadKubeConfig } from '${resolve('@podstorage/client-node')}';
     try { const t = createClientNodeTransport({ kubeConfig: loadKubeConfig(KubeConfig) }); await t.list('pods', 'default', { signal: AbortSignal.timeout(20000) }); await t.close(); console.log('ok'); }
     catch (e) { console.error('error: ' + e.message); process.exit(1); }`,
  ],
};

let root: string;
let server: FakeClusterServer;

function write(path: string, content: string, mode?: number): string {
  const file = join(root, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content, mode === undefined ? undefined : { mode });
  return file;
}

/** Two kubeconfigs that both define context `shared`: kubectl takes the first file's. */
function kubeconfigPair(name: string, interactiveMode: string | undefined): string {
  write(
    `${name}/a/bin/plugin`,
    `#!/bin/sh\nprintf '%s\\n' "$KUBERNETES_EXEC_INFO" >> "$(dirname "$0")/runs.log"\n` +
      `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${TOKEN}"}}'\n`,
    0o755,
  );
  const a = write(
    `${name}/a/config`,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'shared',
      clusters: [
        {
          name: 'fake',
          cluster: {
            server: server.url,
            'certificate-authority-data': Buffer.from(server.ca ?? '').toString('base64'),
          },
        },
      ],
      users: [
        {
          name: 'exec-user',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              // Relative, with a directory part: resolved against a/, not the working directory.
              command: './bin/plugin',
              ...(interactiveMode === undefined ? {} : { interactiveMode }),
            },
          },
        },
      ],
      contexts: [{ name: 'shared', context: { cluster: 'fake', user: 'exec-user', namespace: 'default' } }],
    }),
  );
  const b = write(
    `${name}/b/config`,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'elsewhere',
      clusters: [{ name: 'fake', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'other', user: { token: 'wrong' } }],
      contexts: [
        { name: 'shared', context: { cluster: 'fake', user: 'other' } },
        { name: 'elsewhere', context: { cluster: 'fake', user: 'other' } },
      ],
    }),
  );
  return `${a}:${b}`;
}

interface Outcome {
  readonly ok: boolean;
  readonly output: string;
  /** `spec.interactive` of the plugin's last run; `undefined` if it did not run. */
  readonly interactive: boolean | undefined;
}

/** Runs one client on the pair, from another working directory, on a terminal or not. */
async function outcome(
  client: string,
  name: string,
  kubeconfig: string,
  terminal: boolean,
): Promise<Outcome> {
  const runs = join(root, name, 'a', 'bin', 'runs.log');
  rmSync(runs, { force: true });
  const command = CLIENTS[client] ?? [];
  const quoted = command.map((part) => `'${part.replaceAll("'", `'\\''`)}'`).join(' ');
  // `script` gives the client a real pseudo-terminal; the `cd` makes the working directory another one.
  const [file, args] = terminal
    ? ['script', ['-qec', `cd / && ${quoted}`, '/dev/null']]
    : ['sh', ['-c', `cd / && ${quoted} < /dev/null`]];
  const child = spawn(file, args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  let interactive: boolean | undefined;
  try {
    const last = readFileSync(runs, 'utf8').trim().split('\n').at(-1) ?? '';
    interactive = (JSON.parse(last) as { spec: { interactive: boolean } }).spec.interactive;
  } catch {
    interactive = undefined;
  }
  return { ok: code === 0, output, interactive };
}

/** The words kubectl fails with, without its prefixes ("error: ", "getting credentials: "). */
function kubectlReason(output: string): string {
  const line = output.split(/\r?\n/).find((each) => /error|cannot|must/i.test(each)) ?? output;
  return line
    .replace(/^.*?(interactiveMode must be specified|exec plugin cannot support interactive mode)/, '$1')
    .trim();
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'podstorage-kubeconfig-parity-'));
  // client-node and kubectl send exec credentials over TLS only when the server is HTTPS.
  server = await serveFakeCluster(new FakeCluster({ mode: 'manual' }), { tls: true, token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl || !hasScript)('kubeconfig parity with kubectl', () => {
  for (const mode of [undefined, 'Never', 'IfAvailable', 'Always'] as const) {
    for (const terminal of [false, true]) {
      it(`KUBECONFIG=a:b, a relative exec command, interactiveMode ${mode ?? '(missing)'}, ${terminal ? 'on a terminal' : 'on a pipe'}`, async () => {
        const name = `${mode ?? 'missing'}-${terminal ? 'tty' : 'pipe'}`;
        const kubeconfig = kubeconfigPair(name, mode);
        const judge = await outcome('kubectl', name, kubeconfig, terminal);
        // The judge itself: it must have reached the fake through a's context and plugin, or failed.
        if (judge.ok) expect(judge.interactive, judge.output).toBeTypeOf('boolean');
        for (const client of ['undici', 'client-node']) {
          const ours = await outcome(client, name, kubeconfig, terminal);
          expect(ours.ok, `${client} vs kubectl:\n${ours.output}\nkubectl:\n${judge.output}`).toBe(judge.ok);
          if (judge.ok) expect(ours.interactive, `${client}'s plugin run`).toBe(judge.interactive);
          else expect(ours.output, client).toContain(kubectlReason(judge.output));
        }
      }, 120_000);
    }
  }
});
