import { inspect } from 'node:util';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ClusterConfig, loadClusterConfig } from './cluster-config.js';
import { KubeconfigError } from './errors.js';
import type { ConfigEnvironment } from './kubeconfig.js';
import { TEST_CA, TEST_CLIENT_ALICE } from './test-certificates.js';
import { temporaryDirectory } from './test-support.js';

const TOKEN = 'kubeconfig-secret-token-1234';
// Real PEM (the test PKI): a CA, and a client certificate with its key, which are checked to parse
// and to belong together. KEY_MATERIAL is a line of the key that must never be shown.
const PEM = TEST_CA;
const CERT = TEST_CLIENT_ALICE.cert;
const KEY = TEST_CLIENT_ALICE.key;
const KEY_MATERIAL = KEY.split('\n')[1] as string;
const b64 = (text: string) => Buffer.from(text).toString('base64');

let directory: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  directory = temporaryDirectory();
});
afterEach(() => directory.remove());

function environment(env: Record<string, string> = {}): ConfigEnvironment {
  return { env, homeDirectory: directory.path, workingDirectory: directory.path };
}

function kubeconfig(
  options: {
    contexts?: [string, string, string?, string?][];
    clusters?: [string, string][];
    users?: [string, string][];
    current?: string;
  } = {},
): string {
  const contexts = options.contexts ?? [['main', 'cluster-a', 'user-a', 'team']];
  const clusters = options.clusters ?? [['cluster-a', 'server: https://a.example:6443']];
  const users = options.users ?? [['user-a', `token: ${TOKEN}`]];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...clusters.flatMap(([name, body]) => [
      `- name: ${name}`,
      '  cluster:',
      ...body.split('\n').map((l) => `    ${l}`),
    ]),
    'users:',
    ...users.flatMap(([name, body]) => [
      `- name: ${name}`,
      '  user:',
      ...body.split('\n').map((l) => `    ${l}`),
    ]),
    'contexts:',
    ...contexts.flatMap(([name, cluster, user, namespace]) => [
      `- name: ${name}`,
      '  context:',
      `    cluster: ${cluster}`,
      ...(user ? [`    user: ${user}`] : []),
      ...(namespace ? [`    namespace: ${namespace}`] : []),
    ]),
    ...(options.current === '' ? [] : [`current-context: ${options.current ?? 'main'}`]),
    '',
  ].join('\n');
}

function failure(load: () => unknown): KubeconfigError {
  try {
    load();
  } catch (error) {
    expect(KubeconfigError.isInstance(error), `a KubeconfigError, got ${String(error)}`).toBe(true);
    const message = (error as Error).message;
    // Whatever went wrong, no secret of the file reaches the message.
    for (const secret of [TOKEN, KEY_MATERIAL, b64(KEY)]) expect(message).not.toContain(secret);
    return error as KubeconfigError;
  }
  throw new Error('expected a KubeconfigError');
}

describe('kubeconfig files', () => {
  it('loads an explicit path: server, namespace of the context, token', () => {
    const path = directory.write('config', kubeconfig());
    const config = loadClusterConfig({ kubeconfig: path, environment: environment() });
    expect(config.server.href).toBe('https://a.example:6443/');
    expect(config.namespace).toBe('team');
    expect(config.context).toBe('main');
    expect(config.auth.type).toBe('token');
    expect(config.auth.type === 'token' && config.auth.token.reveal()).toBe(TOKEN);
  });

  it('takes YAML text and objects too; a context without a namespace means default', () => {
    const text = kubeconfig({ contexts: [['main', 'cluster-a', 'user-a']] });
    expect(loadClusterConfig({ kubeconfig: text, environment: environment() }).namespace).toBe('default');
    const object = {
      clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }],
      contexts: [{ name: 'x', context: { cluster: 'c' } }],
      'current-context': 'x',
    };
    const config = loadClusterConfig({ kubeconfig: object, environment: environment() });
    expect(config.auth.type).toBe('none');
    expect(config.server.origin).toBe('http://127.0.0.1:1');
  });

  it('uses a chosen context over current-context', () => {
    const path = directory.write(
      'config',
      kubeconfig({
        contexts: [
          ['main', 'cluster-a', 'user-a', 'team'],
          ['other', 'cluster-b', 'user-a', 'ops'],
        ],
        clusters: [
          ['cluster-a', 'server: https://a.example'],
          ['cluster-b', 'server: https://b.example'],
        ],
      }),
    );
    const config = loadClusterConfig({ kubeconfig: path, context: 'other', environment: environment() });
    expect(config.server.host).toBe('b.example');
    expect(config.namespace).toBe('ops');
  });

  it('reads ~/.kube/config when KUBECONFIG is not set', () => {
    directory.write('.kube/config', kubeconfig());
    expect(loadClusterConfig({ environment: environment() }).context).toBe('main');
  });

  it('merges the files of KUBECONFIG as kubectl does: the first to set a name wins, and the first current-context', () => {
    const first = directory.write(
      'one.yaml',
      kubeconfig({
        current: '',
        contexts: [['shared', 'cluster-a', 'user-a', 'from-first']],
        clusters: [['cluster-a', 'server: https://first.example']],
      }),
    );
    const second = directory.write(
      'two.yaml',
      kubeconfig({
        current: 'shared',
        contexts: [
          ['shared', 'cluster-a', 'user-a', 'from-second'],
          ['only-second', 'cluster-b', 'user-a', 'b'],
        ],
        clusters: [
          ['cluster-a', 'server: https://second.example'],
          ['cluster-b', 'server: https://b.example'],
        ],
      }),
    );
    const third = directory.write('three.yaml', kubeconfig({ current: 'only-second' }));
    const env = environment({
      KUBECONFIG: [first, `${directory.path}/missing.yaml`, second, third].join(':'),
    });
    const config = loadClusterConfig({ environment: env });
    // current-context from the second file (the first sets none, the third comes later).
    expect(config.context).toBe('shared');
    // The context and the cluster from the first file that defines them.
    expect(config.namespace).toBe('from-first');
    expect(config.server.host).toBe('first.example');
    // Entries only later files define are there too.
    expect(loadClusterConfig({ environment: env, context: 'only-second' }).server.host).toBe('b.example');
  });

  it('resolves relative file paths against the kubeconfig that names them', () => {
    directory.write('certs/ca.pem', PEM);
    directory.write('certs/client.pem', CERT);
    directory.write('certs/client.key', KEY);
    directory.write('certs/token', `${TOKEN}\n`);
    const path = directory.write(
      'sub/config',
      kubeconfig({
        clusters: [
          [
            'cluster-a',
            'server: https://a.example\ncertificate-authority: ../certs/ca.pem\ntls-server-name: api.internal',
          ],
        ],
        users: [
          [
            'user-a',
            'client-certificate: ../certs/client.pem\nclient-key: ../certs/client.key\ntokenFile: ../certs/token',
          ],
        ],
      }),
    );
    const config = loadClusterConfig({ kubeconfig: path, environment: environment() });
    expect(config.tls.ca).toBe(PEM);
    expect(config.tls.cert).toBe(CERT);
    expect(config.tls.key?.reveal()).toBe(KEY);
    expect(config.tls.serverName).toBe('api.internal');
    expect(config.tls.insecureSkipTlsVerify).toBe(false);
    expect(config.auth).toEqual({ type: 'token-file', path: `${directory.path}/certs/token` });
  });

  it('decodes inline certificate data and honours insecure-skip-tls-verify only when set', () => {
    const path = directory.write(
      'config',
      kubeconfig({
        clusters: [['cluster-a', `server: https://a.example\ncertificate-authority-data: ${b64(PEM)}`]],
        users: [['user-a', `client-certificate-data: ${b64(CERT)}\nclient-key-data: ${b64(KEY)}`]],
      }),
    );
    const config = loadClusterConfig({ kubeconfig: path, environment: environment() });
    expect(config.tls.ca).toBe(PEM);
    expect(config.tls.key?.reveal()).toBe(KEY);
    expect(config.tls.insecureSkipTlsVerify).toBe(false);
    const insecure = directory.write(
      'insecure',
      kubeconfig({ clusters: [['cluster-a', 'server: https://a.example\ninsecure-skip-tls-verify: true']] }),
    );
    expect(
      loadClusterConfig({ kubeconfig: insecure, environment: environment() }).tls.insecureSkipTlsVerify,
    ).toBe(true);
  });

  it('never shows a secret when printed, stringified or inspected', () => {
    const path = directory.write(
      'config',
      kubeconfig({
        users: [
          ['user-a', `token: ${TOKEN}\nclient-certificate-data: ${b64(CERT)}\nclient-key-data: ${b64(KEY)}`],
        ],
      }),
    );
    const config: ClusterConfig = loadClusterConfig({ kubeconfig: path, environment: environment() });
    for (const shown of [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      `${String(config.tls.key)}`,
    ]) {
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(KEY_MATERIAL);
    }
  });
});

describe('kubeconfig errors name the file, context and field, and no secret', () => {
  it('a missing file', () => {
    const error = failure(() =>
      loadClusterConfig({ kubeconfig: `${directory.path}/nope`, environment: environment() }),
    );
    expect(error.message).toContain(`${directory.path}/nope`);
    expect(error.message).toContain('file not found');
  });

  it('YAML that does not parse, on the line holding the token', () => {
    const path = directory.write(
      'config',
      `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: "${TOKEN}\n  bad: [\n`,
    );
    const error = failure(() => loadClusterConfig({ kubeconfig: path, environment: environment() }));
    expect(error.message).toMatch(/not valid YAML at line \d+, column \d+/);
    expect(error.file).toBe(path);
  });

  it('a document that is not a map, and lists that are not lists', () => {
    expect(
      failure(() =>
        loadClusterConfig({ kubeconfig: directory.write('a', '- 1\n- 2\n'), environment: environment() }),
      ).message,
    ).toContain('not a map');
    const error = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('b', 'clusters: 3\ncurrent-context: x\n'),
        environment: environment(),
      }),
    );
    expect(error.field).toBe('clusters');
  });

  it('an unknown context, chosen or current, with the known ones', () => {
    const path = directory.write('config', kubeconfig());
    const chosen = failure(() =>
      loadClusterConfig({ kubeconfig: path, context: 'prod', environment: environment() }),
    );
    expect(chosen.message).toContain('context "prod"');
    expect(chosen.message).toContain('known contexts: main');
    expect(chosen.file).toBe(path);
    const current = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('c2', kubeconfig({ current: 'gone' })),
        environment: environment(),
      }),
    );
    expect(current.field).toBe('current-context');
  });

  it('no context at all', () => {
    const error = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('config', kubeconfig({ current: '' })),
        environment: environment(),
      }),
    );
    expect(error.message).toContain('no context chosen and no current-context set');
  });

  it('an unknown cluster or user, and a cluster without a server', () => {
    const cluster = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('c1', kubeconfig({ contexts: [['main', 'ghost', 'user-a']] })),
        environment: environment(),
      }),
    );
    expect(cluster.message).toContain('names cluster "ghost"');
    expect(cluster.field).toBe('contexts[name=main].context.cluster');
    expect(cluster.context).toBe('main');
    const user = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('c2', kubeconfig({ contexts: [['main', 'cluster-a', 'nobody']] })),
        environment: environment(),
      }),
    );
    expect(user.message).toContain('names user "nobody"');
    const server = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c3',
          kubeconfig({ clusters: [['cluster-a', 'insecure-skip-tls-verify: true']] }),
        ),
        environment: environment(),
      }),
    );
    expect(server.field).toBe('clusters[name=cluster-a].cluster.server');
    expect(server.message).toContain('no server URL');
  });

  it('missing certificate files, a key without a certificate, bad base64, a CA together with insecure', () => {
    const missingCa = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c1',
          kubeconfig({ clusters: [['cluster-a', 'server: https://a\ncertificate-authority: ca.pem']] }),
        ),
        environment: environment(),
      }),
    );
    expect(missingCa.message).toContain(`${directory.path}/ca.pem does not exist`);
    const keyOnly = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c2',
          kubeconfig({ users: [['user-a', `client-key-data: ${b64(KEY)}`]] }),
        ),
        environment: environment(),
      }),
    );
    expect(keyOnly.field).toBe('users[name=user-a].user.client-certificate');
    const badData = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c3',
          kubeconfig({ users: [['user-a', 'client-certificate-data: "%%%"\nclient-key-data: "%%%"']] }),
        ),
        environment: environment(),
      }),
    );
    expect(badData.message).toContain('not valid base64');
    const both = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c4',
          kubeconfig({
            clusters: [
              [
                'cluster-a',
                `server: https://a\ncertificate-authority-data: ${b64(PEM)}\ninsecure-skip-tls-verify: true`,
              ],
            ],
          }),
        ),
        environment: environment(),
      }),
    );
    expect(both.field).toBe('clusters[name=cluster-a].cluster.insecure-skip-tls-verify');
  });

  it('a token file that does not exist, and two authentication methods at once', () => {
    const tokenFile = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c1',
          kubeconfig({ users: [['user-a', 'tokenFile: /nonexistent/token']] }),
        ),
        environment: environment(),
      }),
    );
    expect(tokenFile.field).toBe('users[name=user-a].user.tokenFile');
    const twice = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c2',
          kubeconfig({
            users: [
              [
                'user-a',
                `token: ${TOKEN}\nexec:\n  command: x\n  apiVersion: client.authentication.k8s.io/v1`,
              ],
            ],
          }),
        ),
        environment: environment(),
      }),
    );
    expect(twice.message).toContain('more than one authentication method');
  });

  it('a v1 exec plugin must say its interactiveMode (kubectl: clientcmd validation.go); v1beta1 defaults to IfAvailable', () => {
    const exec = (apiVersion: string) =>
      loadClusterConfig({
        kubeconfig: directory.write(
          `exec-${apiVersion.replaceAll('/', '-')}`,
          kubeconfig({ users: [['user-a', `exec:\n  command: x\n  apiVersion: ${apiVersion}`]] }),
        ),
        environment: environment(),
      });
    const missing = failure(() => exec('client.authentication.k8s.io/v1'));
    expect(missing.message).toContain(
      'interactiveMode must be specified for user-a to use exec authentication plugin',
    );
    expect(missing.field).toBe('users[name=user-a].user.exec.interactiveMode');
    const auth = exec('client.authentication.k8s.io/v1beta1').auth;
    expect(auth.type === 'exec' && auth.exec.interactiveMode).toBe('IfAvailable');
  });

  it('an exec plugin without a command or with an unknown apiVersion, and auth-provider', () => {
    const noCommand = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c1',
          kubeconfig({ users: [['user-a', 'exec:\n  apiVersion: client.authentication.k8s.io/v1']] }),
        ),
        environment: environment(),
      }),
    );
    expect(noCommand.field).toBe('users[name=user-a].user.exec.command');
    const version = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write(
          'c2',
          kubeconfig({
            users: [['user-a', 'exec:\n  command: x\n  apiVersion: client.authentication.k8s.io/v1alpha1']],
          }),
        ),
        environment: environment(),
      }),
    );
    expect(version.field).toBe('users[name=user-a].user.exec.apiVersion');
    const provider = failure(() =>
      loadClusterConfig({
        kubeconfig: directory.write('c3', kubeconfig({ users: [['user-a', 'auth-provider:\n  name: gcp']] })),
        environment: environment(),
      }),
    );
    expect(provider.message).toContain('use an exec credential plugin');
  });

  it('KUBECONFIG naming only missing files, and no configuration anywhere', () => {
    const listed = failure(() =>
      loadClusterConfig({
        environment: environment({ KUBECONFIG: `${directory.path}/a:${directory.path}/b` }),
      }),
    );
    expect(listed.message).toContain('none of the files in KUBECONFIG exists');
    const nothing = failure(() => loadClusterConfig({ environment: environment() }));
    expect(nothing.message).toContain('no configuration found');
  });
});

describe('in-cluster configuration', () => {
  it('uses the service account files and KUBERNETES_SERVICE_HOST/PORT', () => {
    const accounts = temporaryDirectory();
    try {
      accounts.write('token', TOKEN);
      accounts.write('ca.crt', PEM);
      accounts.write('namespace', 'jobs\n');
      const config = loadClusterConfig({
        inCluster: { serviceAccountDirectory: accounts.path },
        environment: environment({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }),
      });
      expect(config.server.href).toBe('https://[fd00::1]/');
      expect(config.namespace).toBe('jobs');
      expect(config.tls.ca).toBe(PEM);
      expect(config.auth).toEqual({ type: 'token-file', path: `${accounts.path}/token` });
      expect(
        loadClusterConfig({
          inCluster: { serviceAccountDirectory: accounts.path },
          environment: environment({
            KUBERNETES_SERVICE_HOST: '10.0.0.1',
            KUBERNETES_SERVICE_PORT: '6443',
            POD_NAMESPACE: 'mine',
          }),
        }).namespace,
      ).toBe('mine');
    } finally {
      accounts.remove();
    }
  });

  it('is the fallback when there is no kubeconfig and KUBERNETES_SERVICE_HOST is set', () => {
    const error = failure(() =>
      loadClusterConfig({
        environment: environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }),
      }),
    );
    // The default service account directory does not exist here: the error names the token file.
    expect(error.message).toContain('/var/run/secrets/kubernetes.io/serviceaccount/token');
  });

  it('fails clearly without the environment or the token; warns and trusts the system CAs without the CA', () => {
    const accounts = temporaryDirectory();
    try {
      const noHost = failure(() =>
        loadClusterConfig({
          inCluster: { serviceAccountDirectory: accounts.path },
          environment: environment(),
        }),
      );
      expect(noHost.field).toBe('KUBERNETES_SERVICE_HOST');
      const env = environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' });
      const noToken = failure(() =>
        loadClusterConfig({ inCluster: { serviceAccountDirectory: accounts.path }, environment: env }),
      );
      expect(noToken.message).toContain(`${accounts.path}/token cannot be read (ENOENT)`);
      accounts.write('token', TOKEN);
      const warnings: object[] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (fields: object) => warnings.push(fields) };
      const config = loadClusterConfig({
        inCluster: { serviceAccountDirectory: accounts.path },
        environment: env,
        logger,
      });
      expect(config.tls.ca).toBeUndefined();
      expect(config.namespace).toBe('default');
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings)).not.toContain(TOKEN);
    } finally {
      accounts.remove();
    }
  });

  it('talks to the fake API server over TLS as a pod would, and follows a rotated token', async () => {
    const { createUndiciTransport } = await import('./undici-transport.js');
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { tls: true, token: 'rotated-token' });
    const accounts = temporaryDirectory();
    try {
      accounts.write('token', 'old-token');
      accounts.write('ca.crt', server.ca ?? '');
      accounts.write('namespace', 'default');
      const port = new URL(server.url).port;
      const transport = createUndiciTransport({
        inCluster: { serviceAccountDirectory: accounts.path },
        environment: environment({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }),
      });
      const signal = new AbortController().signal;
      await expect(transport.list('pods', 'default', { signal })).rejects.toMatchObject({ code: 401 });
      // The kubelet rotates the token: the next request reads the new one, no restart needed.
      accounts.write('token', 'rotated-token\n');
      expect((await transport.list('pods', 'default', { signal })).items).toEqual([]);
      expect(typeof transport.refreshCredentials).toBe('function');
      await transport.refreshCredentials?.({ signal });
      await transport.close();
    } finally {
      accounts.remove();
      await server.close();
    }
  });
});
