import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { Logger } from '@podstorage/core';
import { KubeconfigError, type KubeconfigLocation } from './errors.js';
import {
  type ConfigEnvironment,
  defaultKubeconfigFiles,
  isKubeconfigText,
  type Kubeconfig,
  type KubeconfigCluster,
  type KubeconfigUser,
  type MergedKubeconfig,
  mergeInlineKubeconfig,
  mergeKubeconfigFiles,
  processEnvironment,
  type SourcedEntry,
} from './kubeconfig.js';
import { Secret } from './secret.js';
import { holdsCertificate, keyPairProblem } from './tls-material.js';

/** The exec credential API versions this package speaks. */
export const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;

/** An exec credential plugin, resolved from a kubeconfig user. */
export interface ExecSettings {
  /** The command: a name looked up in PATH, or an absolute path (relative ones resolved against the kubeconfig). */
  readonly command: string;
  readonly args: readonly string[];
  /** Variables added to this process's environment for the plugin. */
  readonly env: Readonly<Record<string, string>>;
  readonly apiVersion: (typeof EXEC_API_VERSIONS)[number];
  readonly installHint: string | undefined;
  readonly interactiveMode: 'Never' | 'IfAvailable' | 'Always';
  /** The `spec.cluster` handed to the plugin in `KUBERNETES_EXEC_INFO`, when `provideClusterInfo` is set. */
  readonly cluster: Record<string, unknown> | undefined;
  /** The kubeconfig user the plugin runs for (for messages). */
  readonly user: string;
}

/** How requests authenticate. */
export type AuthSettings =
  | { readonly type: 'none' }
  | { readonly type: 'token'; readonly token: Secret }
  | { readonly type: 'token-file'; readonly path: string }
  | { readonly type: 'basic'; readonly username: string; readonly password: Secret }
  | { readonly type: 'exec'; readonly exec: ExecSettings };

/** TLS settings for the API server connection. */
export interface TlsSettings {
  /** PEM of the CA to trust instead of the system's roots. */
  readonly ca: string | undefined;
  /** PEM client certificate and key (mutual TLS). */
  readonly cert: string | undefined;
  readonly key: Secret | undefined;
  /** Only ever true when the kubeconfig says `insecure-skip-tls-verify: true`. */
  readonly insecureSkipTlsVerify: boolean;
  /** The name to send in SNI and check the certificate against, from `tls-server-name`. */
  readonly serverName: string | undefined;
}

/** Everything needed to talk to one API server as one user. Secrets are wrapped, so printing this is safe. */
export interface ClusterConfig {
  /** The API server URL (a path prefix, if any, is kept). */
  readonly server: URL;
  /** The context's default namespace (`default` when it sets none). */
  readonly namespace: string;
  /** The context used; `undefined` for in-cluster configuration. */
  readonly context: string | undefined;
  /** Where the configuration came from, for messages. */
  readonly source: string;
  readonly tls: TlsSettings;
  /** `proxy-url` of the cluster entry. */
  readonly proxyUrl: string | undefined;
  readonly auth: AuthSettings;
}

/** Options of {@link loadClusterConfig}. */
export interface LoadClusterConfigOptions {
  /** A kubeconfig path, kubeconfig YAML text (anything with a newline), or a parsed kubeconfig. */
  readonly kubeconfig?: string | Kubeconfig;
  /** The context to use instead of `current-context`. */
  readonly context?: string;
  /**
   * Use the pod's service account (`KUBERNETES_SERVICE_HOST/PORT`, token, CA and namespace files).
   * Default: only when no kubeconfig is given or found and `KUBERNETES_SERVICE_HOST` is set.
   */
  readonly inCluster?: boolean | { readonly serviceAccountDirectory?: string };
  /** Environment, home and working directory to read from. Default: this process's. */
  readonly environment?: ConfigEnvironment;
  /** Receives warnings (such as an in-cluster CA file that is missing). */
  readonly logger?: Logger;
}

/** The directory Kubernetes mounts a pod's service account credentials into. */
export const SERVICE_ACCOUNT_DIRECTORY = '/var/run/secrets/kubernetes.io/serviceaccount';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function readPem(path: string, location: KubeconfigLocation, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new KubeconfigError(
      `${what} file ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
      location,
      { cause: error },
    );
  }
  if (!text.includes('-----BEGIN')) throw new KubeconfigError(`${what} file ${path} is not PEM`, location);
  return text;
}

function decodePem(data: unknown, location: KubeconfigLocation, what: string): string {
  if (typeof data !== 'string' || data.trim() === '') {
    throw new KubeconfigError('must be a non-empty base64 string', location);
  }
  const compact = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new KubeconfigError('is not valid base64', location);
  const text = Buffer.from(compact, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) throw new KubeconfigError(`does not hold a PEM ${what}`, location);
  return text;
}

function optionalString(value: unknown, location: KubeconfigLocation): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeconfigError('must be a string', location);
  return value;
}

/** A URL as messages quote it: credentials in it (`http://user:pass@proxy`) are masked. */
function redacted(url: string): string {
  return JSON.stringify(url.replace(/\/\/[^/@]*@/, '//***@').slice(0, 200));
}

function pathIn(entry: SourcedEntry<unknown>, path: string): string {
  return isAbsolute(path) ? path : resolvePath(entry.directory, path);
}

function resolveCluster(entry: SourcedEntry<KubeconfigCluster>, context: string) {
  const at = (key: string): KubeconfigLocation => ({
    file: entry.file,
    context,
    field: `${entry.field}.cluster.${key}`,
  });
  const cluster = entry.value as Record<string, unknown>;
  const serverText = optionalString(cluster.server, at('server'));
  if (serverText === undefined)
    throw new KubeconfigError('is missing: the cluster has no server URL', at('server'));
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeconfigError(
      `${redacted(serverText)} is not a valid URL; write it as https://host:port`,
      at('server'),
    );
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new KubeconfigError(
      `${redacted(serverText)} must be an http: or https: URL (such as https://host:port), not ${server.protocol}`,
      at('server'),
    );
  }
  if (server.username || server.password) {
    throw new KubeconfigError('must not carry a user name or password', at('server'));
  }
  const insecure = cluster['insecure-skip-tls-verify'];
  if (insecure !== undefined && insecure !== null && typeof insecure !== 'boolean') {
    throw new KubeconfigError('must be true or false', at('insecure-skip-tls-verify'));
  }
  let ca: string | undefined;
  if (cluster['certificate-authority-data'] !== undefined && cluster['certificate-authority-data'] !== '') {
    ca = decodePem(cluster['certificate-authority-data'], at('certificate-authority-data'), 'certificate');
    if (!holdsCertificate(ca)) {
      throw new KubeconfigError(
        'holds no PEM certificate that parses, so no server certificate could be trusted',
        at('certificate-authority-data'),
      );
    }
  } else {
    const file = optionalString(cluster['certificate-authority'], at('certificate-authority'));
    if (file !== undefined) {
      const path = pathIn(entry, file);
      ca = readPem(path, at('certificate-authority'), 'certificate authority');
      if (!holdsCertificate(ca)) {
        throw new KubeconfigError(
          `certificate authority file ${path} holds no PEM certificate that parses, so no server certificate could be trusted`,
          at('certificate-authority'),
        );
      }
    }
  }
  if (ca !== undefined && insecure === true) {
    // kubectl refuses this combination too: trusting a CA and skipping verification contradict each other.
    throw new KubeconfigError(
      'a certificate authority and insecure-skip-tls-verify cannot both be set',
      at('insecure-skip-tls-verify'),
    );
  }
  const proxyUrl = optionalString(cluster['proxy-url'], at('proxy-url'));
  if (proxyUrl !== undefined) {
    let protocol: string;
    try {
      protocol = new URL(proxyUrl).protocol;
    } catch {
      throw new KubeconfigError(
        `${redacted(proxyUrl)} is not a valid URL; write it as http://host:port`,
        at('proxy-url'),
      );
    }
    if (!['http:', 'https:', 'socks5:'].includes(protocol)) {
      throw new KubeconfigError(
        `${redacted(proxyUrl)} must be an http:, https: or socks5: URL, not ${protocol}`,
        at('proxy-url'),
      );
    }
  }
  return {
    server,
    ca,
    insecureSkipTlsVerify: insecure === true,
    serverName: optionalString(cluster['tls-server-name'], at('tls-server-name')),
    proxyUrl,
    extensions: cluster.extensions,
  };
}

function resolveExec(
  entry: SourcedEntry<KubeconfigUser>,
  context: string,
  exec: unknown,
  clusterInfo: Record<string, unknown>,
): ExecSettings {
  const at = (key: string): KubeconfigLocation => ({
    file: entry.file,
    context,
    field: `${entry.field}.user.exec${key}`,
  });
  if (!isRecord(exec)) throw new KubeconfigError('must be a map', at(''));
  const command = optionalString(exec.command, at('.command'));
  if (command === undefined)
    throw new KubeconfigError('is missing: the exec plugin has no command', at('.command'));
  const apiVersion = exec.apiVersion;
  if (!EXEC_API_VERSIONS.includes(apiVersion as (typeof EXEC_API_VERSIONS)[number])) {
    throw new KubeconfigError(
      `must be one of ${EXEC_API_VERSIONS.join(', ')} (got ${typeof apiVersion === 'string' ? JSON.stringify(apiVersion.slice(0, 80)) : String(apiVersion)})`,
      at('.apiVersion'),
    );
  }
  const args = exec.args ?? [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw new KubeconfigError('must be a list of strings', at('.args'));
  }
  const env: Record<string, string> = {};
  const envList = exec.env ?? [];
  if (!Array.isArray(envList)) throw new KubeconfigError('must be a list of {name, value}', at('.env'));
  envList.forEach((variable: unknown, index: number) => {
    if (!isRecord(variable) || typeof variable.name !== 'string' || typeof variable.value !== 'string') {
      throw new KubeconfigError('must have a string name and value', at(`.env[${index}]`));
    }
    env[variable.name] = variable.value;
  });
  // kubectl defaults interactiveMode for v1beta1 plugins only; a v1 plugin must say it
  // (client-go tools/clientcmd/api/v1/defaults.go and validation.go).
  if (
    (exec.interactiveMode === undefined || exec.interactiveMode === null) &&
    apiVersion === 'client.authentication.k8s.io/v1'
  ) {
    throw new KubeconfigError(
      `is missing: interactiveMode must be specified for ${entry.name} to use exec authentication plugin (Never, IfAvailable or Always)`,
      at('.interactiveMode'),
    );
  }
  const interactiveMode = exec.interactiveMode ?? 'IfAvailable';
  if (interactiveMode !== 'Never' && interactiveMode !== 'IfAvailable' && interactiveMode !== 'Always') {
    throw new KubeconfigError('must be Never, IfAvailable or Always', at('.interactiveMode'));
  }
  if (exec.provideClusterInfo !== undefined && typeof exec.provideClusterInfo !== 'boolean') {
    throw new KubeconfigError('must be true or false', at('.provideClusterInfo'));
  }
  // client-go resolves a relative command with a directory part against the kubeconfig's directory.
  const resolvedCommand =
    !isAbsolute(command) && (command.includes('/') || command.includes('\\'))
      ? resolvePath(entry.directory, command)
      : command;
  return {
    command: resolvedCommand,
    args,
    env,
    apiVersion: apiVersion as ExecSettings['apiVersion'],
    installHint: optionalString(exec.installHint, at('.installHint')),
    interactiveMode,
    cluster: exec.provideClusterInfo === true ? clusterInfo : undefined,
    user: entry.name,
  };
}

function resolveUser(
  entry: SourcedEntry<KubeconfigUser> | undefined,
  context: string,
  clusterInfo: Record<string, unknown>,
): { auth: AuthSettings; cert: string | undefined; key: Secret | undefined } {
  if (entry === undefined) return { auth: { type: 'none' }, cert: undefined, key: undefined };
  const at = (key: string): KubeconfigLocation => ({
    file: entry.file,
    context,
    field: `${entry.field}.user.${key}`,
  });
  const user = entry.value as Record<string, unknown>;
  if (user['auth-provider'] !== undefined && user['auth-provider'] !== null) {
    const name = isRecord(user['auth-provider']) ? String(user['auth-provider'].name ?? '') : '';
    throw new KubeconfigError(
      `auth-provider ${JSON.stringify(name.slice(0, 40))} is not supported (client-go removed them): use an exec credential plugin`,
      at('auth-provider'),
    );
  }
  let cert: string | undefined;
  let key: Secret | undefined;
  // For messages: where the certificate and key came from (a file, or the kubeconfig's inline data).
  let certSource = 'client-certificate-data';
  let keySource = 'client-key-data';
  if (user['client-certificate-data'] !== undefined && user['client-certificate-data'] !== '') {
    cert = decodePem(user['client-certificate-data'], at('client-certificate-data'), 'certificate');
  } else {
    const file = optionalString(user['client-certificate'], at('client-certificate'));
    if (file !== undefined) {
      certSource = pathIn(entry, file);
      cert = readPem(certSource, at('client-certificate'), 'client certificate');
    }
  }
  if (user['client-key-data'] !== undefined && user['client-key-data'] !== '') {
    key = new Secret(decodePem(user['client-key-data'], at('client-key-data'), 'private key'));
  } else {
    const file = optionalString(user['client-key'], at('client-key'));
    if (file !== undefined) {
      keySource = pathIn(entry, file);
      key = new Secret(readPem(keySource, at('client-key'), 'client key'));
    }
  }
  if (cert !== undefined && key === undefined) {
    throw new KubeconfigError('is missing: a client certificate needs its key', at('client-key'));
  }
  if (key !== undefined && cert === undefined) {
    throw new KubeconfigError('is missing: a client key needs its certificate', at('client-certificate'));
  }
  const unusable = cert === undefined || key === undefined ? undefined : keyPairProblem(cert, key.reveal());
  if (unusable !== undefined) {
    throw new KubeconfigError(
      `the client certificate (${certSource}) and key (${keySource}) cannot be used for TLS (${unusable})`,
      { file: entry.file, context, field: `${entry.field}.user` },
    );
  }
  const token = optionalString(user.token, at('token'));
  const tokenFile = optionalString(user.tokenFile, at('tokenFile'));
  const username = optionalString(user.username, at('username'));
  const password = optionalString(user.password, at('password'));
  const methods = [
    token !== undefined || tokenFile !== undefined ? 'token' : undefined,
    username !== undefined || password !== undefined ? 'username/password' : undefined,
    user.exec !== undefined && user.exec !== null ? 'exec' : undefined,
  ].filter((method) => method !== undefined);
  if (methods.length > 1) {
    throw new KubeconfigError(`sets more than one authentication method (${methods.join(', ')}); keep one`, {
      file: entry.file,
      context,
      field: `${entry.field}.user`,
    });
  }
  let auth: AuthSettings = { type: 'none' };
  // A token wins over a token file, as in client-go.
  if (token !== undefined) auth = { type: 'token', token: new Secret(token) };
  else if (tokenFile !== undefined) {
    const path = pathIn(entry, tokenFile);
    try {
      readFileSync(path);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new KubeconfigError(
        `token file ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
        at('tokenFile'),
        { cause: error },
      );
    }
    auth = { type: 'token-file', path };
  } else if (username !== undefined || password !== undefined) {
    if (username === undefined) throw new KubeconfigError('is missing (a password is set)', at('username'));
    auth = { type: 'basic', username, password: new Secret(password ?? '') };
  } else if (user.exec !== undefined && user.exec !== null) {
    auth = { type: 'exec', exec: resolveExec(entry, context, user.exec, clusterInfo) };
  }
  return { auth, cert, key };
}

/** Resolves one context of merged kubeconfig files into a {@link ClusterConfig}. */
export function resolveContext(merged: MergedKubeconfig, chosen: string | undefined): ClusterConfig {
  const sources = merged.files.join(', ');
  const name = chosen ?? merged.currentContext?.name;
  if (name === undefined) {
    throw new KubeconfigError('no context chosen and no current-context set', {
      file: sources,
      field: 'current-context',
    });
  }
  const contextEntry = merged.contexts.get(name);
  if (contextEntry === undefined) {
    const known = [...merged.contexts.keys()];
    throw new KubeconfigError(
      `context not found (known contexts: ${known.length > 0 ? known.join(', ') : 'none'})`,
      {
        file: chosen === undefined && merged.currentContext ? merged.currentContext.file : sources,
        context: name,
        field: chosen === undefined ? 'current-context' : 'contexts',
      },
    );
  }
  const at = (key: string): KubeconfigLocation => ({
    file: contextEntry.file,
    context: name,
    field: `${contextEntry.field}.context.${key}`,
  });
  const context = contextEntry.value as unknown as Record<string, unknown>;
  const clusterName = optionalString(context.cluster, at('cluster'));
  if (clusterName === undefined)
    throw new KubeconfigError('is missing: the context names no cluster', at('cluster'));
  const clusterEntry = merged.clusters.get(clusterName);
  if (clusterEntry === undefined) {
    throw new KubeconfigError(
      `names cluster "${clusterName}", which is not defined in ${sources}`,
      at('cluster'),
    );
  }
  const userName = optionalString(context.user, at('user'));
  const userEntry = userName === undefined ? undefined : merged.users.get(userName);
  if (userName !== undefined && userEntry === undefined) {
    throw new KubeconfigError(`names user "${userName}", which is not defined in ${sources}`, at('user'));
  }
  const namespace = optionalString(context.namespace, at('namespace')) ?? 'default';
  const cluster = resolveCluster(clusterEntry, name);
  const clusterInfo: Record<string, unknown> = {
    server: cluster.server.href.replace(/\/$/, ''),
    ...(cluster.serverName ? { 'tls-server-name': cluster.serverName } : {}),
    ...(cluster.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
    ...(cluster.ca ? { 'certificate-authority-data': Buffer.from(cluster.ca).toString('base64') } : {}),
    ...(cluster.proxyUrl ? { 'proxy-url': cluster.proxyUrl } : {}),
  };
  const execExtension = Array.isArray(cluster.extensions)
    ? (cluster.extensions as unknown[]).find(
        (extension) => isRecord(extension) && extension.name === 'client.authentication.k8s.io/exec',
      )
    : undefined;
  if (isRecord(execExtension) && execExtension.extension !== undefined)
    clusterInfo.config = execExtension.extension;
  const user = resolveUser(userEntry, name, clusterInfo);
  return {
    server: cluster.server,
    namespace,
    context: name,
    source: contextEntry.file,
    tls: {
      ca: cluster.ca,
      cert: user.cert,
      key: user.key,
      insecureSkipTlsVerify: cluster.insecureSkipTlsVerify,
      serverName: cluster.serverName,
    },
    proxyUrl: cluster.proxyUrl,
    auth: user.auth,
  };
}

/**
 * The configuration of a pod's service account: the API server from `KUBERNETES_SERVICE_HOST` and
 * `KUBERNETES_SERVICE_PORT`, the token file (re-read when it changes), the CA and the namespace
 * (`POD_NAMESPACE`, else the namespace file, else `default`).
 */
export function inClusterConfig(
  environment: ConfigEnvironment,
  directory: string = SERVICE_ACCOUNT_DIRECTORY,
  logger?: Logger,
): ClusterConfig {
  const source = 'in-cluster configuration';
  const host = environment.env.KUBERNETES_SERVICE_HOST;
  const port = environment.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(
      'not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set',
      { file: source, field: host ? 'KUBERNETES_SERVICE_PORT' : 'KUBERNETES_SERVICE_HOST' },
    );
  }
  let server: URL;
  try {
    server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  } catch {
    throw new KubeconfigError('KUBERNETES_SERVICE_HOST/PORT do not make a valid URL', { file: source });
  }
  const tokenPath = join(directory, 'token');
  try {
    readFileSync(tokenPath);
  } catch (error) {
    throw new KubeconfigError(
      `service account token ${tokenPath} cannot be read (${(error as { code?: string }).code ?? 'error'})`,
      { file: source, field: 'token' },
      { cause: error },
    );
  }
  const caPath = join(directory, 'ca.crt');
  let ca: string | undefined;
  try {
    ca = readPem(caPath, { file: source, field: 'ca.crt' }, 'service account CA');
    if (!holdsCertificate(ca)) {
      throw new KubeconfigError(`service account CA ${caPath} holds no PEM certificate that parses`, {
        file: source,
        field: 'ca.crt',
      });
    }
  } catch (error) {
    // As client-go: without the CA file, fall back to the system's roots, and say so.
    logger?.warn(
      { file: caPath, err: (error as Error).message },
      'in-cluster CA unusable; trusting the system CAs',
    );
  }
  let namespace = environment.env.POD_NAMESPACE;
  if (!namespace) {
    try {
      namespace = readFileSync(join(directory, 'namespace'), 'utf8').trim();
    } catch {
      namespace = undefined;
    }
  }
  return {
    server,
    namespace: namespace || 'default',
    context: undefined,
    source,
    tls: { ca, cert: undefined, key: undefined, insecureSkipTlsVerify: false, serverName: undefined },
    proxyUrl: undefined,
    auth: { type: 'token-file', path: tokenPath },
  };
}

/**
 * Finds and resolves the configuration as kubectl and client-go do: the given kubeconfig (path, YAML
 * text or object); else the files of `KUBECONFIG`, merged; else `~/.kube/config`; else, inside a pod,
 * the service account. Throws {@link KubeconfigError} naming the file, context and field at fault.
 */
export function loadClusterConfig(options: LoadClusterConfigOptions = {}): ClusterConfig {
  const environment = options.environment ?? processEnvironment();
  if (options.inCluster) {
    const directory =
      typeof options.inCluster === 'object' ? options.inCluster.serviceAccountDirectory : undefined;
    return inClusterConfig(environment, directory, options.logger);
  }
  let merged: MergedKubeconfig;
  const given = options.kubeconfig;
  if (typeof given === 'string' && !isKubeconfigText(given)) {
    merged = mergeKubeconfigFiles([resolvePath(environment.workingDirectory, given)]);
  } else if (given !== undefined) {
    merged = mergeInlineKubeconfig(given, environment);
  } else {
    const files = defaultKubeconfigFiles(environment);
    if (files === undefined) {
      if (environment.env.KUBERNETES_SERVICE_HOST)
        return inClusterConfig(environment, undefined, options.logger);
      throw new KubeconfigError(
        `no configuration found: KUBECONFIG is not set, ${join(environment.homeDirectory, '.kube', 'config')} does not exist, and KUBERNETES_SERVICE_HOST is not set (not in a pod)`,
      );
    }
    merged = mergeKubeconfigFiles(files);
  }
  return resolveContext(merged, options.context);
}
