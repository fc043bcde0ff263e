import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPodStorage,
  KubernetesError,
  type Logger,
  type ManagedPodStorage,
  type Pod,
  silentLogger,
  systemClock,
  validateNamespace,
} from '@podstorage/core';
import { type Backend, type BackendName, type BackendOptions, openBackend } from './backend.js';
import { allow, describeError, HttpError, readJson, sendJson } from './http.js';
import {
  checkName,
  DEFAULT_RUN_SECONDS,
  parseStartRequest,
  RESTART_POLICIES,
  validateImage,
} from './input.js';
import { PodFeed } from './pod-feed.js';
import { DEFAULT_IMAGE, type PodRow, podRow, spawnedPod } from './pod-spec.js';
import { STAGES } from './progress.js';
import { ProgressBook } from './progress-book.js';
import {
  REQUEST_TIMEOUT_MS,
  readFollowedPod,
  STREAM_BUDGET_MS,
  type StreamContext,
  watchLogs,
  watchPod,
  watchTable,
} from './streams.js';

export { MANAGED_BY_LABEL, type PodRow, podRow } from './pod-spec.js';

/** Options of {@link startSpawner}. */
export interface SpawnerOptions extends Omit<BackendOptions, 'namespace'> {
  /** The namespace to spawn pods in and to list. Default: the kubeconfig context's, else `default`. */
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

const PUBLIC_DIR = new URL('../public/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

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
  if (options.namespace !== undefined) validateNamespace(options.namespace);
  const image = options.image ?? DEFAULT_IMAGE;
  validateImage(image);
  const logger = options.logger ?? silentLogger;
  const backend = await openBackend(options);
  // As kubectl and pod-runner: the namespace asked for, else the kubeconfig context's, else `default`.
  const namespace = options.namespace ?? backend.defaultNamespace ?? 'default';
  let storage: ManagedPodStorage | undefined;
  try {
    validateNamespace(namespace);
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
  readonly #streams: StreamContext;
  // The one source of every pod's progress, for the pod streams and the table alike.
  readonly #book = new ProgressBook();
  // The newest state of each pod, from one watch of the namespace for the server's life.
  readonly #feed = new PodFeed();
  // The pod each page (a browser tab's session id) started last, or 'starting' while its create is in
  // flight: a page has one live pod at a time, so a second Start never orphans the first pod.
  readonly #sessions = new Map<string, { name: string; uid: string } | 'starting'>();

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
    // A session's entry goes with its pod: the map holds the pages whose pod still exists.
    this.#book.listen((change) => {
      if (change.progress.ending !== 'deleted') return;
      this.#feed.forget(change.uid);
      for (const [session, pod] of this.#sessions) {
        if (pod !== 'starting' && pod.uid === change.uid) this.#sessions.delete(session);
      }
    }, this.#shutdown.signal);
    this.#streams = {
      backend: this.#backend,
      storage: this.#storage,
      namespace: this.#namespace,
      logger: this.#logger,
      heartbeatMs: this.#heartbeatMs,
      book: this.#book,
      feed: this.#feed,
      shutdown: this.#shutdown.signal,
      created: this.#created,
      track: (task) => this.#track(task),
      list: (signal) => this.#list(signal),
    };
    this.#track(this.#feed.run(this.#storage, this.#namespace, this.#shutdown.signal, this.#logger));
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

  /** The cluster's time: the fake's clock, else the system's. */
  #now(): Date {
    return (this.#backend.clock ?? systemClock).date();
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
        restartPolicies: RESTART_POLICIES,
        stages: STAGES,
        // The page shows a logs panel only where the backend can read container logs.
        logs: typeof this.#backend.transport.readPodLog === 'function',
      });
      return;
    }
    if (path === '/api/watch') {
      allow(method, ['GET']);
      await watchTable(this.#streams, request, response);
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
    const match = /^\/api\/pods\/([^/]+)(\/watch|\/logs)?$/.exec(path);
    if (match) {
      const name = decodeURIComponent(match[1] as string);
      checkName(name);
      const uid = url.searchParams.get('uid') ?? undefined;
      if (match[2] === '/logs') {
        allow(method, ['GET']);
        await watchLogs(this.#streams, name, uid, request, response);
      } else if (match[2]) {
        allow(method, ['GET']);
        await watchPod(this.#streams, name, uid, request, response);
      } else if (method === 'GET') {
        sendJson(response, 200, await this.#read(name, uid));
      } else {
        allow(method, ['GET', 'DELETE']);
        sendJson(response, 202, await this.#stop(name, uid));
      }
      return;
    }
    throw new HttpError(404, `no such page or API: ${path}`);
  }

  #fail(response: ServerResponse, error: unknown): void {
    const [status, message, headers, extra] = describeError(error);
    if (status >= 500) this.#logger.error({ error: message }, 'request failed');
    if (response.headersSent) {
      if (!response.writableEnded) response.end();
      return;
    }
    sendJson(response, status, { error: message, ...extra }, headers);
  }

  /** Every pod in the namespace, as table rows. */
  async #list(signal: AbortSignal): Promise<Map<string, PodRow>> {
    const rows = new Map<string, PodRow>();
    const mark = this.#book.mark();
    let token: string | undefined;
    do {
      const page = await this.#backend.transport.list('pods', this.#namespace, {
        limit: 500,
        ...(token === undefined ? {} : { continue: token }),
        signal: AbortSignal.any([signal, this.#shutdown.signal]),
      });
      for (const pod of page.items)
        rows.set(pod.metadata?.name ?? '', podRow(pod, this.#book.pod(pod), this.#now()));
      token = page.metadata.continue || undefined;
    } while (token !== undefined);
    this.#book.retain(new Set([...rows.values()].map((row) => row.uid)), mark);
    return rows;
  }

  /** GET /api/pods/:name?uid=: the pod's row now; 404 when it is gone (or is another pod, by uid). */
  async #read(name: string, uid: string | undefined): Promise<PodRow> {
    const pod = await readFollowedPod(this.#backend, this.#namespace, name, uid, this.#shutdown.signal);
    this.#feed.offer(pod);
    return podRow(pod, this.#book.pod(pod), this.#now());
  }

  /**
   * POST /api/pods: creates a pod through the transport. A page that sends its session id has one
   * live pod at a time: while the last pod it started is pending or running (and not being deleted),
   * another start is refused with 409 and that pod's row, so no pod is ever orphaned on the page.
   */
  async #start(request: IncomingMessage): Promise<PodRow> {
    const {
      image = this.#image,
      seconds,
      exitCode,
      restartPolicy,
      deleteWhenFinished,
      session,
    } = parseStartRequest(await readJson(request));
    const previous = session === undefined ? undefined : this.#sessions.get(session);
    if (previous === 'starting') {
      throw new HttpError(409, 'this page is starting a pod already: wait for it, or stop it first');
    }
    if (session !== undefined) this.#sessions.set(session, 'starting');
    let created: Pod;
    try {
      if (previous !== undefined) {
        const live = await this.#livePod(previous.name, previous.uid);
        if (live !== undefined) {
          throw new HttpError(
            409,
            `this page's pod ${live.name} is still ${live.phase}: stop it before starting another`,
            {},
            { pod: live },
          );
        }
      }
      const pod = spawnedPod(
        this.#namespace,
        image,
        { seconds, exitCode, restartPolicy },
        this.#backend.name === 'fake',
      );
      created = await this.#backend.transport.create('pods', this.#namespace, pod, {
        signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#shutdown.signal]),
      });
    } catch (error) {
      if (session !== undefined) {
        if (previous === undefined) this.#sessions.delete(session);
        else this.#sessions.set(session, previous);
      }
      throw error;
    }
    if (session !== undefined) {
      this.#sessions.set(session, { name: created.metadata?.name ?? '', uid: created.metadata?.uid ?? '' });
    }
    const name = created.metadata?.name ?? '';
    this.#spawned.set(name, created.metadata?.uid ?? '');
    this.#logger.info({ pod: name, image, seconds, exitCode, restartPolicy }, 'started pod');
    const row = podRow(created, this.#book.pod(created), this.#now());
    this.#created.dispatchEvent(new CustomEvent('created', { detail: row }));
    if (deleteWhenFinished) this.#track(this.#deleteWhenFinished(name));
    return row;
  }

  /** The pod's row if it is still this pod (uid) and live: pending or running, not being deleted. */
  async #livePod(name: string, uid: string): Promise<PodRow | undefined> {
    try {
      const row = await this.#read(name, uid);
      const live = (row.phase === 'Pending' || row.phase === 'Running') && !row.terminating;
      return live ? row : undefined;
    } catch (error) {
      if (describeError(error)[0] === 404) return undefined;
      throw error;
    }
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
    // The API server accepted the deletion: the pod is stopping (its grace period), whatever stream
    // reports it first.
    this.#book.stopping(precondition, name);
    this.#logger.info({ pod: name, uid: precondition }, 'deleting pod');
    return { name, uid: precondition, deleting: true };
  }
}
