// loadKubeConfig reads kubeconfigs as kubectl does (client-go tools/clientcmd/loader.go: the first file
// to define a name wins, relative paths resolve against the file that holds them; clientcmd
// validation.go and plugin/pkg/client/auth/exec: interactiveMode). Each case runs on both majors.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientNodeTransport } from './client-node-transport.js';
import { MAJORS } from './clients.test-support.js';
import { loadKubeConfig } from './load-kube-config.js';

const TOKEN = 'parity-secret-token';
let root: string;
let cluster: FakeCluster;
let server: FakeClusterServer;

/** A plugin (shell script) that records what it was given and answers with the server's token. */
const PLUGIN = `#!/bin/sh
printf '%s\\n' "$KUBERNETES_EXEC_INFO" >> "$(dirname "$0")/runs.log"
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${TOKEN}"}}'
`;

function write(path: string, content: string, mode?: number): string {
  const file = join(root, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content, mode === undefined ? undefined : { mode });
  return file;
}

/** A kubeconfig (JSON is YAML) with one context `name` → cluster `clusterName` → user `userName`. */
function kubeconfig(entries: {
  current?: string;
  contexts: [name: string, cluster: string, user: string, namespace?: string][];
  clusters?: [name: string, cluster: object][];
  users?: [name: string, user: object][];
}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    ...(entries.current ? { 'current-context': entries.current } : {}),
    contexts: entries.contexts.map(([name, clusterName, user, namespace]) => ({
      name,
      context: { cluster: clusterName, user, ...(namespace ? { namespace } : {}) },
    })),
    clusters: (entries.clusters ?? []).map(([name, value]) => ({ name, cluster: value })),
    users: (entries.users ?? []).map(([name, value]) => ({ name, user: value })),
  });
}

const served = () => ({ server: server.url, 'insecure-skip-tls-verify': true });
const runs = (directory: string) =>
  readFileSync(join(root, directory, 'runs.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (line === '' ? undefined : (JSON.parse(line) as { spec: { interactive: boolean } })));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'podstorage-kubeconfig-'));
  cluster = new FakeCluster({ mode: 'manual' });
  server = await serveFakeCluster(cluster, { token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe.each(MAJORS)('loadKubeConfig with $name', ({ name, client }) => {
  const patchesPlugins = name.includes(' 2.');
  const environment = (KUBECONFIG: string) => ({
    env: { KUBECONFIG },
    homeDirectory: join(root, 'no-home'),
    workingDirectory: tmpdir(),
    stdinIsTerminal: false,
  });

  it('merges KUBECONFIG as kubectl: the first file defining a name and setting current-context wins', () => {
    const a = write(
      'merge/a/config',
      kubeconfig({
        current: 'shared',
        contexts: [['shared', 'c1', 'u1', 'from-a']],
        clusters: [['c1', served()]],
        users: [['u1', { token: TOKEN }]],
      }),
    );
    const b = write(
      'merge/b/config',
      kubeconfig({
        current: 'other',
        contexts: [
          ['shared', 'c2', 'u2', 'from-b'],
          ['other', 'c2', 'u2'],
        ],
        clusters: [
          ['c1', { server: 'https://elsewhere.invalid' }],
          ['c2', { server: 'https://c2.invalid' }],
        ],
        users: [['u2', { token: 'b' }]],
      }),
    );
    // client-node's own loadFromDefault refuses this pair ("Duplicate context: shared").
    const kubeConfig = loadKubeConfig(client.KubeConfig, environment(`${a}:${join(root, 'missing')}:${b}`));
    expect(kubeConfig.getCurrentContext?.()).toBe('shared');
    expect(kubeConfig.getCurrentCluster()?.server).toBe(server.url);
    expect(kubeConfig.getContexts?.().map((context) => context.name)).toEqual(['shared', 'other']);
    // --context picks among the merged contexts; an unknown one is named with the known ones.
    expect(
      loadKubeConfig(client.KubeConfig, { ...environment(`${a}:${b}`), context: 'other' }).getCurrentCluster()
        ?.server,
    ).toBe('https://c2.invalid');
    expect(() => loadKubeConfig(client.KubeConfig, { ...environment(a), context: 'nope' })).toThrow(
      /context "nope": no such context .*"shared"/,
    );
    expect(() => loadKubeConfig(client.KubeConfig, environment(join(root, 'missing')))).toThrow(
      /KUBECONFIG .*none of its files exists/,
    );
  });

  it('resolves an exec command, token file and certificate paths against the file that holds them', async () => {
    const directory = `paths-${client.KubeConfig.name}-${Math.random().toString(36).slice(2)}`;
    write(`${directory}/bin/plugin`, PLUGIN, 0o755);
    write(`${directory}/token`, TOKEN);
    const file = write(
      `${directory}/config`,
      kubeconfig({
        current: 'exec',
        contexts: [
          ['exec', 'c1', 'exec-user'],
          ['token-file', 'c1', 'file-user'],
        ],
        clusters: [['c1', served()]],
        users: [
          [
            'exec-user',
            {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: './bin/plugin',
                interactiveMode: 'Never',
              },
            },
          ],
          ['file-user', { tokenFile: 'token' }],
        ],
      }),
    );
    // The working directory is elsewhere: only the file's directory makes these paths work.
    for (const context of ['exec', 'token-file']) {
      const transport = createClientNodeTransport({
        kubeConfig: loadKubeConfig(client.KubeConfig, { ...environment(file), context }),
        client,
      });
      try {
        const list = await transport.list('pods', 'default', { signal: AbortSignal.timeout(20_000) });
        expect(list.items).toEqual([]);
      } finally {
        await transport.close();
      }
    }
    // kubectl hands the plugin KUBERNETES_EXEC_INFO; client-node 2.x alone would not (1.x's
    // authenticators are shared by every KubeConfig of the process, so they are left alone).
    const info = runs(`${directory}/bin`).at(-1);
    if (patchesPlugins) expect(info?.spec.interactive).toBe(false);
    else expect(info).toBeUndefined();
  });

  it('applies interactiveMode as kubectl: required for v1 plugins, Always needs a terminal, IfAvailable uses one', async () => {
    const directory = `interactive-${client.KubeConfig.name}-${Math.random().toString(36).slice(2)}`;
    const plugin = write(`${directory}/plugin`, PLUGIN, 0o755);
    const file = (mode: string | undefined) =>
      write(
        `${directory}/${mode ?? 'missing'}`,
        kubeconfig({
          current: 'exec',
          contexts: [['exec', 'c1', 'exec-user']],
          clusters: [['c1', served()]],
          users: [
            [
              'exec-user',
              {
                exec: {
                  apiVersion: 'client.authentication.k8s.io/v1',
                  command: plugin,
                  ...(mode ? { interactiveMode: mode } : {}),
                },
              },
            ],
          ],
        }),
      );
    expect(() => loadKubeConfig(client.KubeConfig, environment(file(undefined)))).toThrow(
      'interactiveMode must be specified for exec-user to use exec authentication plugin',
    );
    expect(() => loadKubeConfig(client.KubeConfig, environment(file('Sometimes')))).toThrow(
      /invalid interactiveMode for exec-user/,
    );
    expect(() => loadKubeConfig(client.KubeConfig, environment(file('Always')))).toThrow(
      'exec plugin cannot support interactive mode: standard input is not a terminal',
    );
    // With a terminal, the plugin is told it may prompt (the terminal itself is checked by the
    // pod-runner's parity test, which runs kubectl and both backends under a real pseudo-terminal).
    for (const mode of ['Always', 'IfAvailable', 'Never']) {
      const transport = createClientNodeTransport({
        kubeConfig: loadKubeConfig(client.KubeConfig, { ...environment(file(mode)), stdinIsTerminal: true }),
        client,
      });
      try {
        await transport.list('pods', 'default', { signal: AbortSignal.timeout(20_000) });
      } finally {
        await transport.close();
      }
      if (patchesPlugins) expect(runs(directory).at(-1)?.spec.interactive).toBe(mode !== 'Never');
      else expect(runs(directory)).not.toHaveLength(0);
    }
  });

  it('refuses a KubeConfig loaded elsewhere whose v1 plugin does not say its interactiveMode', () => {
    const kubeConfig = new client.KubeConfig();
    kubeConfig.loadFromString(
      kubeconfig({
        current: 'exec',
        contexts: [['exec', 'c1', 'exec-user']],
        clusters: [['c1', served()]],
        users: [['exec-user', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' } }]],
      }),
    );
    expect(() => createClientNodeTransport({ kubeConfig, client })).toThrow(
      'interactiveMode must be specified for exec-user',
    );
  });
});
