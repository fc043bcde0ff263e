import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, silentLogger } from '@podstorage/core';
import { WebSocketServer } from 'ws';
import { OBJECT_KINDS } from '../cluster/context.js';
import type { FakeCluster } from '../fake-cluster.js';
import { kubernetesTime } from '../lifecycle.js';
import { failureStatus, notFound } from '../status.js';
import {
  answerAsEventsV1,
  answerReview,
  apiGroupList,
  eventFromEventsV1,
  groupDiscovery,
} from './api-groups.js';
import { checkBearerToken } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES, parseJsonObject, readBody } from './body.js';
import { coreApiVersions, coreV1Resources, versionInfo } from './discovery.js';
import { dryRunAnswer, isDryRun, scratchCluster } from './dry-run.js';
import { canonicalJson, managerOf, recordUpdate, serverSideApply } from './field-manager.js';
import { checkFields, fieldValidationOf, warningHeaders } from './field-validation.js';
import {
  type BeforeWrite,
  bodyExpected,
  checkContentType,
  faultVerb,
  handleOperation,
  type Operation,
  operationOf,
} from './handlers.js';
import { buildKubeconfig } from './kubeconfig.js';
import {
  bodyAsJson,
  bodyFormatOf,
  negotiate,
  parseYamlBody,
  sendObject,
  type WireFormat,
} from './negotiation.js';
import { openApiDocument } from './openapi.js';
import { applyPatch } from './patch.js';
import { servePodLog } from './pod-log.js';
import {
  methodNotAllowed,
  pathNotFound,
  sendStatus,
  sendStatusOnSocket,
  statusOf,
  subresourceNotSupported,
} from './responses.js';
import {
  isWatch,
  parseLeasePath,
  parseResourcePath,
  pathSegments,
  type ResourcePath,
  UNSUPPORTED_SUBRESOURCES,
} from './routes.js';
import { StatusFailure } from './status-failure.js';
import { tableRequestOf, tableWatch, toTable } from './tables.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';
import { serveWatchOverHttp } from './watch-http.js';
import { openWatch } from './watch-stream.js';
import { chooseWatchSubprotocol, serveWatchOverWebSocket } from './watch-websocket.js';

/** Options of {@link serveFakeCluster}. */
export interface ServeFakeClusterOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /**
   * Serve HTTPS. `true`: with a freshly generated CA and a server certificate for `localhost`, the
   * loopback addresses and `host`; the CA goes into the kubeconfig. Or bring your own PEM key and cert
   * (and the CA clients should trust).
   */
  readonly tls?: boolean | { readonly key: string; readonly cert: string; readonly ca?: string };
  /** Require `Authorization: Bearer <token>` on every request (401 Unauthorized otherwise). */
  readonly token?: string;
  /** Largest request body accepted, in bytes (413 past it). Default 3 MiB, as the apiserver. */
  readonly maxBodyBytes?: number;
  /** Receives one debug line per request (pino-compatible). Default: silent. */
  readonly logger?: Logger;
}

/** A running fake API server. */
export interface FakeClusterServer {
  /** `http://127.0.0.1:PORT` or `https://...`. */
  readonly url: string;
  /** A kubeconfig (YAML) for kubectl and client libraries: server, CA or insecure flag, token, namespace `default`. */
  readonly kubeconfig: string;
  /** The CA certificate (PEM) clients should trust, with `tls`. */
  readonly ca: string | undefined;
  /** Open TCP connections (watch streams, keep-alive connections, WebSockets), for leak checks. */
  openConnections(): number;
  /** Ends every open watch, destroys every connection and stops listening. Safe to call more than once. */
  close(): Promise<void>;
}

interface Context {
  readonly cluster: FakeCluster;
  readonly token: string | undefined;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly serverAddress: () => string;
  readonly watches: Set<AbortController>;
}

function requestLine(request: IncomingMessage): { method: string; url: URL } {
  // The host part is irrelevant: only path and query are read. Prefixing (rather than resolving against
  // a base) keeps a path like `//x` a path instead of a host.
  const target = request.url ?? '/';
  let url: URL;
  try {
    url = new URL(`http://fake${target.startsWith('/') ? target : `/${target}`}`);
  } catch {
    url = new URL('http://fake/invalid-request-target');
  }
  return { method: request.method ?? 'GET', url };
}

function discoveryBody(context: Context, segments: readonly string[]): object | undefined {
  const path = `/${segments.join('/')}`;
  switch (path) {
    case '/version':
      return versionInfo();
    case '/api':
      return coreApiVersions(context.serverAddress());
    case '/api/v1':
      return coreV1Resources();
    case '/apis':
      return apiGroupList();
    default:
      return groupDiscovery(segments) ?? openApiDocument(path);
  }
}

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** What one request has negotiated so far: the format of its answer (errors included) and warnings. */
interface RequestState {
  format: WireFormat;
  readonly warnings: string[];
}

const OPTIONS_KINDS: Partial<Record<Operation, string>> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  delete: 'DeleteOptions',
};

/** The core path a path of a named group stands for (events.k8s.io/v1 events are core/v1 events). */
function eventsGroupSegments(segments: readonly string[]): string[] | undefined {
  if (segments[0] !== 'apis' || segments[1] !== 'events.k8s.io' || segments[2] !== 'v1') return undefined;
  return ['api', 'v1', ...segments.slice(3)];
}

function sendAnswer(response: ServerResponse, state: RequestState, code: number, body: unknown): void {
  sendObject(
    response,
    code,
    body,
    state.format,
    state.warnings.length === 0 ? {} : { Warning: warningHeaders(state.warnings) },
  );
}

async function handleRequest(
  context: Context,
  request: IncomingMessage,
  response: ServerResponse,
  controller: AbortController,
  state: RequestState,
): Promise<void> {
  const { method, url } = requestLine(request);
  const unauthorized = checkBearerToken(request, context.token);
  if (unauthorized) return sendStatus(response, unauthorized);
  if (HEALTH_PATHS.has(url.pathname)) {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('ok');
    return;
  }
  const segments = pathSegments(url.pathname);
  const discovery = discoveryBody(context, segments);
  if (discovery !== undefined) {
    if (method !== 'GET') return sendStatus(response, methodNotAllowed(request));
    state.format = negotiate(request).format;
    return sendAnswer(response, state, 200, discovery);
  }
  if (
    segments[0] === 'apis' &&
    segments[1] === 'authorization.k8s.io' &&
    segments[2] === 'v1' &&
    segments.length === 4
  ) {
    state.format = negotiate(request).format;
    if (method !== 'POST') return sendStatus(response, methodNotAllowed(request), state.format);
    const format = bodyFormatOf(request);
    const review = parseJsonObject(
      bodyAsJson(format, await readBody(request, context.maxBodyBytes)),
      'review',
    );
    const answer = answerReview(segments[3] ?? '', review);
    if (answer === undefined) return sendStatus(response, pathNotFound(), state.format);
    return sendAnswer(response, state, answer.code, answer.body);
  }
  const groupSegments = eventsGroupSegments(segments);
  const path = parseLeasePath(segments) ?? parseResourcePath(groupSegments ?? segments);
  if (path === undefined || (groupSegments !== undefined && path.resource !== 'events'))
    return sendStatus(response, pathNotFound());
  const eventsV1 = groupSegments !== undefined;
  const unsupported = path.subresource && UNSUPPORTED_SUBRESOURCES[path.subresource];
  if (path.subresource && unsupported) {
    return sendStatus(response, subresourceNotSupported(path.subresource, unsupported));
  }
  if (path.subresource === 'log') {
    if (method !== 'GET') return sendStatus(response, methodNotAllowed(request));
    return servePodLog(context.cluster, path, url.searchParams, response, controller.signal);
  }

  if (method === 'GET' && path.name === undefined && isWatch(url.searchParams, path)) {
    state.format = negotiate(request, true).format;
    // No Lease message is vendored (schemas/README.md): a lease watch is JSON, which every client that
    // offers protobuf also accepts; a single answer falls back to JSON by itself.
    if (path.resource === 'leases' && state.format === 'protobuf') state.format = 'json';
    const table = eventsV1 ? undefined : tableRequestOf(request.headers.accept, url.searchParams);
    // Tables have no protobuf form: the apiserver answers them in JSON.
    if (table !== undefined) state.format = 'json';
    const opened = await openWatch(context.cluster, path, url.searchParams, controller.signal);
    const stream =
      table === undefined
        ? opened
        : tableWatch(path.resource, opened, table, () => context.cluster.clock.date());
    context.watches.add(controller);
    try {
      await serveWatchOverHttp(response, stream, controller.signal, {
        format: state.format,
        ...(eventsV1 ? { convert: answerAsEventsV1 } : {}),
      });
    } finally {
      context.watches.delete(controller);
    }
    return;
  }
  state.format = negotiate(request).format;
  let operation = operationOf(method, path);
  if (operation === undefined) return sendStatus(response, methodNotAllowed(request), state.format);
  let body: Buffer | undefined;
  let patchType: ReturnType<typeof checkContentType>;
  if (bodyExpected(operation)) {
    patchType = checkContentType(request, operation);
    body = await readBody(request, context.maxBodyBytes);
    if (operation !== 'patch' && body.length > 0) body = bodyAsJson(bodyFormatOf(request), body);
  }
  const optionsKind = OPTIONS_KINDS[operation];
  const dryRun = optionsKind !== undefined && isDryRun(url.searchParams, optionsKind);
  const validation =
    operation === 'create' || operation === 'update' || operation === 'patch'
      ? fieldValidationOf(url.searchParams)
      : 'Ignore';
  if (path.resource === 'pods' || path.resource === 'events') {
    await context.cluster.beginRequest(
      faultVerb(operation),
      path.resource,
      path.namespace,
      controller.signal,
    );
  }
  const cluster = dryRun ? scratchCluster(context.cluster) : context.cluster;
  const kind = OBJECT_KINDS[path.resource];
  const manager =
    operation === 'create' || operation === 'update' || operation === 'patch'
      ? managerOf(url.searchParams, request.headers['user-agent'], patchType === 'apply')
      : '';
  const time = () => kubernetesTime(cluster.clock.date());
  const subresource = path.subresource === 'status' ? 'status' : undefined;

  if (eventsV1 && body !== undefined && body.length > 0 && operation !== 'delete') {
    // The events.k8s.io/v1 form in, checked against its own schema, and the core/v1 form stored.
    let given: Record<string, unknown>;
    if (operation === 'patch') {
      if (patchType === 'apply') {
        throw new StatusFailure(
          failureStatus(
            415,
            'server-side apply is served for core/v1 events only',
            {},
            'UnsupportedMediaType',
          ),
          'apply on events.k8s.io',
        );
      }
      const stored = cluster.getEvent(path.namespace ?? '', path.name ?? '');
      if (stored === undefined) throw notFound('events', path.name ?? '');
      const asV1 = answerAsEventsV1(stored) as Record<string, unknown>;
      given = applyPatch(patchType ?? 'merge', asV1, JSON.parse(body.toString('utf8')));
      operation = 'update';
      patchType = undefined;
    } else given = parseJsonObject(body, 'Event');
    state.warnings.push(...checkFields(given, 'events.k8s.io/v1', 'Event', validation, { handledAs: true }));
    body = Buffer.from(JSON.stringify(eventFromEventsV1(given)));
  }

  let result: { code: number; body: unknown };
  let storedVersion: string | undefined;
  if (operation === 'patch' && patchType === 'apply') {
    const applied = parseYamlBody(body ?? Buffer.alloc(0));
    if (typeof applied !== 'object' || applied === null || Array.isArray(applied))
      throw new StatusFailure(
        failureStatus(400, 'the apply patch must be an object', {}, 'BadRequest'),
        'apply',
      );
    const config = applied as Record<string, unknown>;
    if (validation !== 'Strict') state.warnings.push(...checkFields(config, 'v1', kind, validation));
    const live = (path.resource === 'pods'
      ? cluster.getPod(path.namespace ?? '', path.name ?? '')
      : path.resource === 'events'
        ? cluster.getEvent(path.namespace ?? '', path.name ?? '')
        : cluster.getNamespace(path.name ?? '')) as unknown as Record<string, unknown> | undefined;
    storedVersion = (live?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    const force = ['true', '1'].includes((url.searchParams.get('force') ?? '').toLowerCase());
    const object = serverSideApply(live, config, {
      apiVersion: 'v1',
      kind,
      manager,
      subresource,
      time: time(),
      force,
    });
    if (live === undefined && subresource === 'status') throw notFound(path.resource, path.name ?? '');
    const written = Buffer.from(JSON.stringify(object));
    if (live !== undefined && canonicalJson(object) === canonicalJson(live)) {
      // Nothing changes, managed fields included: the apiserver writes nothing and answers the object.
      result = { code: 200, body: live };
    } else
      result = handleOperation(
        cluster,
        live === undefined ? 'create' : 'update',
        live === undefined ? { ...path, name: undefined } : path,
        url.searchParams,
        written,
        undefined,
      );
    if (live === undefined) operation = 'create';
  } else {
    const beforeWrite: BeforeWrite = (object, live) => {
      storedVersion = (live?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      if (!eventsV1)
        state.warnings.push(
          ...checkFields(object, 'v1', kind, validation, { handledAs: operation !== 'patch' }),
        );
      return recordUpdate(live, object, {
        apiVersion: 'v1',
        kind,
        manager,
        subresource,
        time: time(),
      }) as Record<string, unknown>;
    };
    if (operation === 'delete' && path.resource !== 'namespaces') {
      const live =
        path.resource === 'pods'
          ? cluster.getPod(path.namespace ?? '', path.name ?? '')
          : cluster.getEvent(path.namespace ?? '', path.name ?? '');
      storedVersion = live?.metadata?.resourceVersion;
    }
    result = handleOperation(cluster, operation, path, url.searchParams, body, patchType, beforeWrite);
  }
  let answer = dryRun ? dryRunAnswer(result.body, operation, storedVersion) : result.body;
  if (eventsV1) answer = answerAsEventsV1(answer);
  const table =
    !eventsV1 && (operation === 'get' || operation === 'list') && path.subresource === undefined
      ? tableRequestOf(request.headers.accept, url.searchParams)
      : undefined;
  if (table !== undefined) {
    state.format = 'json';
    answer = toTable(path.resource, answer as object, table, context.cluster.clock.date());
  }
  sendAnswer(response, state, result.code, answer);
}

function fail(
  response: ServerResponse,
  error: unknown,
  logger: Logger,
  signal: AbortSignal,
  format: WireFormat,
): void {
  if (signal.aborted) {
    // The client went away (during injected latency, a stall, a held request): there is nobody to
    // answer and nothing went wrong on the server's side.
    logger.debug({ path: response.req.url }, 'fake cluster: the client closed the request before the answer');
    if (!response.destroyed) response.destroy();
    return;
  }
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (error instanceof StatusFailure) {
    // HTTP/2 has no Connection header: the stream ends, the connection stays.
    if (error.closeConnection && response.req.httpVersionMajor < 2) response.setHeader('Connection', 'close');
    sendStatus(response, error.status, format);
    return;
  }
  const status = statusOf(error);
  if ((status.code ?? 500) >= 500 && !(error as { status?: unknown })?.status) {
    logger.error({ err: error }, 'fake cluster: unexpected error while serving a request');
  }
  sendStatus(response, status, format);
}

async function handleUpgrade(
  context: Context,
  webSockets: WebSocketServer,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const { method, url } = requestLine(request);
  const controller = new AbortController();
  socket.on('close', () => controller.abort());
  socket.on('error', () => controller.abort());
  // Until ws takes the socket over, read it here: over plain TCP a client that hangs up while its watch
  // is held (a stall before headers) is only noticed by reading. Bytes it sent early are kept for ws.
  const early: Buffer[] = [];
  const keep = (chunk: Buffer) => early.push(chunk);
  socket.on('data', keep);
  socket.on('end', () => {
    controller.abort();
    socket.destroy();
  });
  let path: ResourcePath | undefined;
  try {
    const unauthorized = checkBearerToken(request, context.token);
    if (unauthorized) return sendStatusOnSocket(socket, unauthorized);
    const upgradeSegments = pathSegments(url.pathname);
    path = parseLeasePath(upgradeSegments) ?? parseResourcePath(upgradeSegments);
    // exec, attach and port-forward arrive as upgrades (WebSocket or SPDY): the same Status as over HTTP.
    const unsupported = path?.subresource && UNSUPPORTED_SUBRESOURCES[path.subresource];
    if (path?.subresource && unsupported)
      return sendStatusOnSocket(socket, subresourceNotSupported(path.subresource, unsupported));
    if ((request.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      return sendStatusOnSocket(socket, pathNotFound());
    if (path === undefined) return sendStatusOnSocket(socket, pathNotFound());
    if (method !== 'GET' || path.name !== undefined || !isWatch(url.searchParams, path)) {
      return sendStatusOnSocket(socket, methodNotAllowed(request));
    }
    const table = tableRequestOf(request.headers.accept, url.searchParams);
    const opened = await openWatch(context.cluster, path, url.searchParams, controller.signal);
    const resource = path.resource;
    const stream =
      table === undefined ? opened : tableWatch(resource, opened, table, () => context.cluster.clock.date());
    if (controller.signal.aborted || socket.destroyed) return;
    context.watches.add(controller);
    // ws attaches its own 'data' listener in this same turn, so no byte falls between the two.
    socket.off('data', keep);
    webSockets.handleUpgrade(request, socket, Buffer.concat([head, ...early]), (webSocket) => {
      webSocket.on('close', () => controller.abort());
      webSocket.on('error', () => controller.abort());
      serveWatchOverWebSocket(webSocket, stream, controller.signal).finally(() => {
        context.watches.delete(controller);
      });
    });
  } catch (error) {
    if (controller.signal.aborted) return;
    sendStatusOnSocket(socket, error instanceof StatusFailure ? error.status : statusOf(error));
  } finally {
    context.logger.debug(
      { method, path: url.pathname, query: url.search, upgrade: 'websocket' },
      'fake cluster: websocket request',
    );
  }
}

/**
 * Serves a {@link FakeCluster} as a Kubernetes API server for pods, events and namespaces, over HTTP or
 * HTTPS, with watches over chunked HTTP and over WebSocket. Faults injected through `cluster.faults`
 * reach the wire: request failures as Status responses (with `Retry-After`), latency, stalls before
 * headers, and resets, stalls, ends and cuts of open watch streams.
 *
 * Resolves once listening, with the URL, a kubeconfig for kubectl and client libraries, and `close()`.
 */
export async function serveFakeCluster(
  cluster: FakeCluster,
  options: ServeFakeClusterOptions = {},
): Promise<FakeClusterServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  let tls: TlsMaterial | { key: string; cert: string; ca?: string } | undefined;
  if (options.tls === true) tls = await generateTlsMaterial(host);
  else if (typeof options.tls === 'object') tls = options.tls;

  const sockets = new Set<Socket>();
  const watches = new Set<AbortController>();
  let address = '';
  const context: Context = {
    cluster,
    token: options.token,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    logger,
    serverAddress: () => address,
    watches,
  };
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.on('finish', () => {
      logger.debug(
        {
          method: request.method,
          path: request.url,
          status: response.statusCode,
          ms: Math.round(performance.now() - started),
          http: request.httpVersion,
          contentType: request.headers['content-type'],
          accept: request.headers.accept,
          responseType: response.getHeader('content-type'),
          encoding: response.getHeader('content-encoding'),
        },
        'fake cluster: request',
      );
    });
    // Aborted when the client hangs up (or the answer is sent): ends latency, stalls and open watches.
    const controller = new AbortController();
    response.on('close', () => controller.abort());
    // Over HTTP/2 a stream the client resets is 'aborted' at once, but 'close' comes only once its
    // request side has been read to the end, which a watch never does: without this the watch would
    // stay open on a stream nobody reads.
    request.on('aborted', () => controller.abort());
    const state: RequestState = { format: 'json', warnings: [] };
    handleRequest(context, request, response, controller, state).catch((error: unknown) =>
      fail(response, error, logger, controller.signal, state.format),
    );
  };
  // Over TLS, HTTP/2 by ALPN as the apiserver (kubectl and client-go speak it), and HTTP/1.1 for the
  // clients that offer only that and for WebSocket upgrades (allowHTTP1); plain HTTP stays HTTP/1.1.
  const server: Server =
    tls === undefined
      ? createHttpServer(listener)
      : (createSecureServer(
          { key: tls.key, cert: tls.cert, allowHTTP1: true },
          listener as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void,
          // Both are net.Server; only the events every server has are used below.
        ) as unknown as Server);
  const webSockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => chooseWatchSubprotocol(offered),
    maxPayload: context.maxBodyBytes,
  });
  server.on('connection', (socket: Socket) => {
    // As node:http does by default (and the http2 server's HTTP/1.1 fallback does not): every watch
    // event goes out as it is written, not held back by Nagle's algorithm.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    void handleUpgrade(context, webSockets, request, socket, head);
  });
  // A client that sends garbage gets the 400 Node writes, and the server keeps serving.
  server.on('clientError', (_error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const hostInUrl = bound.family === 'IPv6' || host.includes(':') ? `[${host}]` : host;
  address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  const url = `${tls === undefined ? 'http' : 'https'}://${hostInUrl}:${bound.port}`;
  const ca = tls === undefined ? undefined : (tls.ca ?? tls.cert);
  const kubeconfig = buildKubeconfig({
    url,
    ...(ca === undefined ? {} : { ca }),
    ...(options.token === undefined ? {} : { token: options.token }),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    kubeconfig,
    ca,
    openConnections: () => sockets.size,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const watch of watches) watch.abort();
        for (const client of webSockets.clients) client.terminate();
        // A socket still in the set has not emitted 'close' yet (it leaves the set on 'close'), even if it
        // is already destroyed: wait for that event so openConnections() is 0 once close() resolves.
        const closed = [...sockets].map(
          (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
        );
        for (const socket of sockets) socket.destroy();
        await Promise.all(closed);
        await stopped;
        await new Promise<void>((resolve) => webSockets.close(() => resolve()));
      })();
      return closing;
    },
  };
}
