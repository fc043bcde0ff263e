import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPodStorage, InvalidInputError, PodStorageError, PodTimeoutError } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer, serveFakeCluster } from '@podstorage/fake';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientNodeModule, KubeConfigLike } from './client-library.js';
import { createClientNodeTransport } from './client-node-transport.js';
import { type ClientMajor, kubeConfigFor, MAJORS, waitFor } from './clients.test-support.js';

// A configuration that can never work must fail at once with an error that names what is wrong, never
// be retried until the operation's timeout and then reported as "timed out" (issue 9, defect 15).

// Far below the 30 s the waits are given, so a wait retried until its timeout fails; far above the
// ~50 ms it takes, so a loaded machine does not.
const FAIL_FAST_MS = 10_000;

/** An exec plugin as node runs it: `node -e SCRIPT`. */
const nodePlugin = (script: string) => ({ command: process.execPath, args: ['-e', script] });

const TOKEN = 'exec-secret-token';
const PRINTS_TOKEN = nodePlugin(
  `process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status: { token: '${TOKEN}' } }))`,
);
// Plugins print diagnostics, and sometimes credentials, on stderr: it must never reach an error.
const EXITS_3 = nodePlugin(`process.stderr.write('error: exec-secret-on-stderr'); process.exit(3)`);

let directory: string;
let cluster: FakeCluster;
let server: FakeClusterServer;

/** A KubeConfig of `major` whose one user authenticates with the exec plugin `command args`. */
function execKubeConfig(major: ClientMajor, exec: { command: string; args: string[] }) {
  const kubeConfig = new major.client.KubeConfig();
  kubeConfig.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: server.url, 'insecure-skip-tls-verify': true } }],
      users: [
        {
          name: 'exec-user',
          user: {
            exec: { ...exec, apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never' },
          },
        },
      ],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'exec-user' } }],
      'current-context': 'fake',
    }),
  );
  return kubeConfig;
}

/** The error `run` rejects with; fails the test if it resolves. */
async function failure(run: () => Promise<unknown>): Promise<PodStorageError> {
  const error = await run().then(
    (value) => new Error(`expected a failure, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(PodStorageError.isInstance(error), String(error)).toBe(true);
  expect((error as PodStorageError).retryable, String(error)).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
  expect(String((error as Error).cause ?? '')).not.toContain('exec-secret');
  return error as PodStorageError;
}

describe.each(MAJORS)('a configuration that can never work fails fast with $name', (major) => {
  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'podstorage-client-node-'));
    cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod({
      metadata: { name: 'a' },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
    });
    server = await serveFakeCluster(cluster, { token: TOKEN });
  });
  afterEach(async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('an unknown context: createClientNodeTransport throws an InvalidInputError naming it and the known ones', () => {
    const kubeConfig = kubeConfigFor(major, server);
    kubeConfig.setCurrentContext('no-such-context');
    let error: unknown;
    try {
      createClientNodeTransport({ kubeConfig, client: major.client });
    } catch (thrown) {
      error = thrown;
    }
    expect(InvalidInputError.isInstance(error), String(error)).toBe(true);
    expect((error as InvalidInputError).retryable).toBe(false);
    expect(String(error)).toContain('"no-such-context"');
    expect(String(error)).toContain('"podstorage-fake"');
  });

  it('a context switched to an unknown one after creation: calls and watches fail at once, naming it', async () => {
    const kubeConfig = kubeConfigFor(major, server);
    const transport = createClientNodeTransport({ kubeConfig, client: major.client });
    kubeConfig.setCurrentContext('no-such-context');
    const signal = new AbortController().signal;
    for (const call of [
      () => transport.get('pods', 'default', 'a', { signal }),
      () => transport.watch('pods', 'default', { signal }),
    ]) {
      expect((await failure(call)).message).toContain('"no-such-context"');
    }
    await transport.close();
  });

  it.each([
    ['that is not installed', () => ({ command: join(directory, 'no-such-plugin'), args: [] }), 'not found'],
    ['that exits non-zero', () => EXITS_3, 'exited with an error'],
  ])(
    'an exec plugin %s: waitForPhase rejects at once, naming the command',
    async (_, plugin, problem) => {
      const exec = plugin();
      const transport = createClientNodeTransport({
        kubeConfig: execKubeConfig(major, exec),
        client: major.client,
      });
      const storage = createPodStorage(transport);
      const started = performance.now();
      const error = await failure(() =>
        storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] }),
      );
      const elapsedMs = performance.now() - started;
      expect(error.message).toContain(`exec plugin "${exec.command}" of user "exec-user"`);
      expect(error.message).toContain(problem);
      expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
      // A watch of its own fails the same way (the client authenticates watches through another path).
      const watch = () => transport.watch('pods', 'default', { signal: new AbortController().signal });
      expect((await failure(watch)).message).toContain(`exec plugin "${exec.command}"`);
      await storage[Symbol.asyncDispose]();
      await transport.close();
      expect(server.openConnections()).toBe(0);
    },
    60_000,
  );

  it('an exec plugin that works still authenticates every call and watch', async () => {
    const transport = createClientNodeTransport({
      kubeConfig: execKubeConfig(major, PRINTS_TOKEN),
      client: major.client,
    });
    await using storage = createPodStorage(transport);
    cluster.setPodPhase('default', 'a', 'Running');
    expect(await storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Pending'] })).toBe('Running');
    const stream = await transport.watch('pods', 'default', { signal: new AbortController().signal });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value?.type).toBe('ADDED');
    await events.return?.();
    await transport.close();
  }, 60_000);
});

// The survey of every final configuration error: each through createPodStorage, on the system clock,
// against the fake API server over real sockets. A case fails either at creation (createClientNodeTransport
// throws an InvalidInputError) or in the wait (which rejects at once with a non-retryable error); both
// name the bad value.

/** A certificate block that is not a certificate: PEM armour around base64 of plain text. */
const NOT_A_CERTIFICATE =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
const NOT_A_KEY = '-----BEGIN PRIVATE KEY-----\nZXhlYy1zZWNyZXQta2V5\n-----END PRIVATE KEY-----\n';
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** What the servers of the survey offer a case: plain HTTP and HTTPS, both requiring TOKEN. */
interface Servers {
  readonly http: FakeClusterServer;
  readonly https: FakeClusterServer;
  /** The base64 of the HTTPS server's CA, for `certificate-authority-data`. */
  readonly caData: string;
  /** A scratch directory for the case's files. */
  readonly directory: string;
}

/** One context `ci` with cluster `c` and (unless `null`) user `u`. */
interface Setup {
  readonly cluster: Record<string, unknown>;
  readonly user?: Record<string, unknown> | null;
}

interface Case {
  readonly name: string;
  readonly setup: (servers: Servers) => Setup;
  /** `creation`: createClientNodeTransport throws; `wait`: waitForPhase rejects. */
  readonly stage: 'creation' | 'wait';
  /** What the message must say (the bad value, what to check). */
  readonly says: (servers: Servers) => readonly string[];
}

const withToken = { token: TOKEN };

const CASES: readonly Case[] = [
  {
    name: 'an http: server without insecure-skip-tls-verify',
    setup: ({ http }) => ({ cluster: { server: http.url } }),
    stage: 'creation',
    says: ({ http }) => [`kubeConfig server "${http.url}"`, 'insecure-skip-tls-verify: true'],
  },
  {
    name: 'a server URL that does not parse',
    setup: () => ({ cluster: { server: 'https://127.0.0.1:not-a-port', 'insecure-skip-tls-verify': true } }),
    stage: 'creation',
    says: () => ['"https://127.0.0.1:not-a-port"', 'is not a URL'],
  },
  {
    name: 'a server URL without a scheme',
    setup: ({ https }) => ({ cluster: { server: https.url.replace('https://127.0.0.1', 'localhost') } }),
    stage: 'creation',
    says: ({ https }) => [
      `"${https.url.replace('https://127.0.0.1', 'localhost')}"`,
      'is not an http(s) URL',
    ],
  },
  {
    name: 'a server URL of an unsupported scheme',
    setup: () => ({ cluster: { server: 'ftp://127.0.0.1:6443', 'insecure-skip-tls-verify': true } }),
    stage: 'creation',
    says: () => ['"ftp://127.0.0.1:6443"', 'https://host:port'],
  },
  {
    name: 'a proxy-url that does not parse (its password is not shown)',
    setup: ({ https, caData }) => ({
      cluster: {
        server: https.url,
        'certificate-authority-data': caData,
        'proxy-url': 'http://proxy-user:exec-secret-password@127.0.0.1:not-a-port',
      },
    }),
    stage: 'creation',
    says: () => ['kubeConfig proxy-url "http://***@127.0.0.1:not-a-port"', 'is not a URL'],
  },
  {
    name: 'a proxy-url of an unsupported scheme',
    setup: ({ https, caData }) => ({
      cluster: {
        server: https.url,
        'certificate-authority-data': caData,
        'proxy-url': 'ftp://127.0.0.1:3128',
      },
    }),
    stage: 'creation',
    says: () => ['"ftp://127.0.0.1:3128"', 'not an http:, https: or socks URL'],
  },
  {
    name: 'a proxy-url with a server the client will not proxy ("Unsupported proxy type")',
    setup: ({ https, caData }) => ({
      cluster: {
        server: https.url.replace('https:', 'HTTPS:'),
        'certificate-authority-data': caData,
        'proxy-url': 'http://127.0.0.1:3128',
      },
    }),
    stage: 'creation',
    says: ({ https }) => [
      `"${https.url.replace('https:', 'HTTPS:')}"`,
      'lower-case',
      'Unsupported proxy type',
    ],
  },
  {
    name: 'a certificate-authority file that does not exist',
    setup: ({ https, directory }) => ({
      cluster: { server: https.url, 'certificate-authority': join(directory, 'missing-ca.crt') },
    }),
    stage: 'creation',
    says: ({ directory }) => [
      `kubeConfig certificate-authority "${join(directory, 'missing-ca.crt')}"`,
      'does not exist',
    ],
  },
  {
    name: 'a certificate-authority file that holds no certificate',
    setup: ({ https, directory }) => {
      writeFileSync(join(directory, 'garbage-ca.crt'), NOT_A_CERTIFICATE);
      return { cluster: { server: https.url, 'certificate-authority': join(directory, 'garbage-ca.crt') } };
    },
    stage: 'creation',
    says: ({ directory }) => [`"${join(directory, 'garbage-ca.crt')}"`, 'no PEM certificate that parses'],
  },
  {
    name: 'certificate-authority-data that holds no certificate',
    setup: ({ https }) => ({
      cluster: { server: https.url, 'certificate-authority-data': base64(NOT_A_CERTIFICATE) },
    }),
    stage: 'creation',
    says: () => ['kubeConfig certificate-authority-data', 'no PEM certificate that parses'],
  },
  {
    name: 'a client-certificate file that does not exist',
    setup: ({ https, caData, directory }) => ({
      cluster: { server: https.url, 'certificate-authority-data': caData },
      user: {
        'client-certificate': join(directory, 'missing-client.crt'),
        'client-key-data': base64(NOT_A_KEY),
      },
    }),
    stage: 'creation',
    says: ({ directory }) => [`"${join(directory, 'missing-client.crt')}"`, 'does not exist'],
  },
  {
    name: 'a client key that does not parse (its content is not shown)',
    setup: ({ https, caData }) => ({
      cluster: { server: https.url, 'certificate-authority-data': caData },
      user: { 'client-certificate-data': caData, 'client-key-data': base64(NOT_A_KEY) },
    }),
    stage: 'creation',
    says: () => ['kubeConfig client certificate and key', 'cannot be used for TLS'],
  },
  {
    name: 'a client certificate and a key that do not belong together',
    setup: ({ https, caData, directory }) => {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      });
      writeFileSync(join(directory, 'other.key'), key);
      return {
        cluster: { server: https.url, 'certificate-authority-data': caData },
        user: { 'client-certificate-data': caData, 'client-key': join(directory, 'other.key') },
      };
    },
    stage: 'creation',
    says: ({ directory }) => [join(directory, 'other.key'), 'key values mismatch'],
  },
  {
    name: 'an auth-provider client-node has no authenticator for',
    setup: ({ https, caData }) => ({
      cluster: { server: https.url, 'certificate-authority-data': caData },
      user: { 'auth-provider': { name: 'corp-sso', config: { 'client-id': 'x' } } },
    }),
    stage: 'creation',
    says: () => ['kubeConfig auth-provider "corp-sso"', 'user "u" of context "ci"', 'no authenticator'],
  },
  {
    name: 'a token file (of loadFromCluster) that does not exist',
    setup: ({ https, caData, directory }) => ({
      cluster: { server: https.url, 'certificate-authority-data': caData },
      user: {
        'auth-provider': { name: 'tokenFile', config: { tokenFile: join(directory, 'missing-token') } },
      },
    }),
    stage: 'creation',
    says: ({ directory }) => [`"${join(directory, 'missing-token')}"`, 'does not exist'],
  },
  {
    name: 'an https server whose certificate the kubeConfig does not trust',
    setup: ({ https }) => ({ cluster: { server: https.url } }),
    stage: 'wait',
    says: ({ https }) => [
      `the API server ${https.url} presented a certificate the kubeConfig does not trust`,
    ],
  },
  {
    name: 'a tls-server-name the server certificate is not valid for',
    setup: ({ https, caData }) => ({
      cluster: {
        server: https.url,
        'certificate-authority-data': caData,
        'tls-server-name': 'not-the-server.example',
      },
    }),
    stage: 'wait',
    says: () => ['not valid for the name checked', 'not-the-server.example', 'tls-server-name'],
  },
  {
    name: 'a context without a user, whose cluster TLS settings client-node then ignores',
    setup: ({ https, caData }) => ({
      cluster: { server: https.url, 'certificate-authority-data': caData },
      user: null,
    }),
    stage: 'wait',
    says: () => ['does not trust', 'when the context names no user: give context "ci" one'],
  },
];

/** What the survey checks of every error: named, final, and never a timeout. */
function expectFinal(error: unknown): void {
  expect(PodTimeoutError.isInstance(error), String(error)).toBe(false);
  expect(PodStorageError.isInstance(error), String(error)).toBe(true);
  expect((error as PodStorageError).retryable, String(error)).toBe(false);
  expect(String(error)).not.toContain('exec-secret');
}

/** The kubeconfig text of `setup` (one context `ci`). */
function kubeconfigText({ cluster, user = withToken }: Setup): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: user === null ? [] : [{ name: 'u', user }],
    contexts: [{ name: 'ci', context: { cluster: 'c', ...(user === null ? {} : { user: 'u' }) } }],
    'current-context': 'ci',
  });
}

/**
 * Creates the transport and storage and waits for pod `a` (30 s): the error at whichever stage it came,
 * and how long it took from creation on.
 */
async function attempt(
  kubeConfig: KubeConfigLike,
  client: ClientNodeModule | undefined,
): Promise<{ stage: 'creation' | 'wait'; error: unknown; elapsedMs: number }> {
  const started = performance.now();
  let transport: ReturnType<typeof createClientNodeTransport>;
  try {
    transport = createClientNodeTransport({ kubeConfig, ...(client === undefined ? {} : { client }) });
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
      serveFakeCluster(fake, { token: TOKEN }),
      serveFakeCluster(fake, { token: TOKEN, tls: true }),
    ]);
    servers = {
      http,
      https,
      caData: base64(https.ca as string),
      directory: mkdtempSync(join(tmpdir(), 'podstorage-client-node-survey-')),
    };
  });
  afterAll(async () => {
    await Promise.all([servers.http.close(), servers.https.close()]);
    rmSync(servers.directory, { recursive: true, force: true });
  });

  describe.each(MAJORS)('with $name', (major) => {
    it.each(CASES)(
      '$name',
      async ({ setup, stage, says }) => {
        const kubeConfig = new major.client.KubeConfig();
        kubeConfig.loadFromString(kubeconfigText(setup(servers)));
        const outcome = await attempt(kubeConfig, major.client);
        expectFinal(outcome.error);
        expect(outcome.stage, String(outcome.error)).toBe(stage);
        if (stage === 'creation') expect(InvalidInputError.isInstance(outcome.error)).toBe(true);
        for (const part of says(servers)) expect((outcome.error as Error).message).toContain(part);
        expect(outcome.elapsedMs).toBeLessThan(FAIL_FAST_MS);
        // The servers saw every connection closed: a refused configuration leaves nothing open.
        await waitFor(
          () => servers.http.openConnections() + servers.https.openConnections() === 0,
          'every connection to close',
        );
      },
      60_000,
    );

    it('a kubeconfig that parses to no kubeconfig: refused at creation as having no contexts', async () => {
      const kubeConfig = new major.client.KubeConfig();
      kubeConfig.loadFromString('just some text');
      const outcome = await attempt(kubeConfig, major.client);
      expectFinal(outcome.error);
      expect(outcome.stage).toBe('creation');
      expect(String(outcome.error)).toContain('the kubeConfig has no contexts');
    });

    it('a kubeconfig that does not parse: the client itself throws while loading, before any transport', () => {
      const kubeConfig = new major.client.KubeConfig();
      expect(() => kubeConfig.loadFromString('clusters: [')).toThrow();
    });

    it('a context switched after creation to a server the client refuses: the next wait fails at once', async () => {
      const kubeConfig = new major.client.KubeConfig();
      kubeConfig.loadFromString(
        JSON.stringify({
          clusters: [
            { name: 'ok', cluster: { server: servers.http.url, 'insecure-skip-tls-verify': true } },
            { name: 'plain', cluster: { server: servers.http.url } },
          ],
          users: [{ name: 'u', user: withToken }],
          contexts: [
            { name: 'ok', context: { cluster: 'ok', user: 'u' } },
            { name: 'plain', context: { cluster: 'plain', user: 'u' } },
          ],
          'current-context': 'ok',
        }),
      );
      const transport = createClientNodeTransport({ kubeConfig, client: major.client });
      await using storage = createPodStorage(transport);
      await expect(storage.waitForPhase('a', 'default', 30_000, { untilNot: ['Running'] })).resolves.toBe(
        'Pending',
      );
      kubeConfig.setCurrentContext('plain');
      const started = performance.now();
      const error = await storage
        .waitForPhase('a', 'default', 30_000, { untilNot: ['Running'] })
        .catch((reason: unknown) => reason);
      expectFinal(error);
      expect(String(error)).toContain(`kubeConfig server "${servers.http.url}"`);
      expect(performance.now() - started).toBeLessThan(FAIL_FAST_MS);
      await transport.close();
    }, 60_000);
  });

  it.each([
    ['1.x', '2.x', MAJORS[1] as ClientMajor, MAJORS[0] as ClientMajor],
    ['2.x', '1.x', MAJORS[0] as ClientMajor, MAJORS[1] as ClientMajor],
  ] as const)(
    'a KubeConfig of %s with the module of %s: refused at creation, naming both',
    async (ours, theirs, from, module) => {
      const kubeConfig = new from.client.KubeConfig();
      kubeConfig.loadFromString(servers.http.kubeconfig);
      const outcome = await attempt(kubeConfig, module.client);
      expectFinal(outcome.error);
      expect(outcome.stage).toBe('creation');
      expect(String(outcome.error)).toContain(
        `it is a KubeConfig of @kubernetes/client-node ${ours}, but the transport uses the module of @kubernetes/client-node ${theirs}`,
      );
      expect(String(outcome.error)).not.toContain(TOKEN);
    },
  );

  it('a 1.x KubeConfig with the 2.x module the project resolves (no `client`): the wait fails at once, naming both', async () => {
    const kubeConfig = new (MAJORS[1] as ClientMajor).client.KubeConfig();
    kubeConfig.loadFromString(servers.http.kubeconfig);
    const outcome = await attempt(kubeConfig, undefined);
    expectFinal(outcome.error);
    expect(outcome.stage).toBe('wait');
    expect(String(outcome.error)).toContain('KubeConfig of @kubernetes/client-node 1.x');
    expect(String(outcome.error)).toContain('module of @kubernetes/client-node 2.x');
    expect(outcome.elapsedMs).toBeLessThan(FAIL_FAST_MS);
  }, 60_000);
});

describe.each(MAJORS)('a failure that may pass is still retried with $name', (major) => {
  it('connection refused until the server comes up: the wait retries, then returns the phase', async () => {
    // A port nothing listens on (taken from the kernel, then released); the fake server opens it later.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const fake = new FakeCluster({ mode: 'manual' });
    fake.createPod({ metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
    const kubeConfig = new major.client.KubeConfig();
    kubeConfig.loadFromString(
      kubeconfigText({ cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }),
    );
    const transport = createClientNodeTransport({ kubeConfig, client: major.client });
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
    expect(PodStorageError.isInstance(error) && !error.retryable, String(error)).toBe(false);
    const server = await serveFakeCluster(fake, { port, token: TOKEN });
    try {
      fake.setPodPhase('default', 'a', 'Running');
      expect(await waiting).toBe('Running');
    } finally {
      await transport.close();
      await server.close();
    }
  }, 60_000);
});
