// Helpers for this package's server tests (not published).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { FakeCluster, type FakeClusterOptions } from '../fake-cluster.js';
import { summarize } from '../test-support.js';
import { type FakeClusterServer, type ServeFakeClusterOptions, serveFakeCluster } from './serve.js';

// The server of the running test: closed after it, and it must have left no connection or watch open.
let running: { cluster: FakeCluster; server: FakeClusterServer } | undefined;

afterEach(async () => {
  if (running === undefined) return;
  const { cluster, server } = running;
  running = undefined;
  await server.close();
  expect(server.openConnections()).toBe(0);
  expect(cluster.stats().activeWatches).toBe(0);
});

/**
 * Starts a fake cluster (manual mode unless told otherwise) and its API server for one test. After the
 * test, the server is closed and checked for leftover connections and watches.
 */
export async function startServer(
  clusterOptions: FakeClusterOptions = {},
  serverOptions: ServeFakeClusterOptions = {},
): Promise<{ cluster: FakeCluster; server: FakeClusterServer }> {
  const cluster = new FakeCluster({ mode: 'manual', ...clusterOptions });
  const server = await serveFakeCluster(cluster, serverOptions);
  running = { cluster, server };
  return running;
}

import { waitFor } from '../test-support.js';

export { waitFor };

/** A raw HTTP response, read whole. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly text: string;
  json(): Record<string, unknown> & {
    kind?: string;
    code?: number;
    reason?: string;
    message?: string;
    status?: unknown;
    details?: Record<string, unknown>;
    metadata?: Record<string, unknown>;
    items?: Record<string, unknown>[];
  };
}

/** One request over node:http(s), with the body sent as given (string or Buffer: even malformed). */
export function send(
  url: string,
  method: string,
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; ca?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${url}${path}`);
    const make = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) {
      headers['Content-Length'] = Buffer.byteLength(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const request = make(
      target,
      { method, headers, agent: false, ...(options.ca === undefined ? {} : { ca: options.ca }) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: () => JSON.parse(text),
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A JSON request; the body is serialised. */
export function sendJson(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RawResponse> {
  return send(url, method, path, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { 'Content-Type': contentType },
  });
}

/** A chunked watch read line by line over node:http, recording how it ended. */
export interface HttpWatch {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Parsed events, in order. */
  readonly events: {
    type: string;
    object: Record<string, unknown> & { metadata?: Record<string, unknown> };
  }[];
  /** Raw chunks as they arrived. */
  readonly chunks: string[];
  /** `clean` after the closing chunk, `abrupt` if the socket died mid-stream, `open` until then. */
  end: 'open' | 'clean' | 'abrupt';
  /** Summaries `TYPE:name` (`BOOKMARK:rv`, `ERROR:code`). */
  summary(): string[];
  close(): void;
}

/** Opens a watch (resolves once the response headers arrive). */
export function openHttpWatch(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpWatch> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, url), { headers, agent: false }, (response) => {
      let buffer = '';
      const watch: HttpWatch = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        events: [],
        chunks: [],
        end: 'open',
        summary() {
          return summarize(watch.events);
        },
        close() {
          request.destroy();
        },
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        watch.chunks.push(chunk);
        buffer += chunk;
        for (let index = buffer.indexOf('\n'); index !== -1; index = buffer.indexOf('\n')) {
          const line = buffer.slice(0, index);
          buffer = buffer.slice(index + 1);
          if (line.trim() !== '') watch.events.push(JSON.parse(line));
        }
      });
      response.on('error', () => {});
      response.on('close', () => {
        watch.end = response.complete ? 'clean' : 'abrupt';
      });
      resolve(watch);
    });
    request.on('error', reject);
    request.end();
  });
}

/** A minimal pod manifest. */
export function podManifest(name: string, extra: { labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'v1' as const,
    kind: 'Pod' as const,
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) } as {
      name: string;
      namespace?: string;
      labels?: Record<string, string>;
      finalizers?: string[];
    },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
  };
}

/** A watch over WebSocket, recording messages and how it closed. */
export interface WebSocketWatch {
  readonly events: {
    type: string;
    object: Record<string, unknown> & { metadata?: Record<string, unknown> };
  }[];
  readonly protocol: string;
  /** The close code once closed (1000 clean, 1006 abrupt: no close frame). */
  closeCode: number | undefined;
  summary(): string[];
  readonly socket: import('ws').WebSocket;
  close(): void;
}

/** Opens a watch over WebSocket (resolves once upgraded; rejects with the HTTP status if refused). */
export async function openWebSocketWatch(
  url: string,
  path: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<WebSocketWatch> {
  const { WebSocket } = await import('ws');
  const target = new URL(`${url}${path}`);
  target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(target, options.protocols ?? [], { headers: options.headers ?? {} });
  const watch: WebSocketWatch = {
    events: [],
    get protocol() {
      return socket.protocol;
    },
    closeCode: undefined,
    socket,
    summary() {
      return summarize(watch.events);
    },
    close() {
      socket.terminate();
    },
  };
  socket.on('message', (data: Buffer, binary: boolean) => {
    const text =
      socket.protocol === 'base64.binary.k8s.io'
        ? Buffer.from(data.toString(), 'base64').toString()
        : data.toString();
    if (binary && socket.protocol !== 'binary.k8s.io') throw new Error('unexpected binary message');
    watch.events.push(JSON.parse(text));
  });
  socket.on('close', (code: number) => {
    watch.closeCode = code;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => {
      reject(new Error(`websocket refused with HTTP ${response.statusCode}`));
      response.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
  return watch;
}

/** A client program (kubectl, a Python script) run as a child process, its output collected as it comes. */
export interface Run {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  /** The exit code once it ended; `undefined` while it runs. */
  code: number | null | undefined;
  readonly done: Promise<void>;
}

/**
 * Waits on what a child process (kubectl, a Go binary, in real time) has done, as a condition: a slow
 * start on a loaded machine is no failure, so the bound is generous and only bounds a hang.
 */
export function untilChild(condition: () => boolean, what: string): Promise<void> {
  return waitFor(condition, what, { realMs: 30_000 });
}

/**
 * Starts a client program asynchronously (the server lives in this process, so never spawnSync). It is
 * in `running` until it ends, for the test to kill what is left.
 */
export function spawnProcess(
  command: string,
  args: readonly string[],
  running: Set<ChildProcess>,
  options: { env?: NodeJS.ProcessEnv } = {},
): Run {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  running.add(child);
  const run: Run = {
    process: child,
    stdout: '',
    stderr: '',
    code: undefined,
    done: new Promise((resolve) => {
      child.on('close', (code) => {
        run.code = code;
        running.delete(child);
        resolve();
      });
    }),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    run.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  return run;
}

/** Whether kubectl is on PATH; when it is not, says loudly that `skipped` are skipped. */
export function kubectlOnPath(skipped: string): boolean {
  const found = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  if (!found) {
    console.warn(`\n*** kubectl is not on PATH: SKIPPING ${skipped}. Install kubectl (CI has it). ***\n`);
  }
  return found;
}

/**
 * kubectl against the kubeconfig file `paths()` names (read at each call: tests write a new one), its
 * cache in that directory, every child tracked in `running` for the test to kill what is left.
 * `succeeds` wants exit 0 (and, with `quiet`, nothing on stderr) and returns stdout; `fails` wants
 * another code and returns stderr.
 */
export function kubectlRunner(
  paths: () => { readonly kubeconfig: string; readonly directory: string },
  running: Set<ChildProcess>,
  options: { readonly quiet?: boolean } = {},
) {
  const kubectl = (...args: string[]): Run => {
    const { kubeconfig, directory } = paths();
    return spawnProcess(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(directory, 'cache'), ...args],
      running,
    );
  };
  const succeeds = async (...args: string[]): Promise<string> => {
    const run = kubectl(...args);
    await run.done;
    expect(run.code, `kubectl ${args.join(' ')}: ${run.stderr}`).toBe(0);
    if (options.quiet) expect(run.stderr).toBe('');
    return run.stdout;
  };
  const fails = async (...args: string[]): Promise<string> => {
    const run = kubectl(...args);
    await run.done;
    expect(run.code, `kubectl ${args.join(' ')} should fail`).not.toBe(0);
    return run.stderr;
  };
  return { kubectl, succeeds, fails };
}
