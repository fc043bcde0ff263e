import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestContextLike } from './client-library.js';

// Where undici (every copy, and Node's own fetch) keeps its global dispatcher; client-node 2.x leaves the
// dispatcher unset when the cluster needs no TLS options, and fetch then uses this one.
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
// A Status is a few hundred bytes; anything bigger is not worth keeping for an error message.
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface DispatcherLike {
  dispatch(options: object, handler: object): boolean;
}

interface UndiciHandler {
  onRequestStart?(controller: UndiciController, context: unknown): void;
  onResponseStart?(
    controller: UndiciController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: UndiciController, chunk: Buffer): void;
}

interface UndiciController {
  abort(reason: unknown): void;
}

interface AgentLike {
  addRequest(request: ClientRequest, options: object): void;
}

interface Destroyable {
  destroy?(): unknown;
}

/** What the server answered, as seen on the wire (the client drops the body of a refused watch). */
export interface WireResponse {
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * The connection of one call (a request or a watch), whichever major of client-node makes it. It binds
 * the call to its AbortSignal (2.x: the request's signal and the undici request controller; 1.x, which
 * has no signal for API calls: the node:http request, destroyed on abort, also before headers), records
 * the status, headers and error body, reports every body chunk as activity, and owns the dispatcher or
 * agent the KubeConfig created for this call (client-node makes a new one per call and never closes it),
 * destroying it on release so no socket outlives the call.
 */
export class CallConnection {
  readonly #signal: AbortSignal;
  readonly #onActivity: (() => void) | undefined;
  readonly #abortHooks = new Set<(reason: unknown) => void>();
  readonly #owned: Destroyable[] = [];
  #released: Promise<void> | undefined;
  #status: number | undefined;
  #headers: Record<string, string | string[] | undefined> = {};
  readonly #body: Buffer[] = [];
  #bodyBytes = 0;

  constructor(signal: AbortSignal, onActivity?: () => void) {
    this.#signal = signal;
    this.#onActivity = onActivity;
    signal.addEventListener('abort', this.#abort, { once: true });
  }

  /** The response as far as it arrived. */
  response(): WireResponse {
    return {
      status: this.#status,
      headers: this.#headers,
      body: Buffer.concat(this.#body).toString('utf8'),
    };
  }

  /** Binds a generated API request (after authentication, so its dispatcher or agent exists) to this call. */
  prepare(context: RequestContextLike): void {
    this.#signal.throwIfAborted();
    context.setSignal?.(this.#signal);
    if (typeof context.getDispatcher === 'function' && typeof context.setDispatcher === 'function') {
      const dispatcher = this.dispatcher(context.getDispatcher());
      if (dispatcher !== undefined) context.setDispatcher(dispatcher);
    } else if (typeof context.getAgent === 'function' && typeof context.setAgent === 'function') {
      const agent = context.getAgent();
      if (agent) context.setAgent(this.agent(agent as AgentLike));
    }
  }

  /** 2.x: an undici dispatcher for this call, wrapping the one the KubeConfig made (or the global one). */
  dispatcher(created: unknown): DispatcherLike | undefined {
    if (created) this.#owned.push(created as Destroyable);
    const inner = (created ?? (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER]) as
      | DispatcherLike
      | undefined;
    if (typeof inner?.dispatch !== 'function') return undefined;
    return {
      dispatch: (options: object, handler: object) =>
        inner.dispatch(options, this.#wrapHandler(handler as UndiciHandler)),
    };
  }

  /** 1.x: a node:http agent for this call, delegating to the one the KubeConfig made. */
  agent(agent: AgentLike): AgentLike {
    this.#owned.push(agent as Destroyable);
    const wrapper = Object.create(agent) as AgentLike;
    wrapper.addRequest = (request: ClientRequest, options: object) => {
      agent.addRequest(request, options);
      this.#request(request);
    };
    return wrapper;
  }

  /** Ends the call's hold on the network: destroys the dispatcher or agent made for it. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      this.#signal.removeEventListener('abort', this.#abort);
      this.#abortHooks.clear();
      const destroyed = this.#owned.splice(0).map(async (owned) => {
        try {
          await owned.destroy?.();
        } catch {
          // Already destroyed or closing: nothing left to free.
        }
      });
      await Promise.all(destroyed);
    })();
    return this.#released;
  }

  readonly #abort = (): void => {
    const reason = this.#signal.reason;
    for (const hook of [...this.#abortHooks]) hook(reason);
    void this.release();
  };

  #onAbort(hook: (reason: unknown) => void): void {
    if (this.#signal.aborted) hook(this.#signal.reason);
    else this.#abortHooks.add(hook);
  }

  #wrapHandler(handler: UndiciHandler): object {
    // A legacy handler has no controller to abort; destroying the dispatcher on release still ends it.
    if (typeof handler.onRequestStart !== 'function') return handler;
    const connection = this;
    return Object.create(handler, {
      onRequestStart: {
        value(controller: UndiciController, context: unknown) {
          connection.#onAbort((reason) => controller.abort(reason));
          return handler.onRequestStart?.(controller, context);
        },
      },
      onResponseStart: {
        value(
          controller: UndiciController,
          statusCode: number,
          headers: Record<string, string | string[] | undefined>,
          statusMessage?: string,
        ) {
          connection.#response(statusCode, headers);
          return handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
        },
      },
      onResponseData: {
        value(controller: UndiciController, chunk: Buffer) {
          connection.#data(chunk);
          return handler.onResponseData?.(controller, chunk);
        },
      },
    });
  }

  #request(request: ClientRequest): void {
    this.#onAbort((reason) => request.destroy(reason instanceof Error ? reason : undefined));
    request.once('response', (response: IncomingMessage) => {
      this.#response(response.statusCode ?? 0, response.headers);
      response.on('data', (chunk: Buffer) => this.#data(chunk));
    });
  }

  #response(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = status;
    this.#headers = headers;
  }

  #data(chunk: Buffer): void {
    if (this.#status !== undefined && this.#status >= 200 && this.#status < 300) {
      this.#onActivity?.();
      return;
    }
    if (this.#bodyBytes >= MAX_ERROR_BODY_BYTES) return;
    this.#body.push(chunk);
    this.#bodyBytes += chunk.length;
  }
}
