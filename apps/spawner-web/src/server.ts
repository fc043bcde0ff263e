import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPodStorage,
  InvalidInputError,
  KubernetesError,
  type Logger,
  type ManagedPodStorage,
  type Pod,
  PodPhase,
  PodTimeoutError,
  phaseOf,
  silentLogger,
  validateNamespace,
  validatePodName,
} from '@podstorage/core';
import { LIFECYCLE_ANNOTATION } from '@podstorage/fake';
import { type Backend, type BackendName, type BackendOptions, openBackend } from './backend.js';
import { type Progress, ProgressTracker, STAGES } from './progress.js';
import { type EventStream, openEventStream } from './sse.js';

/** Options of {@link startSpawner}. */
export interface SpawnerOptions extends Omit<BackendOptions, 'namespace'> {
  /** The namespace to spawn pods in and to list. Default `default`. */
  readonly namespace?: string;
  /** Address to listen on. Default `127.0.0.1`: the page can create pods, so keep it local. */
  readonly host?: string;
  /** Port to listen on; `0` picks a free one. Default `0`. */
  readonly port?: number;
  /** The image of spawned pods unless the page asks for another. Default `busybox:1.36`. */
  readonly image?: string;
  /** Where the spawner reports what it does. Pino-compatible; default silent. */
  readonly logger?: Logger;
  /** Real milliseconds between SSE heartbeat comments. Default 15 000. */
  readonly heartbeatMs?: number;
}

/** A running spawner. */
export interface Spawner {
  /** The page's address, such as `http://127.0.0.1:8000/`. */
  readonly url: string;
  /** The backend it runs on. */
  readonly backend: BackendName;
  /** The namespace it works in. */
  readonly namespace: string;
  /**
   * Shuts down: ends every event stream, stops background work, closes the storage and the server,
   * stops the embedded cluster's clock. Pods it started on the embedded fake are deleted; on a real
   * cluster they are left running, and the log says which. Idempotent.
   */
  close(): Promise<void>;
}

/** One row of the pods table, as the page receives it. */
export interface PodRow {
  readonly name: string;
  readonly uid: string;
  readonly phase: PodPhase;
  readonly progress: Progress;
  readonly node: string | null;
  readonly image: string | null;
  readonly createdAt: string | null;
  readonly terminating: boolean;
  /** Started by this spawner (carries its managed-by label). */
  readonly spawned: boolean;
}

/** The label that marks pods the spawner started. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const MANAGED_BY = 'podstorage-spawner';
const DEFAULT_IMAGE = 'busybox:1.36';
const DEFAULT_RUN_SECONDS = 5;
const MAX_RUN_SECONDS = 3_600;
const MAX_BODY_BYTES = 16 * 1024;
// Cluster-time budgets of the long-lived operations behind a stream; when one runs out the stream ends
// and the browser reconnects to a fresh snapshot.
const STREAM_BUDGET_MS = 6 * 60 * 60 * 1_000;
// Real-time bound of a single request to the cluster made for a page request.
const REQUEST_TIMEOUT_MS = 30_000;
const ALL_PHASES: readonly PodPhase[] = Object.values(PodPhase);

const PUBLIC_DIR = new URL('../public/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** An error answered to the page as `{ error }` with an HTTP status. */
class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * Starts the spawner: connects to the backend, checks it can list pods in the namespace, and serves
 * the page and its API on `host:port`.
 *
 * The page's API: `GET /api/config`; `GET /api/pods` (a list); `POST /api/pods` (start a pod:
 * `{ image?, seconds?, deleteWhenFinished? }`); `DELETE /api/pods/:name?uid=` (stop it, uid
 * precondition); and two server-sent event streams, `GET /api/watch` (the pods table) and
 * `GET /api/pods/:name/watch` (one pod's progress, events and phase).
 */
export async function startSpawner(options: SpawnerOptions = {}): Promise<Spawner> {
  const namespace = options.namespace ?? 'default';
  validateNamespace(namespace);
  const image = options.image ?? DEFAULT_IMAGE;
  validateImage(image);
  const logger = options.logger ?? silentLogger;
  const backend = await openBackend({ ...options, namespace });
  let storage: ManagedPodStorage | undefined;
  try {
    // Fail at start, with the cluster's own words, rather than on the first click.
    await backend.transport.list('pods', namespace, {
      limit: 1,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    storage = createPodStorage(
      backend.transport,
      backend.clock === undefined ? {} : { clock: backend.clock },
    );
    const spawner = new SpawnerServer({ backend, storage, namespace, image, logger, options });
    const url = await spawner.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    logger.info({ url, namespace, backend: backend.name }, `spawner serving ${backend.description}`);
    return {
      url,
      backend: backend.name,
      namespace,
      close: () => spawner.close(),
    };
  } catch (error) {
    await storage?.close();
    await backend.close();
    throw error;
  }
}

interface ServerParts {
  readonly backend: Backend;
  readonly storage: ManagedPodStorage;
  readonly namespace: string;
  readonly image: string;
  readonly logger: Logger;
  readonly options: SpawnerOptions;
}

class SpawnerServer {
  readonly #backend: Backend;
  readonly #storage: ManagedPodStorage;
  readonly #namespace: string;
  readonly #image: string;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  readonly #server: Server;
  readonly #assets: Map<string, { body: Buffer; type: string }>;
  readonly #shutdown = new AbortController();
  // Everything running in the background (streams, deletions after completion), awaited on close.
  readonly #tasks = new Set<Promise<void>>();
  // Pods this spawner started, by name (uid), for the shutdown report.
  readonly #spawned = new Map<string, string>();
  // Tells open table streams about pods started here at once, before the cluster modifies them.
  readonly #created = new EventTarget();
  #closing: Promise<void> | undefined;

  constructor(parts: ServerParts) {
    this.#backend = parts.backend;
    this.#storage = parts.storage;
    this.#namespace = parts.namespace;
    this.#image = parts.image;
    this.#logger = parts.logger;
    this.#heartbeatMs = parts.options.heartbeatMs ?? 15_000;
    // Every open stream listens to both: many open tabs are normal, not a leak.
    setMaxListeners(0, this.#shutdown.signal, this.#created);
    this.#assets = new Map(
      Object.entries(ASSETS).map(([path, { file, type }]) => [
        path,
        { body: readFileSync(new URL(file, PUBLIC_DIR)), type },
      ]),
    );
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => this.#fail(response, error));
    });
  }

  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}/`);
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#logger.info({ streams: this.#tasks.size }, 'spawner shutting down');
    this.#shutdown.abort(new DOMException('spawner shutting down', 'AbortError'));
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await Promise.allSettled([...this.#tasks]);
    await closed;
    await this.#releasePods();
    await this.#storage.close();
    await this.#backend.close();
    this.#logger.info({}, 'spawner stopped');
  }

  /** What happens to the pods this spawner started when it stops. */
  async #releasePods(): Promise<void> {
    if (this.#spawned.size === 0) return;
    const names = [...this.#spawned.keys()];
    if (this.#backend.name === 'fake' && this.#backend.cluster !== undefined) {
      // On the fake the pods would vanish with the process anyway; deleting them keeps a cluster that
      // outlives the spawner (one handed in by a test) as the spawner found it.
      for (const [name, uid] of this.#spawned) {
        try {
          await this.#backend.transport.delete('pods', this.#namespace, name, {
            preconditions: { uid },
            gracePeriodSeconds: 0,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
        } catch (error) {
          if (!(KubernetesError.isInstance(error) && (error.code === 404 || error.code === 409))) {
            this.#logger.warn({ pod: name, error: String(error) }, 'could not delete pod on shutdown');
          }
        }
      }
      this.#logger.info({ pods: names }, `deleted ${names.length} pod(s) started on the fake cluster`);
      return;
    }
    this.#logger.info(
      { namespace: this.#namespace, pods: names },
      `leaving the pod(s) it started on the cluster; delete them with: kubectl delete pod -n ${this.#namespace} ${names.join(' ')}`,
    );
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://spawner.invalid');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const asset = this.#assets.get(path);
    if (asset !== undefined) {
      allow(method, ['GET', 'HEAD']);
      response.writeHead(200, {
        'Content-Type': asset.type,
        'Content-Length': asset.body.length,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'self'",
      });
      response.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if (path === '/favicon.ico') {
      // Browsers ask for it whatever the page says; the page's icon is /favicon.svg.
      response.writeHead(204, { 'Cache-Control': 'max-age=86400' });
      response.end();
      return;
    }
    if (path === '/api/config') {
      allow(method, ['GET']);
      sendJson(response, 200, {
        namespace: this.#namespace,
        backend: this.#backend.name,
        description: this.#backend.description,
        image: this.#image,
        seconds: DEFAULT_RUN_SECONDS,
        stages: STAGES,
      });
      return;
    }
    if (path === '/api/watch') {
      allow(method, ['GET']);
      await this.#watchTable(request, response);
      return;
    }
    if (path === '/api/pods') {
      allow(method, ['GET', 'POST']);
      if (method === 'GET') {
        const pods = await this.#list(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
        sendJson(response, 200, { pods: [...pods.values()] });
      } else {
        sendJson(response, 201, await this.#start(request));
      }
      return;
    }
    const match = /^\/api\/pods\/([^/]+)(\/watch)?$/.exec(path);
    if (match) {
      const name = decodeURIComponent(match[1] as string);
      checkName(name);
      if (match[2]) {
        allow(method, ['GET']);
        await this.#watchPod(name, request, response);
      } else {
        allow(method, ['DELETE']);
        sendJson(response, 202, await this.#stop(name, url.searchParams.get('uid') ?? undefined));
      }
      return;
    }
    throw new HttpError(404, `no such page or API: ${path}`);
  }

  #fail(response: ServerResponse, error: unknown): void {
    const [status, message, headers] = describeError(error);
    if (status >= 500) this.#logger.error({ error: message }, 'request failed');
    if (response.headersSent) {
      if (!response.writableEnded) response.end();
      return;
    }
    sendJson(response, status, { error: message }, headers);
  }

  /** Every pod in the namespace, as table rows. */
  async #list(signal: AbortSignal): Promise<Map<string, PodRow>> {
    const rows = new Map<string, PodRow>();
    let token: string | undefined;
    do {
      const page = await this.#backend.transport.list('pods', this.#namespace, {
        limit: 500,
        ...(token === undefined ? {} : { continue: token }),
        signal: AbortSignal.any([signal, this.#shutdown.signal]),
      });
      for (const pod of page.items) rows.set(pod.metadata?.name ?? '', podRow(pod));
      token = page.metadata.continue || undefined;
    } while (token !== undefined);
    return rows;
  }

  /** POST /api/pods: creates a pod through the transport. */
  async #start(request: IncomingMessage): Promise<PodRow> {
    const body = await readJson(request);
    const image = body.image === undefined || body.image === '' ? this.#image : body.image;
    validateImage(image);
    const seconds = body.seconds ?? DEFAULT_RUN_SECONDS;
    if (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > MAX_RUN_SECONDS) {
      throw new HttpError(
        400,
        `seconds must be a whole number from 1 to ${MAX_RUN_SECONDS}, got ${JSON.stringify(seconds)}`,
      );
    }
    if (body.deleteWhenFinished !== undefined && typeof body.deleteWhenFinished !== 'boolean') {
      throw new HttpError(400, 'deleteWhenFinished must be true or false');
    }
    const pod = spawnedPod(
      this.#namespace,
      image as string,
      seconds as number,
      this.#backend.name === 'fake',
    );
    const created = await this.#backend.transport.create('pods', this.#namespace, pod, {
      signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#shutdown.signal]),
    });
    const name = created.metadata?.name ?? '';
    this.#spawned.set(name, created.metadata?.uid ?? '');
    this.#logger.info({ pod: name, image, seconds }, 'started pod');
    const row = podRow(created);
    this.#created.dispatchEvent(new CustomEvent('created', { detail: row }));
    if (body.deleteWhenFinished === true) this.#track(this.#deleteWhenFinished(name));
    return row;
  }

  async #deleteWhenFinished(name: string): Promise<void> {
    try {
      const phase = await this.#storage.deleteAfterCompletion(name, this.#namespace, STREAM_BUDGET_MS, {
        signal: this.#shutdown.signal,
      });
      this.#spawned.delete(name);
      this.#logger.info(
        { pod: name, phase },
        phase === null ? 'pod was gone already' : 'deleted finished pod',
      );
    } catch (error) {
      if (!this.#shutdown.signal.aborted) {
        this.#logger.warn({ pod: name, error: String(error) }, 'could not delete pod after completion');
      }
    }
  }

  /** DELETE /api/pods/:name: deletes the pod, only if it is still the one the page knows (uid). */
  async #stop(name: string, uid: string | undefined): Promise<{ name: string; uid: string; deleting: true }> {
    const signal = AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#shutdown.signal]);
    const precondition =
      uid ??
      (await this.#backend.transport.get('pods', this.#namespace, name, { signal })).metadata?.uid ??
      '';
    await this.#backend.transport.delete('pods', this.#namespace, name, {
      preconditions: { uid: precondition },
      signal,
    });
    this.#spawned.delete(name);
    this.#logger.info({ pod: name, uid: precondition }, 'deleting pod');
    return { name, uid: precondition, deleting: true };
  }

  /**
   * GET /api/pods/:name/watch: one pod's progress. `snapshot` first (the pod as read), then `message`
   * for each event message (`eventsForPod`), `phase` for each phase change (`waitForPhase`, one
   * transition at a time), and `gone` when the pod is deleted, which ends the stream.
   */
  async #watchPod(name: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const pod = await this.#backend.transport.get('pods', this.#namespace, name, {
      signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#shutdown.signal]),
    });
    const uid = pod.metadata?.uid;
    const stream = openEventStream(request, response, {
      heartbeatMs: this.#heartbeatMs,
      shutdown: this.#shutdown.signal,
    });
    const tracker = new ProgressTracker(pod);
    stream.send('snapshot', { pod: podRow(pod), progress: tracker.current() });
    const messages = async () => {
      for await (const message of this.#storage.eventsForPod(name, this.#namespace, STREAM_BUDGET_MS, {
        ...(uid === undefined ? {} : { uid }),
        signal: stream.signal,
      })) {
        stream.send('message', { message, progress: tracker.message(message) });
      }
    };
    const phases = async () => {
      let phase = phaseOf(pod);
      for (;;) {
        const next = await this.#storage.waitForPhase(name, this.#namespace, STREAM_BUDGET_MS, {
          untilNot: [phase],
          signal: stream.signal,
        });
        if (next === null) {
          stream.send('gone', { name, uid: uid ?? null });
          return;
        }
        phase = next;
        stream.send('phase', { phase, progress: tracker.phase(phase) });
      }
    };
    this.#track(this.#feed(stream, 'pod stream', name, [messages, phases]));
  }

  /**
   * GET /api/watch: the pods table. `snapshot` first (a list), then `pod` for every pod modified
   * (`watchPodChanges`) or started here, and `removed` when a pod is gone (a `waitForPhase` per pod,
   * which returns `null` on deletion: `watchPodChanges` reports modifications only).
   */
  async #watchTable(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rows = await this.#list(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const stream = openEventStream(request, response, {
      heartbeatMs: this.#heartbeatMs,
      shutdown: this.#shutdown.signal,
    });
    stream.send('snapshot', { pods: [...rows.values()] });
    const followed = new Set<string>();
    const removals = new Set<Promise<void>>();
    // A removal watch that fails (not by the stream closing) fails the stream; the end of the stream ends it.
    let failRemovals: (error: unknown) => void = () => {};
    const removalsFailed = new Promise<void>((resolve, reject) => {
      failRemovals = reject;
      stream.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const update = (row: PodRow) => {
      rows.set(row.name, row);
      stream.send('pod', row);
      follow(row);
    };
    // Reports the pod's removal: a waitForPhase that no phase ends returns only when the pod is gone.
    const follow = (row: PodRow) => {
      const key = `${row.name}/${row.uid}`;
      if (followed.has(key)) return;
      followed.add(key);
      const removal = (async () => {
        for (;;) {
          try {
            await this.#storage.waitForPhase(row.name, this.#namespace, STREAM_BUDGET_MS, {
              untilNot: ALL_PHASES,
              signal: stream.signal,
            });
            break;
          } catch (error) {
            if (!PodTimeoutError.isInstance(error)) throw error;
          }
        }
        followed.delete(key);
        if (rows.get(row.name)?.uid === row.uid) {
          rows.delete(row.name);
          stream.send('removed', { name: row.name, uid: row.uid });
        }
      })().catch((error: unknown) => {
        if (!stream.signal.aborted) failRemovals(error);
      });
      removals.add(removal);
      void removal.finally(() => removals.delete(removal));
    };
    for (const row of rows.values()) follow(row);
    const onCreated = (event: Event) => update((event as CustomEvent<PodRow>).detail);
    this.#created.addEventListener('created', onCreated);
    const changes = async () => {
      try {
        for await (const { pod } of this.#storage.watchPodChanges(this.#namespace, {
          signal: stream.signal,
        })) {
          update(podRow(pod));
        }
      } finally {
        this.#created.removeEventListener('created', onCreated);
      }
    };
    const removalWatches = async () => {
      await removalsFailed;
      await Promise.allSettled([...removals]);
    };
    this.#track(this.#feed(stream, 'table stream', undefined, [changes, removalWatches]));
  }

  /**
   * Runs the feeders of one stream until the first ends or fails, then ends the stream (which aborts
   * the others and their watches). A failure the browser did not cause is sent as a `failure` event (`error` is EventSource's own).
   */
  async #feed(
    stream: EventStream,
    what: string,
    pod: string | undefined,
    feeders: readonly (() => Promise<void>)[],
  ): Promise<void> {
    const running = feeders.map((feeder) => feeder());
    try {
      await Promise.race(running);
    } catch (error) {
      if (!stream.signal.aborted) {
        const [, message] = describeError(error);
        this.#logger.warn({ pod, error: message }, `${what} failed`);
        stream.send('failure', { error: message });
      }
    } finally {
      stream.end();
      await Promise.allSettled(running);
    }
  }
}

/** The pod the spawner starts: runs `seconds` and exits; on the fake, a lifecycle script says the same. */
function spawnedPod(namespace: string, image: string, seconds: number, fake: boolean): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'spawn-',
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      ...(fake
        ? { annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ runMs: seconds * 1_000 }) } }
        : {}),
    },
    spec: {
      restartPolicy: 'Never',
      // `sleep` as PID 1 ignores SIGTERM: a short grace period makes Stop quick.
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'main',
          image,
          command: ['sh', '-c', `echo "spawned by podstorage"; sleep ${seconds}`],
        },
      ],
    },
  };
}

/** A pod as a row of the table. */
export function podRow(pod: Pod): PodRow {
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    phase: phaseOf(pod),
    progress: new ProgressTracker(pod).current(),
    node: pod.spec?.nodeName ?? null,
    image: pod.spec?.containers?.[0]?.image ?? null,
    createdAt: pod.metadata?.creationTimestamp ?? null,
    terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
    spawned: pod.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
  };
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, `method ${method} not allowed here; use ${methods.join(' or ')}`, {
      Allow: methods.join(', '),
    });
  }
}

function checkName(name: string): void {
  try {
    validatePodName(name);
  } catch (error) {
    throw new HttpError(400, error instanceof Error ? error.message : String(error));
  }
}

function validateImage(image: unknown): asserts image is string {
  if (typeof image !== 'string' || image.length === 0 || image.length > 512 || /\s/.test(image)) {
    throw new HttpError(
      400,
      `invalid image ${JSON.stringify(image)}: a non-empty image reference without spaces`,
    );
  }
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = request.headers['content-type'] ?? '';
  // Requiring JSON also means a cross-site form cannot start pods: browsers preflight JSON requests.
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, `send the body as application/json, not ${JSON.stringify(type)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(text);
}

/** The HTTP status, message and headers an error is answered with. */
function describeError(error: unknown): [number, string, Record<string, string>] {
  if (error instanceof HttpError) return [error.status, error.message, error.headers];
  if (InvalidInputError.isInstance(error)) return [400, error.message, {}];
  if (KubernetesError.isInstance(error)) {
    // The cluster's answer about the request (404, 409, 422, ...) is the page's answer too; the
    // cluster failing is a bad gateway from the page's point of view.
    const status = error.code >= 400 && error.code < 500 && error.code !== 401 ? error.code : 502;
    return [status, error.message, {}];
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return [503, `the cluster did not answer in time: ${error.message}`, {}];
  }
  return [500, error instanceof Error ? error.message : String(error), {}];
}
