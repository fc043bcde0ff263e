import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { InvalidInputError, PodStorageError } from '@podstorage/core';
import type { ClientNodeModule, ClusterLike, KubeConfigLike, UserLike } from './client-library.js';
import { execInteractivity, isLoadedAsKubectl } from './load-kube-config.js';

// client-node reports a configuration that can never work as errors no different from a network
// failure's (a plain `Error`, a spawn error), which the engine would retry until the operation's
// timeout. These turn the ones that are final into errors that say so and name what is wrong.

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const quoted = (names: readonly string[]) => names.map((name) => JSON.stringify(name)).join(', ');

/**
 * Throws an {@link InvalidInputError} when the KubeConfig's current context is unknown (naming it and
 * listing the known ones) or names a cluster it does not define: client-node would fail every call with
 * `No active cluster!`. Stand-ins without `getContexts` are checked for a current cluster only.
 */
export function checkCurrentContext(kubeConfig: KubeConfigLike): void {
  const name = kubeConfig.getCurrentContext?.();
  const contexts = kubeConfig.getContexts?.();
  const argument = 'kubeConfig current context';
  if (contexts !== undefined) {
    const context = contexts.find((candidate) => candidate.name === name);
    if (context === undefined) {
      throw new InvalidInputError(
        argument,
        name,
        contexts.length === 0
          ? 'the kubeConfig has no contexts (load it first, such as with loadFromDefault())'
          : `the kubeConfig has no context of that name; its contexts: ${quoted(contexts.map((each) => each.name))}`,
      );
    }
    if (kubeConfig.getCurrentCluster() === null) {
      throw new InvalidInputError(
        argument,
        name,
        `it names cluster ${JSON.stringify(context.cluster)}, which the kubeConfig does not define`,
      );
    }
  }
  if (kubeConfig.getCurrentCluster() === null) {
    throw new InvalidInputError(argument, name, 'the kubeConfig has no cluster for it');
  }
}

/** The exec plugin client-node runs for `user`: `user.exec`, else an auth provider's `config.exec`. */
function execOf(user: UserLike | null | undefined): Record<string, unknown> | undefined {
  if (isRecord(user?.exec)) return user.exec;
  const provider = user?.authProvider;
  if (isRecord(provider) && isRecord(provider.config) && isRecord(provider.config.exec)) {
    return provider.config.exec;
  }
  return undefined;
}

/**
 * What a failure of the KubeConfig's authentication step becomes: a non-retryable `PodStorageError`
 * naming the command when the user's exec plugin is not installed, not executable, exits non-zero or
 * prints something that is not JSON; anything else as it is.
 */
export function authenticationError(error: unknown, user: UserLike | null | undefined): unknown {
  const exec = execOf(user);
  if (exec === undefined || typeof exec.command !== 'string' || !(error instanceof Error)) return error;
  const command = exec.command;
  const plugin = `exec plugin ${JSON.stringify(command)} of user ${JSON.stringify(user?.name)}`;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof syscall === 'string' && syscall.startsWith('spawn')) {
    if (code === 'ENOENT') {
      const hint =
        typeof exec.installHint === 'string' && exec.installHint !== '' ? `\n${exec.installHint}` : '';
      return new PodStorageError(`${plugin}: command not found: ${command}${hint}`, {
        cause: error,
        retryable: false,
      });
    }
    if (code === 'EACCES') {
      return new PodStorageError(`${plugin}: command is not executable: ${command}`, {
        cause: error,
        retryable: false,
      });
    }
    // Other spawn failures (EAGAIN, EMFILE: a machine out of processes or files) may pass.
    return error;
  }
  // client-node rejects with `Error(stderr)` when the plugin exits non-zero, and with JSON.parse's
  // SyntaxError (which quotes the output) when it prints no JSON: told apart from other errors by where
  // they were made, its exec_auth module. Neither message is passed on, nor kept as the cause: plugins
  // print credentials and other secrets. Where the stack does not say (a bundled client), the error is
  // left as it is.
  if (code === undefined && /exec_auth/.test(error.stack ?? '')) {
    const problem =
      error instanceof SyntaxError
        ? 'printed output that is not JSON (an ExecCredential was expected)'
        : 'exited with an error (client-node does not say which); its output is left out, as it may hold secrets: run it by hand to see it';
    return new PodStorageError(`${plugin} ${problem}`, { retryable: false });
  }
  return error;
}

/** A URL as messages show it: credentials in it (`http://user:pass@proxy`) are masked. */
function redacted(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

// The schemes client-node hands to its proxy agents (http(s)-proxy-agent, socks-proxy-agent in 1.x;
// undici's ProxyAgent and a socks connector in 2.x), as kubectl accepts them.
const PROXY_PROTOCOLS: ReadonlySet<string> = new Set([
  'http:',
  'https:',
  'socks:',
  'socks4:',
  'socks4a:',
  'socks5:',
  'socks5h:',
]);

/**
 * Throws an {@link InvalidInputError} when the current cluster's `server` or `proxy-url` can never work
 * with client-node: a URL that does not parse or is not http(s) (the client fails every call with
 * "You need to define an absolute base url" or "Invalid URL"), plain `http:` without
 * `insecure-skip-tls-verify` ("HTTP protocol is not allowed when skipTLSVerify is not set"), a proxy of
 * another scheme, or a server the client will not proxy ("Unsupported proxy type"). The conditions
 * mirror the client's own, so that nothing it would accept is refused.
 */
function checkServer(cluster: ClusterLike, where: string): void {
  const server = cluster.server;
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new InvalidInputError(
      'kubeConfig server',
      redacted(server),
      `${where}: it is not ${url === undefined ? 'a URL' : 'an http(s) URL'}; write it as https://host:port (or http://host:port with insecure-skip-tls-verify: true)`,
    );
  }
  const proxyUrl = cluster.proxyUrl;
  if (proxyUrl) {
    let protocol: string | undefined;
    try {
      protocol = new URL(proxyUrl).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol === undefined || !PROXY_PROTOCOLS.has(protocol)) {
      throw new InvalidInputError(
        'kubeConfig proxy-url',
        redacted(proxyUrl),
        `${where}: it is not ${protocol === undefined ? 'a URL' : 'an http:, https: or socks URL'}; write it as http://host:port, https://host:port or socks5://host:port`,
      );
    }
    if (!proxyUrl.startsWith('socks') && !server.startsWith('http')) {
      throw new InvalidInputError(
        'kubeConfig server',
        redacted(server),
        `${where}: client-node sends requests through proxy-url ${JSON.stringify(redacted(proxyUrl))} only for a server written with a lower-case http:// or https:// ("Unsupported proxy type"); write the scheme in lower case`,
      );
    }
  } else if (server.startsWith('http:') && cluster.skipTLSVerify !== true) {
    throw new InvalidInputError(
      'kubeConfig server',
      redacted(server),
      `${where}: client-node refuses plain http: unless the cluster sets insecure-skip-tls-verify: true ("HTTP protocol is not allowed when skipTLSVerify is not set"); set it, or use the server's https: URL`,
    );
  }
}

/** What a PEM value of the kubeconfig holds, read as client-node reads it: the file wins over the data. */
function readMaterial(
  file: string | null | undefined,
  data: string | null | undefined,
  field: string,
  where: string,
): Buffer | undefined {
  if (file) {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new InvalidInputError(
        `kubeConfig ${field}`,
        file,
        `${where}: the file ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code ?? error)})`}`,
      );
    }
  }
  return data ? Buffer.from(data, 'base64') : undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Whether the bundle holds at least one certificate that parses (Node, as Go, skips the others). */
function holdsCertificate(pem: Buffer): boolean {
  return (pem.toString('utf8').match(PEM_CERTIFICATE) ?? []).some((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Throws an {@link InvalidInputError} when the TLS files and data client-node reads on every call can
 * never work: a file that does not exist or cannot be read, a certificate authority that holds no
 * certificate (Node would ignore it and every handshake would fail verification), a client certificate
 * and key that do not parse or do not belong together. As in client-node, none of it is read when the
 * context has no user. Never quotes key material: only file names and OpenSSL's reason.
 */
function checkTlsMaterial(cluster: ClusterLike, user: UserLike, where: string, userWhere: string): void {
  const ca = readMaterial(
    cluster.caFile,
    cluster.caData,
    cluster.caFile ? 'certificate-authority' : 'certificate-authority-data',
    where,
  );
  const cert = readMaterial(
    user.certFile,
    user.certData,
    user.certFile ? 'client-certificate' : 'client-certificate-data',
    userWhere,
  );
  const key = readMaterial(
    user.keyFile,
    user.keyData,
    user.keyFile ? 'client-key' : 'client-key-data',
    userWhere,
  );
  // Over plain http no handshake reads them; with insecure-skip-tls-verify the CA is not consulted.
  if (!cluster.server.toLowerCase().startsWith('https:')) return;
  if (ca !== undefined && cluster.skipTLSVerify !== true && !holdsCertificate(ca)) {
    throw new InvalidInputError(
      cluster.caFile ? 'kubeConfig certificate-authority' : 'kubeConfig certificate-authority-data',
      cluster.caFile ?? '(inline data)',
      `${where}: it holds no PEM certificate that parses, so no server certificate could be trusted`,
    );
  }
  if (cert !== undefined || key !== undefined) {
    try {
      createSecureContext({ ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
    } catch (error) {
      const fields = [
        user.certFile ?? (cert ? '(inline client-certificate-data)' : undefined),
        user.keyFile ?? (key ? '(inline client-key-data)' : undefined),
      ].filter(Boolean);
      throw new InvalidInputError(
        'kubeConfig client certificate and key',
        fields.join(' and '),
        `${userWhere}: they cannot be used for TLS (${(error as Error).message})`,
      );
    }
  }
}

interface AuthenticatorLike {
  isAuthProvider(user: UserLike): unknown;
}

/** The authenticators the KubeConfig consults (2.x: on the instance; 1.x: on the class), custom ones too. */
function authenticatorsOf(kubeConfig: KubeConfigLike): AuthenticatorLike[] | undefined {
  const config = kubeConfig as unknown as {
    authenticators?: unknown;
    custom_authenticators?: unknown;
    constructor?: { authenticators?: unknown };
  };
  const builtIn = config.authenticators ?? config.constructor?.authenticators;
  if (!Array.isArray(builtIn)) return undefined;
  const custom = Array.isArray(config.custom_authenticators) ? config.custom_authenticators : [];
  return [...builtIn, ...custom] as AuthenticatorLike[];
}

/**
 * Throws an {@link InvalidInputError} when the user's `auth-provider` is one client-node has no
 * authenticator for and the user has no other credential: every request would go out anonymous and be
 * refused with a bare 401. Also when the provider reads a token file (`loadFromCluster`) that does not
 * exist. Stand-ins that do not expose their authenticators are not checked.
 */
function checkAuthProvider(kubeConfig: KubeConfigLike, user: UserLike, userWhere: string): void {
  const provider = user.authProvider;
  if (!isRecord(provider)) return;
  const config = isRecord(provider.config) ? provider.config : {};
  if (typeof config.tokenFile === 'string' && config.tokenFile !== '') {
    readMaterial(config.tokenFile, undefined, 'auth-provider token file', userWhere);
  }
  const authenticators = authenticatorsOf(kubeConfig);
  if (authenticators === undefined) return;
  const handled = authenticators.some((authenticator) => {
    try {
      return Boolean(authenticator.isAuthProvider(user));
    } catch {
      return true; // An authenticator that cannot tell is given the benefit of the doubt.
    }
  });
  if (handled || user.token || user.username || user.certFile || user.certData) return;
  throw new InvalidInputError(
    'kubeConfig auth-provider',
    typeof provider.name === 'string'
      ? provider.name
      : provider.name === undefined
        ? '(no name)'
        : String(provider.name),
    `${userWhere}: client-node has no authenticator for it (it has azure, gcp and oidc, and runs a provider's config.exec or reads its config.tokenFile); use an exec credential plugin, or register yours with kubeConfig.addAuthenticator()`,
  );
}

/**
 * Throws an {@link InvalidInputError} for a KubeConfig whose current context can never work with
 * client-node, naming the bad value and what to do: the context (see {@link checkCurrentContext}), the
 * cluster's server and proxy URLs, and, with `files` (at creation: files may be replaced while a
 * program runs, so a read that fails later stays a retryable failure), the TLS files and data and the
 * auth provider. Cheap without `files`: the transport runs it before every call, as the context may be
 * switched at any time.
 */
export function checkConfiguration(kubeConfig: KubeConfigLike, { files }: { files: boolean }): void {
  checkCurrentContext(kubeConfig);
  const cluster = kubeConfig.getCurrentCluster() as ClusterLike;
  const context = JSON.stringify(kubeConfig.getCurrentContext?.());
  const where = `cluster ${JSON.stringify(cluster.name)} of context ${context}`;
  checkServer(cluster, where);
  if (!files) return;
  const user = kubeConfig.getCurrentUser?.();
  if (user === null || user === undefined) return;
  const userWhere = `user ${JSON.stringify(user.name)} of context ${context}`;
  checkTlsMaterial(cluster, user, where, userWhere);
  checkAuthProvider(kubeConfig, user, userWhere);
  // kubectl's interactiveMode rules, however the KubeConfig was loaded (loadKubeConfig has applied them).
  if (!isLoadedAsKubectl(kubeConfig)) {
    execInteractivity({ name: user.name, exec: user.exec }, process.stdin.isTTY === true);
  }
}

/** Which major a KubeConfig (or its class's prototype) belongs to, told by the methods only it has. */
function majorOf(kubeConfig: unknown): string | undefined {
  if (typeof kubeConfig !== 'object' || kubeConfig === null) return undefined;
  const methods = kubeConfig as { createDispatcher?: unknown; applyToFetchOptions?: unknown };
  if (typeof methods.createDispatcher === 'function') return '2.x';
  if (typeof methods.applyToFetchOptions === 'function') return '1.x';
  return undefined;
}

/**
 * The error for a `kubeConfig` that is not a KubeConfig of `client` (another major, or another copy of
 * the same major), naming both majors; `undefined` when it is (or `client` has no `KubeConfig` to tell).
 * The KubeConfig would build API clients of its own module with the other's classes: refused, not
 * half-working.
 */
export function mixedModulesError(
  kubeConfig: KubeConfigLike,
  client: ClientNodeModule,
): InvalidInputError | undefined {
  if (client.KubeConfig === undefined || kubeConfig instanceof client.KubeConfig) return undefined;
  const ours = majorOf(kubeConfig);
  const theirs = majorOf(client.KubeConfig.prototype);
  const of = (major: string | undefined) =>
    `@kubernetes/client-node${major === undefined ? '' : ` ${major}`}`;
  const problem =
    ours !== undefined && ours === theirs
      ? `it comes from another copy of ${of(ours)} than the module the transport uses (two copies are installed)`
      : `it is a KubeConfig of ${of(ours)}, but the transport uses the module of ${of(theirs)}`;
  return new InvalidInputError(
    'kubeConfig',
    `KubeConfig of ${of(ours)}`,
    `${problem}; pass the module the kubeConfig comes from as \`client\` (such as a 1.x installed under an alias), or load the kubeConfig with that module's KubeConfig`,
  );
}

// Node's codes for a server certificate that the client does not trust or that is not valid for the name
// it checked. A configuration error (the wrong certificate authority or tls-server-name) that no retry
// fixes. Expiry and not-yet-valid are left out: a renewal on the server or a corrected clock fixes them.
const UNTRUSTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);
const WRONG_NAME = 'ERR_TLS_CERT_ALTNAME_INVALID';

/** The first error in the `cause` chain (the client wraps them: `fetch failed`, `FetchError`) with one of `codes`. */
function findCode(
  error: unknown,
  codes: (code: string) => boolean,
): { code: string; message: string } | undefined {
  let current = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && codes(code)) return { code, message: current.message };
    current = current.cause;
  }
  return undefined;
}

/**
 * What a failed call or watch becomes when the failure is one no retry can fix: a non-retryable
 * `PodStorageError` naming the server and what to check when the server's certificate is not trusted or
 * not valid for the name checked. Anything else (connection refused, DNS, a reset handshake, answers of
 * the server) as it is.
 */
export function finalNetworkError(error: unknown, kubeConfig: KubeConfigLike, operation: string): unknown {
  if (PodStorageError.isInstance(error)) return error;
  const found = findCode(error, (code) => code === WRONG_NAME || UNTRUSTED_CERTIFICATE.has(code));
  if (found === undefined) return error;
  const cluster = kubeConfig.getCurrentCluster();
  const server = cluster === null ? '(no cluster)' : redacted(cluster.server);
  const problem =
    found.code === WRONG_NAME
      ? `presented a certificate that is not valid for the name checked (${found.message}); check the cluster's tls-server-name and server`
      : `presented a certificate the kubeConfig does not trust (${found.code}: ${found.message}); check the cluster's certificate-authority or certificate-authority-data`;
  const user = kubeConfig.getCurrentUser?.();
  // Both majors apply a cluster's TLS settings only while applying a user's (applyHTTPSOptions).
  const hint =
    user === null
      ? `; client-node ignores the cluster's TLS settings when the context names no user: give context ${JSON.stringify(kubeConfig.getCurrentContext?.())} one (an empty user: {} will do)`
      : '';
  return new PodStorageError(`${operation}: the API server ${server} ${problem}${hint}`, {
    cause: error,
    retryable: false,
  });
}
