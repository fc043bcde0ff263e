import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { KubeconfigError } from './errors.js';

/** `clusters[].cluster` of a kubeconfig. */
export interface KubeconfigCluster {
  /** The API server URL. */
  readonly server?: string;
  /** A PEM file of the CA to trust (relative to the kubeconfig). */
  readonly 'certificate-authority'?: string;
  /** The CA to trust, base64 PEM. */
  readonly 'certificate-authority-data'?: string;
  /** Skip certificate verification (only ever honoured when set here). */
  readonly 'insecure-skip-tls-verify'?: boolean;
  /** The name to send in SNI and verify the certificate against. */
  readonly 'tls-server-name'?: string;
  /** An http(s) or socks5 proxy for this cluster. */
  readonly 'proxy-url'?: string;
  /** Extensions; `client.authentication.k8s.io/exec` is handed to exec plugins. */
  readonly extensions?: readonly { readonly name: string; readonly extension?: unknown }[];
}

/** `users[].user.exec` of a kubeconfig: an exec credential plugin. */
export interface KubeconfigExec {
  /** The plugin command (PATH lookup, absolute, or relative to the kubeconfig). */
  readonly command: string;
  /** Arguments, passed as they are (no shell). */
  readonly args?: readonly string[] | null;
  /** Variables added to the plugin's environment. */
  readonly env?: readonly { readonly name: string; readonly value: string }[] | null;
  /** `client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`. */
  readonly apiVersion: string;
  /** Shown when the command is not found. */
  readonly installHint?: string;
  /** Pass the cluster in `KUBERNETES_EXEC_INFO`. */
  readonly provideClusterInfo?: boolean;
  /** `Always` is refused: this library never has a terminal. */
  readonly interactiveMode?: 'Never' | 'IfAvailable' | 'Always';
}

/** `users[].user` of a kubeconfig. */
export interface KubeconfigUser {
  /** A bearer token. */
  readonly token?: string;
  /** A file holding a bearer token, re-read when it changes. */
  readonly tokenFile?: string;
  /** A PEM client certificate file. */
  readonly 'client-certificate'?: string;
  /** A client certificate, base64 PEM. */
  readonly 'client-certificate-data'?: string;
  /** A PEM client key file. */
  readonly 'client-key'?: string;
  /** A client key, base64 PEM. */
  readonly 'client-key-data'?: string;
  /** Basic authentication user name. */
  readonly username?: string;
  /** Basic authentication password. */
  readonly password?: string;
  /** An exec credential plugin. */
  readonly exec?: KubeconfigExec;
  /** Legacy auth providers: refused with a clear error. */
  readonly 'auth-provider'?: { readonly name: string; readonly config?: Record<string, string> };
}

/** `contexts[].context` of a kubeconfig. */
export interface KubeconfigContext {
  /** The cluster entry's name. */
  readonly cluster: string;
  /** The user entry's name; absent: anonymous. */
  readonly user?: string;
  /** The default namespace (`default` when absent). */
  readonly namespace?: string;
}

/** A kubeconfig as kubectl reads it (YAML or JSON), for passing one as an object. */
export interface Kubeconfig {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly clusters?: readonly { readonly name: string; readonly cluster: KubeconfigCluster }[] | null;
  readonly users?: readonly { readonly name: string; readonly user: KubeconfigUser }[] | null;
  readonly contexts?: readonly { readonly name: string; readonly context: KubeconfigContext }[] | null;
  readonly 'current-context'?: string;
  readonly preferences?: unknown;
}

/** One entry of a merged kubeconfig, with the file it came from (relative paths resolve against it). */
export interface SourcedEntry<T> {
  readonly name: string;
  readonly value: T;
  /** The file, or a description of an inline kubeconfig, for messages. */
  readonly file: string;
  /** The directory relative paths in this entry resolve against. */
  readonly directory: string;
  /** The field path of the entry, such as `clusters[1]`. */
  readonly field: string;
}

/** Kubeconfig files merged as kubectl merges them. */
export interface MergedKubeconfig {
  readonly clusters: ReadonlyMap<string, SourcedEntry<KubeconfigCluster>>;
  readonly users: ReadonlyMap<string, SourcedEntry<KubeconfigUser>>;
  readonly contexts: ReadonlyMap<string, SourcedEntry<KubeconfigContext>>;
  readonly currentContext: { readonly name: string; readonly file: string } | undefined;
  /** The files (or descriptions) that were read, in order. */
  readonly files: readonly string[];
}

/** Where configuration comes from; tests pass their own environment and home directory. */
export interface ConfigEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDirectory: string;
  readonly workingDirectory: string;
}

/** The real environment of this process. */
export function processEnvironment(): ConfigEnvironment {
  return { env: process.env, homeDirectory: homedir(), workingDirectory: process.cwd() };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses kubeconfig text; the error never quotes the text (it may hold tokens and keys). */
export function parseKubeconfigText(text: string, file: string): Kubeconfig {
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: false, uniqueKeys: false });
  } catch (error) {
    // yaml's own message quotes the offending source line, which may be a token: report the position only.
    let position = '';
    if (error instanceof YAMLParseError) {
      const offset = Math.min(error.pos[0], text.length);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      position = ` at line ${line}, column ${column}`;
    }
    const code = error instanceof YAMLParseError ? ` (${error.code})` : '';
    throw new KubeconfigError(`not valid YAML${position}${code}`, { file });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed)) throw new KubeconfigError('not a kubeconfig: the document is not a map', { file });
  return parsed as Kubeconfig;
}

function readKubeconfigFile(path: string): Kubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const problem = code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'error'})`;
    throw new KubeconfigError(problem, { file: path }, { cause: error });
  }
  return parseKubeconfigText(text, path);
}

const LISTS = [
  ['clusters', 'cluster'],
  ['users', 'user'],
  ['contexts', 'context'],
] as const;

interface MutableMerged {
  clusters: Map<string, SourcedEntry<KubeconfigCluster>>;
  users: Map<string, SourcedEntry<KubeconfigUser>>;
  contexts: Map<string, SourcedEntry<KubeconfigContext>>;
  currentContext: { name: string; file: string } | undefined;
  files: string[];
}

function mergeInto(merged: MutableMerged, config: Kubeconfig, file: string, directory: string): void {
  merged.files.push(file);
  for (const [list, key] of LISTS) {
    const entries = (config as Record<string, unknown>)[list];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw new KubeconfigError('must be a list', { file, field: list });
    entries.forEach((entry: unknown, index: number) => {
      const field = `${list}[${index}]`;
      if (!isRecord(entry)) throw new KubeconfigError('must be a map', { file, field });
      const name = entry.name;
      if (typeof name !== 'string' || name === '') {
        throw new KubeconfigError('must be a non-empty string', { file, field: `${field}.name` });
      }
      const value = entry[key] ?? {};
      if (!isRecord(value)) throw new KubeconfigError('must be a map', { file, field: `${field}.${key}` });
      const target = merged[list] as Map<string, SourcedEntry<unknown>>;
      // kubectl's merge: the first file to define a name wins.
      if (!target.has(name))
        target.set(name, { name, value, file, directory, field: `${list}[name=${name}]` });
    });
  }
  const current = config['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw new KubeconfigError('must be a string', { file, field: 'current-context' });
  }
  // The current context comes from the first file that sets one.
  if (merged.currentContext === undefined && typeof current === 'string' && current !== '') {
    merged.currentContext = { name: current, file };
  }
}

function emptyMerged(): MutableMerged {
  return { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined, files: [] };
}

/** Merges kubeconfig files in order, as kubectl merges the files of `KUBECONFIG`. */
export function mergeKubeconfigFiles(paths: readonly string[]): MergedKubeconfig {
  const merged = emptyMerged();
  for (const path of paths) mergeInto(merged, readKubeconfigFile(path), path, dirname(path));
  return merged;
}

/** A kubeconfig given as YAML text or an object (relative paths resolve against the working directory). */
export function mergeInlineKubeconfig(
  config: Kubeconfig | string,
  environment: ConfigEnvironment,
): MergedKubeconfig {
  const merged = emptyMerged();
  if (typeof config === 'string') {
    const file = 'the kubeconfig given as YAML text';
    mergeInto(merged, parseKubeconfigText(config, file), file, environment.workingDirectory);
  } else {
    const file = 'the kubeconfig given as an object';
    if (!isRecord(config)) throw new KubeconfigError('not a kubeconfig: not an object', { file });
    mergeInto(merged, config, file, environment.workingDirectory);
  }
  return merged;
}

const exists = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * The kubeconfig files kubectl would read: the existing files listed in `KUBECONFIG` (missing ones are
 * skipped, as kubectl skips them; if none exists that is an error), else `~/.kube/config` if it exists.
 * `undefined` when there is neither.
 */
export function defaultKubeconfigFiles(environment: ConfigEnvironment): string[] | undefined {
  const variable = environment.env.KUBECONFIG;
  if (variable !== undefined && variable.trim() !== '') {
    const listed = variable
      .split(delimiter)
      .filter((path) => path.trim() !== '')
      .map((path) => resolvePath(environment.workingDirectory, path));
    const unique = [...new Set(listed)];
    const present = unique.filter(exists);
    if (present.length === 0) {
      throw new KubeconfigError(`none of the files in KUBECONFIG exists (${unique.join(', ')})`, {
        field: 'KUBECONFIG',
      });
    }
    return present;
  }
  const home = join(environment.homeDirectory, '.kube', 'config');
  return exists(home) ? [home] : undefined;
}

/** Whether a `kubeconfig` option string is kubeconfig text rather than a path (paths have no newline). */
export function isKubeconfigText(value: string): boolean {
  return value.includes('\n');
}
