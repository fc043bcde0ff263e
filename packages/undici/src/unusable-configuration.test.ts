import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { createPodStorage, PodStorageError, PodTimeoutError } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CredentialError, KubeconfigError } from './errors.js';
import type { Kubeconfig } from './kubeconfig.js';
import { TEST_CLIENT_ALICE, TEST_CLIENT_BOB } from './test-certificates.js';
import { EXEC_PLUGIN_SOURCE, execKubeconfig, temporaryDirectory, waitFor } from './test-support.js';
import { createUndiciTransport } from './undici-transport.js';

// A configuration that can never work must fail at once with an error that names what is wrong, never
// be retried until the operation's timeout and then reported as "timed out" (issue 9, defect 15).

// Far below the 30 s the waits are given, so a wait retried until its timeout fails; far above the
// ~50 ms it takes, so a loaded machine does not.
const FAIL_FAST_MS = 10_000;

let directory: ReturnType<typeof temporaryDirectory>;
let cluster: FakeCluster;
let server: FakeClusterServer;

/** What `waitForPhase(a, 30 s)` through createPodStorage ends with, and how long it took. */
async function waitThrough(exec: { command: string; args: string[] }) {
  const transport = createUndiciTransport({ kubeconfig: execKubeconfig(server, exec) });
  const storage = createPodStorage(transport);
  const started = performance.now();
  const error = await storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] }).then(
    (phase) => new Error(`expected the wait to fail, it returned ${phase}`),
    (reason: unknown) => reason,
  );
  const elapsedMs = performance.now() - started;
  await storage[Symbol.asyncDispose]();
  await transport.close();
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(CredentialError.isInstance(error), String(error)).toBe(true);
  expect((error as CredentialError).retryable).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
  expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
  return error as CredentialError;
}

describe('a configuration that can never work fails fast, naming what is wrong', () => {
  beforeEach(async () => {
    directory = temporaryDirectory();
    cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod({
      metadata: { name: 'a' },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
    });
    server = await serveFakeCluster(cluster);
  });
  afterEach(async () => {
    await server.close();
    directory.remove();
  });

  it('an unknown context: createUndiciTransport throws a KubeconfigError naming it and the known ones', () => {
    let error: unknown;
    try {
      createUndiciTransport({ kubeconfig: server.kubeconfig, context: 'no-such-context' });
    } catch (thrown) {
      error = thrown;
    }
    expect(KubeconfigError.isInstance(error), String(error)).toBe(true);
    expect(PodStorageError.isInstance(error) && error.retryable).toBe(false);
    expect(String(error)).toContain('"no-such-context"');
    expect(String(error)).toContain('known contexts: podstorage-fake');
  });

  it('an exec plugin that is not installed: the wait rejects at once, naming the command', async () => {
    const command = `${directory.path}/no-such-plugin`;
    const error = await waitThrough({ command, args: [] });
    expect(error.message).toContain(`command not found: ${command}`);
  }, 60_000);

  it('an exec plugin that exits non-zero: the wait rejects at once, naming it, without its stderr', async () => {
    const script = directory.write('plugin.mjs', EXEC_PLUGIN_SOURCE);
    const error = await waitThrough({ command: process.execPath, args: [script, 'fail'] });
    expect(error.message).toMatch(/exec plugin "node" of user "exec-user" exited with code 3/);
  }, 60_000);
});

// The survey of every final configuration error: each through createPodStorage, on the system clock,
// against the fake API server over real sockets, with both watch modes. A case fails either at creation
// (createUndiciTransport throws a KubeconfigError) or in the wait (which rejects at once with a
// non-retryable error); both name the bad value.

/** A certificate block that is not a certificate: PEM armour around base64 of plain text. */
const NOT_A_CERTIFICATE =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
const NOT_A_KEY = '-----BEGIN PRIVATE KEY-----\nZXhlYy1zZWNyZXQta2V5\n-----END PRIVATE KEY-----\n';
const base64 = (text: string) => Buffer.from(text).toString('base64');
const SURVEY_TOKEN = 'exec-secret-survey-token';

/** What the servers of the survey offer a case: plain HTTP and HTTPS, both requiring SURVEY_TOKEN. */
interface Servers {
  readonly http: FakeClusterServer;
  readonly https: FakeClusterServer;
  /** The base64 of the HTTPS server's CA, for `certificate-authority-data`. */
  readonly caData: string;
  readonly directory: ReturnType<typeof temporaryDirectory>;
}

interface Case {
  readonly name: string;
  /** The kubeconfig: an object of one context `ci` (cluster `c`, user `u`), or a file path. */
  readonly kubeconfig: (servers: Servers) => Kubeconfig | string;
  /** `creation`: createUndiciTransport throws; `wait`: waitForPhase rejects. */
  readonly stage: 'creation' | 'wait';
  /** What the message must say (the bad value, what to check). */
  readonly says: (servers: Servers) => readonly string[];
}

/** One context `ci` with cluster `c` and user `u`. */
function oneContext(
  cluster: Record<string, unknown>,
  user: Record<string, unknown> = { token: SURVEY_TOKEN },
): Kubeconfig {
  return {
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ci', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ci',
  } as Kubeconfig;
}

const CASES: readonly Case[] = [
  {
    name: 'a kubeconfig file that does not parse',
    kubeconfig: ({ directory }) => directory.write('broken-config', 'clusters: [\n'),
    stage: 'creation',
    says: ({ directory }) => [`${directory.path}/broken-config`],
  },
  {
    name: 'a kubeconfig file that is not a kubeconfig',
    kubeconfig: ({ directory }) => directory.write('text-config', 'just some text\n'),
    stage: 'creation',
    says: ({ directory }) => [`${directory.path}/text-config`],
  },
  {
    name: 'a server URL that does not parse',
    kubeconfig: () => oneContext({ server: 'https://127.0.0.1:not-a-port' }),
    stage: 'creation',
    says: () => ['"https://127.0.0.1:not-a-port" is not a valid URL', 'clusters[name=c].cluster.server'],
  },
  {
    name: 'a server URL without a scheme',
    kubeconfig: () => oneContext({ server: 'localhost:6443' }),
    stage: 'creation',
    says: () => ['"localhost:6443" must be an http: or https: URL'],
  },
  {
    name: 'a server URL of an unsupported scheme',
    kubeconfig: () => oneContext({ server: 'ftp://127.0.0.1:6443' }),
    stage: 'creation',
    says: () => ['"ftp://127.0.0.1:6443" must be an http: or https: URL'],
  },
  {
    name: 'a proxy-url that does not parse (its password is not shown)',
    kubeconfig: ({ https, caData }) =>
      oneContext({
        server: https.url,
        'certificate-authority-data': caData,
        'proxy-url': 'http://proxy-user:exec-secret-password@127.0.0.1:not-a-port',
      }),
    stage: 'creation',
    says: () => ['"http://***@127.0.0.1:not-a-port" is not a valid URL', 'cluster.proxy-url'],
  },
  {
    name: 'a proxy-url of an unsupported scheme',
    kubeconfig: ({ https, caData }) =>
      oneContext({
        server: https.url,
        'certificate-authority-data': caData,
        'proxy-url': 'ftp://127.0.0.1:3128',
      }),
    stage: 'creation',
    says: () => ['"ftp://127.0.0.1:3128" must be an http:, https: or socks5: URL'],
  },
  {
    name: 'a certificate-authority file that does not exist',
    kubeconfig: ({ https, directory }) =>
      oneContext({ server: https.url, 'certificate-authority': `${directory.path}/missing-ca.crt` }),
    stage: 'creation',
    says: ({ directory }) => [`${directory.path}/missing-ca.crt does not exist`],
  },
  {
    name: 'a certificate-authority file that holds no certificate',
    kubeconfig: ({ https, directory }) =>
      oneContext({
        server: https.url,
        'certificate-authority': directory.write('garbage-ca.crt', NOT_A_CERTIFICATE),
      }),
    stage: 'creation',
    says: ({ directory }) => [`${directory.path}/garbage-ca.crt holds no PEM certificate that parses`],
  },
  {
    name: 'certificate-authority-data that holds no certificate',
    kubeconfig: ({ https }) =>
      oneContext({ server: https.url, 'certificate-authority-data': base64(NOT_A_CERTIFICATE) }),
    stage: 'creation',
    says: () => ['cluster.certificate-authority-data', 'holds no PEM certificate that parses'],
  },
  {
    name: 'a client-certificate file that does not exist',
    kubeconfig: ({ https, caData, directory }) =>
      oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        {
          'client-certificate': `${directory.path}/missing-client.crt`,
          'client-key-data': base64(NOT_A_KEY),
        },
      ),
    stage: 'creation',
    says: ({ directory }) => [`${directory.path}/missing-client.crt does not exist`],
  },
  {
    name: 'a client key that does not parse (its content is not shown)',
    kubeconfig: ({ https, caData }) =>
      oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        { 'client-certificate-data': base64(TEST_CLIENT_ALICE.cert), 'client-key-data': base64(NOT_A_KEY) },
      ),
    stage: 'creation',
    says: () => [
      'the client certificate (client-certificate-data) and key (client-key-data) cannot be used for TLS',
    ],
  },
  {
    name: 'a client certificate and a key that do not belong together',
    kubeconfig: ({ https, caData, directory }) =>
      oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        {
          'client-certificate': directory.write('alice.crt', TEST_CLIENT_ALICE.cert),
          'client-key': directory.write('bob.key', TEST_CLIENT_BOB.key),
        },
      ),
    stage: 'creation',
    says: ({ directory }) => [
      `${directory.path}/alice.crt`,
      `${directory.path}/bob.key`,
      'key values mismatch',
    ],
  },
  {
    name: 'an auth-provider',
    kubeconfig: ({ https, caData }) =>
      oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        { 'auth-provider': { name: 'corp-sso', config: { 'client-id': 'x' } } },
      ),
    stage: 'creation',
    says: () => ['auth-provider "corp-sso" is not supported', 'users[name=u].user.auth-provider'],
  },
  {
    name: 'a token file that does not exist',
    kubeconfig: ({ https, caData, directory }) =>
      oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        { tokenFile: `${directory.path}/missing-token` },
      ),
    stage: 'creation',
    says: ({ directory }) => [`token file ${directory.path}/missing-token does not exist`],
  },
  {
    name: 'an https server whose certificate the kubeconfig does not trust',
    kubeconfig: ({ https }) => oneContext({ server: https.url }),
    stage: 'wait',
    says: ({ https }) => [
      `the API server ${https.url} presented a certificate the kubeconfig does not trust`,
    ],
  },
  {
    name: 'a tls-server-name the server certificate is not valid for',
    kubeconfig: ({ https, caData }) =>
      oneContext({
        server: https.url,
        'certificate-authority-data': caData,
        'tls-server-name': 'not-the-server.example',
      }),
    stage: 'wait',
    says: () => ['not valid for the name checked', 'not-the-server.example', 'tls-server-name'],
  },
  {
    name: 'an exec plugin that hands out a client certificate and key that do not belong together',
    kubeconfig: ({ https, caData, directory }) => {
      const script = directory.write('plugin.mjs', EXEC_PLUGIN_SOURCE);
      directory.write('client.crt', TEST_CLIENT_ALICE.cert);
      directory.write('client.key', TEST_CLIENT_BOB.key);
      return oneContext(
        { server: https.url, 'certificate-authority-data': caData },
        {
          exec: {
            command: process.execPath,
            args: [script, 'cert-from-files'],
            apiVersion: 'client.authentication.k8s.io/v1',
            interactiveMode: 'Never',
          },
        },
      );
    },
    stage: 'wait',
    says: () => ['exec plugin "node" of user "u"', 'cannot be used for TLS', 'key values mismatch'],
  },
];

/** What the survey checks of every error: named, final, and never a timeout. */
function expectFinal(error: unknown): void {
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(PodStorageError.isInstance(error), String(error)).toBe(true);
  expect((error as PodStorageError).retryable, String(error)).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
}

/** Creates the transport and storage and waits for pod `a` (30 s): the error, its stage and how long it took. */
async function attempt(
  kubeconfig: Kubeconfig | string,
  watch: 'http' | 'websocket',
): Promise<{ stage: 'creation' | 'wait'; error: unknown; elapsedMs: number }> {
  const started = performance.now();
  let transport: ReturnType<typeof createUndiciTransport>;
  try {
    transport = createUndiciTransport({ kubeconfig, watch });
  } catch (error) {
    return { stage: 'creation', error, elapsedMs: performance.now() - started };
  }
  const storage = createPodStorage(transport);
  const error = await storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] }).then(
    (phase) => new Error(`expected the wait to fail, it returned ${phase}`),
    (reason: unknown) => reason,
  );
  const elapsedMs = performance.now() - started;
  await storage[Symbol.asyncDispose]();
  await transport.close();
  return { stage: 'wait', error, elapsedMs };
}

describe('every configuration that can never work fails fast, naming the bad value', () => {
  let servers: Servers;
  beforeAll(async () => {
    const fake = new FakeCluster({ mode: 'manual' });
    fake.createPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
    const [http, https] = await Promise.all([
      serveFakeCluster(fake, { token: SURVEY_TOKEN }),
      serveFakeCluster(fake, { token: SURVEY_TOKEN, tls: true }),
    ]);
    servers = { http, https, caData: base64(https.ca as string), directory: temporaryDirectory() };
  });
  afterAll(async () => {
    await Promise.all([servers.http.close(), servers.https.close()]);
    servers.directory.remove();
  });

  describe.each(['http', 'websocket'] as const)('watching over %s', (watch) => {
    it.each(CASES)(
      '$name',
      async ({ kubeconfig, stage, says }) => {
        const outcome = await attempt(kubeconfig(servers), watch);
        expectFinal(outcome.error);
        expect(outcome.stage, String(outcome.error)).toBe(stage);
        if (stage === 'creation') expect(KubeconfigError.isInstance(outcome.error)).toBe(true);
        for (const part of says(servers)) expect((outcome.error as Error).message).toContain(part);
        expect(outcome.elapsedMs).toBeLessThan(FAIL_FAST_MS);
        // A refused configuration leaves nothing open on either server.
        await waitFor(
          () => servers.http.openConnections() + servers.https.openConnections() === 0,
          'every connection to close',
        );
      },
      60_000,
    );
  });
});

describe.each(['http', 'websocket'] as const)(
  'a failure that may pass is still retried, watching over %s',
  (watch) => {
    it('connection refused until the server comes up: the wait retries, then returns the phase', async () => {
      // A port nothing listens on (taken from the kernel, then released); the fake server opens it later.
      const probe = createNetServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const fake = new FakeCluster({ mode: 'manual' });
      fake.createPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
      const transport = createUndiciTransport({
        kubeconfig: oneContext({ server: `http://127.0.0.1:${port}` }),
        watch,
      });
      let failed: (error: unknown) => void = () => {};
      const firstFailure = new Promise<unknown>((resolve) => {
        failed = resolve;
      });
      // The storage sees the transport through this proxy, which reports the first failed call (the
      // wait's first call is a watch, its list or its read, whichever the engine makes).
      const watched = new Proxy(transport, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            const result = (value as (...a: unknown[]) => unknown).apply(target, args);
            if (result instanceof Promise) {
              return result.catch((error: unknown) => {
                failed(error);
                throw error;
              });
            }
            return result;
          };
        },
      });
      await using storage = createPodStorage(watched);
      const waiting = storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] });
      const error = await firstFailure;
      expect(PodStorageError.isInstance(error) && error.retryable, String(error)).toBe(true);
      const server = await serveFakeCluster(fake, { port, token: SURVEY_TOKEN });
      try {
        fake.setPodPhase('default', 'a', 'Running');
        expect(await waiting).toBe('Running');
      } finally {
        await transport.close();
        await server.close();
      }
    }, 60_000);
  },
);
