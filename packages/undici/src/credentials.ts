import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '@podstorage/core';
import type { AuthSettings } from './cluster-config.js';
import { CredentialError } from './errors.js';
import { ExecCredentialPlugin } from './exec-credential.js';
import { Secret } from './secret.js';

/** What one request authenticates with. */
export interface RequestCredentials {
  /** The `Authorization` header value. */
  readonly authorization: Secret | undefined;
  /** A client certificate from an exec plugin (replaces the kubeconfig's, if any). */
  readonly clientCertificate: { readonly cert: string; readonly key: Secret } | undefined;
}

/** A source of credentials for requests. */
export interface CredentialSource {
  /** Whether `refresh()` can change anything (token files and exec plugins can; static tokens cannot). */
  readonly refreshable: boolean;
  /** The credentials for the next request. */
  get(signal?: AbortSignal): Promise<RequestCredentials>;
  /** Reload after the server rejected the credentials (401). */
  refresh(signal?: AbortSignal): Promise<void>;
}

const NONE: RequestCredentials = { authorization: undefined, clientCertificate: undefined };

const bearer = (token: Secret): Secret => new Secret(`Bearer ${token.reveal()}`);

/**
 * A token read from a file and read again whenever the file changes (size, modification time or inode:
 * the kubelet rotates bound service account tokens by swapping a symlink), checked with one `stat` per
 * request, and re-read on `refresh()`.
 */
export class TokenFileCredentials implements CredentialSource {
  readonly refreshable = true;
  readonly #path: string;
  #identity = '';
  #credentials: RequestCredentials | undefined;
  #checking: Promise<RequestCredentials> | undefined;
  /** How many times the file was read (for tests). */
  reads = 0;

  constructor(path: string) {
    this.#path = path;
  }

  get(): Promise<RequestCredentials> {
    this.#checking ??= this.#check(false).finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async refresh(): Promise<void> {
    await this.#check(true);
  }

  async #check(force: boolean): Promise<RequestCredentials> {
    let identity: string;
    try {
      const info = await stat(this.#path, { bigint: true });
      identity = `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    } catch (error) {
      throw new CredentialError(
        `token file ${this.#path} cannot be read (${(error as { code?: string }).code ?? 'error'})`,
        {
          cause: error,
          retryable: true,
        },
      );
    }
    if (!force && identity === this.#identity && this.#credentials !== undefined) return this.#credentials;
    let token: string;
    try {
      token = (await readFile(this.#path, 'utf8')).trim();
    } catch (error) {
      throw new CredentialError(
        `token file ${this.#path} cannot be read (${(error as { code?: string }).code ?? 'error'})`,
        {
          cause: error,
          retryable: true,
        },
      );
    }
    this.reads += 1;
    if (token === '') throw new CredentialError(`token file ${this.#path} is empty`, { retryable: true });
    this.#identity = identity;
    this.#credentials = { authorization: new Secret(`Bearer ${token}`), clientCertificate: undefined };
    return this.#credentials;
  }
}

/** Credentials from an exec plugin, cached until they expire and re-run on `refresh()`. */
export class ExecCredentials implements CredentialSource {
  readonly refreshable = true;
  readonly plugin: ExecCredentialPlugin;

  constructor(plugin: ExecCredentialPlugin) {
    this.plugin = plugin;
  }

  async get(signal?: AbortSignal): Promise<RequestCredentials> {
    const credential = await this.plugin.credential(signal);
    return {
      authorization: credential.token === undefined ? undefined : bearer(credential.token),
      clientCertificate: credential.clientCertificate,
    };
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    await this.plugin.refresh(signal);
  }
}

/** Credentials that never change: none, a static token, or a user name and password. */
export class StaticCredentials implements CredentialSource {
  readonly refreshable = false;
  readonly #credentials: RequestCredentials;

  constructor(credentials: RequestCredentials) {
    this.#credentials = credentials;
  }

  get(): Promise<RequestCredentials> {
    return Promise.resolve(this.#credentials);
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }
}

/** The credential source for resolved auth settings. */
export function credentialSource(
  auth: AuthSettings,
  options: {
    execTimeoutMs?: number;
    env?: Readonly<Record<string, string | undefined>>;
    logger?: Logger;
  } = {},
): CredentialSource {
  switch (auth.type) {
    case 'none':
      return new StaticCredentials(NONE);
    case 'token':
      return new StaticCredentials({ authorization: bearer(auth.token), clientCertificate: undefined });
    case 'basic':
      return new StaticCredentials({
        authorization: new Secret(
          `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString('base64')}`,
        ),
        clientCertificate: undefined,
      });
    case 'token-file':
      return new TokenFileCredentials(auth.path);
    case 'exec':
      return new ExecCredentials(
        new ExecCredentialPlugin(auth.exec, {
          ...(options.execTimeoutMs === undefined ? {} : { timeoutMs: options.execTimeoutMs }),
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        }),
      );
  }
}
