import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { type Logger, silentLogger } from '@podstorage/core';
import type { ExecSettings } from './cluster-config.js';
import { CredentialError } from './errors.js';
import { Secret } from './secret.js';
import { keyPairProblem } from './tls-material.js';

/** What an exec plugin returned. */
export interface ExecCredential {
  readonly token: Secret | undefined;
  readonly clientCertificate: { readonly cert: string; readonly key: Secret } | undefined;
  /** When the credential expires (wall clock); `undefined`: it does not. */
  readonly expiresAt: Date | undefined;
}

/** Options of {@link ExecCredentialPlugin}. */
export interface ExecCredentialPluginOptions {
  /** Kill the plugin after this long. Default 60 000 ms. */
  readonly timeoutMs?: number;
  /** The environment the plugin inherits (the kubeconfig's `env` is added). Default: this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Wall-clock time, for expiry. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Whether this process's standard input is a terminal the plugin may prompt through (kubectl's test).
   * Default: `process.stdin.isTTY`.
   */
  readonly stdinIsTerminal?: boolean;
}

/** Most a plugin may print on stdout before it is killed: an ExecCredential is a few KB. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** One run of the plugin, shared by the callers waiting on it; cancelled when the last one leaves. */
interface SharedRun {
  readonly promise: Promise<ExecCredential>;
  readonly controller: AbortController;
  /** Callers still waiting on it. */
  waiting: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Runs a kubeconfig exec credential plugin (`client.authentication.k8s.io/v1` or `v1beta1`) as kubectl
 * does: the command with its args, without a shell, with the kubeconfig's env and `KUBERNETES_EXEC_INFO`,
 * bounded by a timeout. `interactiveMode` as client-go has it: `Never` closes stdin; `IfAvailable` hands
 * the plugin this process's terminal (stdin, and stderr for its prompts) when stdin is one; `Always`
 * insists on a terminal and is refused at once without one. Credentials are cached until their
 * `expirationTimestamp`; concurrent callers share one run, which one caller's abort does not end (only
 * its own wait). Errors never include what the plugin printed.
 */
export class ExecCredentialPlugin {
  readonly #settings: ExecSettings;
  readonly #timeoutMs: number;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Whether the plugin runs with this process's terminal (`spec.interactive` in its input). */
  readonly #interactive: boolean;
  #cached: ExecCredential | undefined;
  #running: SharedRun | undefined;
  /** How many times the plugin was run (for tests and metrics). */
  runs = 0;

  constructor(settings: ExecSettings, options: ExecCredentialPluginOptions = {}) {
    this.#settings = settings;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#env = options.env ?? process.env;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    const terminal = options.stdinIsTerminal ?? process.stdin.isTTY === true;
    if (settings.interactiveMode === 'Always' && !terminal) {
      // kubectl's words, at the first request; here when the transport is made, before any request.
      throw new CredentialError(
        `${this.#describe()}: exec plugin cannot support interactive mode: standard input is not a terminal (its interactiveMode is Always)`,
        { user: settings.user },
      );
    }
    this.#interactive = settings.interactiveMode !== 'Never' && terminal;
  }

  /** The cached credential if still valid, else a fresh one from the plugin. */
  credential(signal?: AbortSignal): Promise<ExecCredential> {
    const cached = this.#cached;
    if (
      cached !== undefined &&
      (cached.expiresAt === undefined || cached.expiresAt.getTime() > this.#now())
    ) {
      return Promise.resolve(cached);
    }
    return this.refresh(signal);
  }

  /**
   * Runs the plugin now (joining a run already under way) and caches what it returns. `signal` abandons
   * this caller's wait only: the run goes on for the other callers waiting on it, and is killed once
   * every one of them has gone (or by its own timeout).
   */
  refresh(signal?: AbortSignal): Promise<ExecCredential> {
    // A caller already gone must not start a run that nobody would wait for.
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#cached = undefined;
    let run = this.#running;
    if (run === undefined) {
      const controller = new AbortController();
      const started: SharedRun = { promise: this.#run(controller.signal), controller, waiting: 0 };
      const settled = () => {
        if (this.#running === started) this.#running = undefined;
      };
      started.promise.then(settled, settled);
      this.#running = started;
      run = started;
    }
    return this.#join(run, signal);
  }

  /** Waits for `run` on behalf of one caller, who may leave early through `signal`. */
  #join(run: SharedRun, signal: AbortSignal | undefined): Promise<ExecCredential> {
    run.waiting += 1;
    // A caller without a signal never leaves, so the run it waits on is never cancelled.
    if (signal === undefined) return run.promise;
    return new Promise<ExecCredential>((resolve, reject) => {
      const leave = () => {
        reject(signal.reason);
        run.waiting -= 1;
        if (run.waiting > 0) return;
        // Nobody waits any more: kill the plugin, and let the next caller start a run of its own
        // rather than join one that is being torn down.
        if (this.#running === run) this.#running = undefined;
        run.controller.abort(new Error('every caller waiting for the exec plugin has gone'));
      };
      signal.addEventListener('abort', leave, { once: true });
      run.promise.then(
        (credential) => {
          signal.removeEventListener('abort', leave);
          resolve(credential);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }

  #describe(): string {
    return `exec plugin "${basename(this.#settings.command)}" of user "${this.#settings.user}"`;
  }

  async #run(signal: AbortSignal): Promise<ExecCredential> {
    const settings = this.#settings;
    const execInfo = {
      kind: 'ExecCredential',
      apiVersion: settings.apiVersion,
      spec: {
        interactive: this.#interactive,
        ...(settings.cluster ? { cluster: settings.cluster } : {}),
      },
    };
    const env = { ...this.#env, ...settings.env, KUBERNETES_EXEC_INFO: JSON.stringify(execInfo) };
    this.runs += 1;
    const started = performance.now();
    this.#logger.debug(
      { command: basename(settings.command), user: settings.user },
      'running exec credential plugin',
    );
    const stdout = await this.#spawn(env, signal);
    this.#logger.debug(
      {
        command: basename(settings.command),
        user: settings.user,
        ms: Math.round(performance.now() - started),
      },
      'exec credential plugin finished',
    );
    const credential = this.#parse(stdout);
    this.#cached = credential;
    return credential;
  }

  /** Runs the plugin and collects its stdout; an interactive run shares this process's terminal. */
  #spawn(env: Record<string, string | undefined>, signal: AbortSignal): Promise<string> {
    const settings = this.#settings;
    return new Promise<string>((resolve, reject) => {
      const child = spawn(settings.command, [...settings.args], {
        env,
        timeout: this.#timeoutMs,
        killSignal: 'SIGKILL',
        windowsHide: true,
        signal,
        // Interactive: the prompt goes to the terminal and the answer comes from it, as with kubectl.
        // Otherwise stdin is closed and stderr dropped (plugins may print secrets there).
        stdio: this.#interactive ? ['inherit', 'pipe', 'inherit'] : ['ignore', 'pipe', 'ignore'],
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let failure: (Error & { code?: unknown; killed?: boolean; signal?: unknown }) | undefined;
      child.stdout?.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES && failure === undefined) {
          failure = Object.assign(new Error('too much output'), {
            code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER',
          });
          child.kill('SIGKILL');
          return;
        }
        chunks.push(chunk);
      });
      let settled = false;
      child.on('error', (error: Error & { code?: unknown }) => {
        failure ??= error;
        // Never started (not found, not executable): no 'close' need follow.
        if (child.pid === undefined && !settled) {
          settled = true;
          reject(this.#failure(failure, signal));
        }
      });
      child.on('close', (code, killedBy) => {
        if (settled) return;
        settled = true;
        if (failure === undefined && code === 0) {
          resolve(Buffer.concat(chunks).toString('utf8'));
          return;
        }
        // A timeout kills with killSignal and marks the child killed; spawn errors carry their code.
        const error =
          failure ??
          Object.assign(new Error('plugin failed'), {
            code: code ?? undefined,
            signal: killedBy ?? undefined,
            killed: child.killed && killedBy === 'SIGKILL',
          });
        reject(this.#failure(error, signal));
      });
    });
  }

  #failure(error: Error & { code?: unknown; killed?: boolean; signal?: unknown }, signal: AbortSignal) {
    // Cancelled because every caller left: nobody sees this reason.
    if (signal.aborted) return signal.reason;
    const user = this.#settings.user;
    if (error.code === 'ENOENT') {
      const hint = this.#settings.installHint ? `\n${this.#settings.installHint}` : '';
      return new CredentialError(`${this.#describe()}: command not found: ${this.#settings.command}${hint}`, {
        user,
      });
    }
    if (error.code === 'EACCES') {
      return new CredentialError(
        `${this.#describe()}: command is not executable: ${this.#settings.command}`,
        { user },
      );
    }
    if (error.killed) {
      return new CredentialError(
        `${this.#describe()} did not finish within ${this.#timeoutMs} ms and was killed`,
        {
          user,
          retryable: true,
        },
      );
    }
    if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
      return new CredentialError(`${this.#describe()} printed too much output`, { user });
    }
    const how =
      typeof error.code === 'number'
        ? `exited with code ${error.code}`
        : `failed (${String(error.signal ?? error.code)})`;
    // stderr is not included: plugins may print credentials or other secrets there.
    return new CredentialError(`${this.#describe()} ${how}; run it by hand to see its output`, { user });
  }

  #parse(stdout: string): ExecCredential {
    const user = this.#settings.user;
    const fail = (problem: string) => new CredentialError(`${this.#describe()} ${problem}`, { user });
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      // JSON.parse's message quotes the input: never pass it on.
      throw fail('printed output that is not JSON (an ExecCredential was expected)');
    }
    if (!isRecord(parsed)) throw fail('printed JSON that is not an ExecCredential object');
    if (parsed.kind !== 'ExecCredential') throw fail('printed an object whose kind is not ExecCredential');
    if (parsed.apiVersion !== this.#settings.apiVersion) {
      const got =
        typeof parsed.apiVersion === 'string' ? parsed.apiVersion.slice(0, 80) : String(parsed.apiVersion);
      throw fail(
        `answered with apiVersion ${JSON.stringify(got)}, but the kubeconfig asks for ${this.#settings.apiVersion}`,
      );
    }
    const status = parsed.status;
    if (!isRecord(status)) throw fail('printed an ExecCredential without status');
    const token =
      typeof status.token === 'string' && status.token !== '' ? new Secret(status.token) : undefined;
    const cert = status.clientCertificateData;
    const key = status.clientKeyData;
    let clientCertificate: ExecCredential['clientCertificate'];
    if (cert !== undefined || key !== undefined) {
      if (
        typeof cert !== 'string' ||
        typeof key !== 'string' ||
        !cert.includes('-----BEGIN') ||
        !key.includes('-----BEGIN')
      ) {
        throw fail('returned a client certificate without both PEM clientCertificateData and clientKeyData');
      }
      // The plugin would hand out the same again: a certificate no handshake can use is final.
      const unusable = keyPairProblem(cert, key);
      if (unusable !== undefined) {
        throw fail(`returned a client certificate and key that cannot be used for TLS (${unusable})`);
      }
      clientCertificate = { cert, key: new Secret(key) };
    }
    if (token === undefined && clientCertificate === undefined) {
      throw fail('returned neither status.token nor status.clientCertificateData/clientKeyData');
    }
    let expiresAt: Date | undefined;
    if (status.expirationTimestamp !== undefined && status.expirationTimestamp !== null) {
      expiresAt = new Date(String(status.expirationTimestamp));
      if (typeof status.expirationTimestamp !== 'string' || Number.isNaN(expiresAt.getTime())) {
        throw fail('returned an expirationTimestamp that is not an RFC 3339 time');
      }
      if (expiresAt.getTime() <= this.#now()) {
        throw fail(`returned credentials that already expired (at ${expiresAt.toISOString()})`);
      }
    }
    return { token, clientCertificate, expiresAt };
  }
}
