// A scripted transport for core's own tests (core cannot depend on @podstorage/fake). Not exported.
// The test decides every answer: what a list, get or delete returns, and what each watch stream sends.
import type { Clock } from './clock.js';
import { KubernetesError } from './errors.js';
import type { KubernetesEvent, ObjectList, Pod, Status } from './kubernetes.js';
import { type Logger, silentLogger } from './logger.js';
import type { ManualClock } from './test-clock.js';
import type {
  DeleteOptions,
  ListOptions,
  PodTransport,
  RequestOptions,
  ResourceName,
  ResourceTypes,
  WatchEvent,
  WatchOptions,
} from './transport.js';
import type { WatchEngineSettings } from './watch-engine.js';

type AnyObject = Pod | KubernetesEvent;

/** One watch stream, fed by the test. Aborting its signal ends it as a real one: it throws the reason. */
export class ScriptedStream implements AsyncIterable<WatchEvent<AnyObject>> {
  readonly resource: ResourceName;
  readonly options: WatchOptions;
  /** End quietly instead of throwing when the signal aborts (some transports do). */
  readonly endOnAbort: boolean;
  /** Take a few turns of the event loop to close after the signal aborts, as a socket does. */
  readonly slowClose: boolean;
  readonly #events: WatchEvent<AnyObject>[] = [];
  #ended = false;
  #error: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  constructor(resource: ResourceName, options: WatchOptions, endOnAbort: boolean, slowClose = false) {
    this.resource = resource;
    this.options = options;
    this.endOnAbort = endOnAbort;
    this.slowClose = slowClose;
    options.signal.addEventListener('abort', () => this.#wake?.(), { once: true });
  }

  get signal(): AbortSignal {
    return this.options.signal;
  }

  send(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: AnyObject): void {
    this.#push({ type, object });
  }

  bookmark(resourceVersion: string): void {
    this.#push({ type: 'BOOKMARK', object: { metadata: { resourceVersion } } });
  }

  error(status: Status): void {
    this.#push({ type: 'ERROR', object: status });
  }

  /** The server ends the stream. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** The connection breaks. */
  fail(error: unknown): void {
    this.#error = { error };
    this.#wake?.();
  }

  #push(event: WatchEvent<AnyObject>): void {
    this.#events.push(event);
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<AnyObject>> {
    const signal = this.options.signal;
    for (;;) {
      if (signal.aborted) {
        if (this.slowClose) await turns(3);
        if (this.endOnAbort) return;
        throw signal.reason;
      }
      const event = this.#events.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      if (this.#error) throw this.#error.error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

/** A call the storage made, as the scripted transport saw it. */
export interface ScriptedCall {
  readonly verb: 'get' | 'list' | 'watch' | 'delete';
  readonly resource: ResourceName;
  readonly namespace: string;
  readonly name?: string;
  readonly options: ListOptions | WatchOptions | DeleteOptions | RequestOptions;
}

type Answer<T> = (call: ScriptedCall) => T | Promise<T>;

/**
 * Lists answer with `objects` at `resourceVersion`, gets with the object of that name (404 when there
 * is none), deletes succeed, and each watch opens a {@link ScriptedStream} the test feeds. Any of them
 * can be replaced (`onList`, `onGet`, `onDelete`, `onWatch`) to fail, hang or answer otherwise.
 */
export class ScriptedTransport implements PodTransport {
  readonly calls: ScriptedCall[] = [];
  readonly streams: ScriptedStream[] = [];
  readonly objects: Record<ResourceName, AnyObject[]> = { pods: [], events: [] };
  resourceVersion = '10';
  endStreamsOnAbort = false;
  /** Streams take a few turns to close once aborted (see {@link ScriptedStream.slowClose}). */
  slowStreamClose = false;
  onList: Answer<ObjectList<AnyObject>> | undefined;
  onGet: Answer<AnyObject> | undefined;
  onDelete: Answer<void> | undefined;
  /** Runs before a watch opens its stream (the response headers): throw to refuse it, wait to delay it. */
  onWatch: Answer<void> | undefined;
  refreshCredentials?: (options: RequestOptions) => Promise<void>;

  callsOf(verb: ScriptedCall['verb']): ScriptedCall[] {
    return this.calls.filter((call) => call.verb === verb);
  }

  /** The newest watch stream. */
  get stream(): ScriptedStream {
    const stream = this.streams.at(-1);
    if (stream === undefined) throw new Error('no watch was opened');
    return stream;
  }

  async get<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: RequestOptions,
  ): Promise<ResourceTypes[R]> {
    const call = this.#record({ verb: 'get', resource, namespace, name, options });
    if (this.onGet) return (await this.onGet(call)) as ResourceTypes[R];
    const found = this.objects[resource].find((object) => object.metadata?.name === name);
    if (found === undefined) throw new KubernetesError(404, 'NotFound', `${resource} "${name}" not found`);
    return found as ResourceTypes[R];
  }

  async list<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: ListOptions,
  ): Promise<ObjectList<ResourceTypes[R]>> {
    const call = this.#record({ verb: 'list', resource, namespace, options });
    if (this.onList) return (await this.onList(call)) as ObjectList<ResourceTypes[R]>;
    return {
      metadata: { resourceVersion: this.resourceVersion },
      items: [...this.objects[resource]] as ResourceTypes[R][],
    };
  }

  async watch<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
    const call = this.#record({ verb: 'watch', resource, namespace, options });
    if (this.onWatch) await this.onWatch(call);
    options.signal.throwIfAborted();
    const stream = new ScriptedStream(resource, options, this.endStreamsOnAbort, this.slowStreamClose);
    this.streams.push(stream);
    return stream as unknown as AsyncIterable<WatchEvent<ResourceTypes[R]>>;
  }

  async delete<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<void> {
    const call = this.#record({ verb: 'delete', resource, namespace, name, options });
    if (this.onDelete) await this.onDelete(call);
  }

  #record(call: ScriptedCall): ScriptedCall {
    this.calls.push(call);
    return call;
  }
}

/** Lets pending promise callbacks and timers of the event loop run (real turns; no time passes). */
export async function turns(count = 20): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A pod as a server returns it. */
export function podObject(
  name: string,
  uid: string,
  resourceVersion: string,
  phase = 'Pending',
  namespace = 'default',
): Pod {
  return { metadata: { name, namespace, uid, resourceVersion }, status: { phase } };
}

/** A log line, as {@link recordingLogger} keeps it. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger that keeps every line, for tests of what the engine says. */
export function recordingLogger(): Logger & { readonly lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const record =
    (level: LoggedLine['level']) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

/** The top of the jitter band, so every backoff wait is exactly its capped exponential step. */
export const noJitter = (): number => 0.999_999_999;

/** The engine's settings as the storage's defaults make them, on `clock`, without jitter. */
export function engineSettings(clock: Clock, logger: Logger = silentLogger): WatchEngineSettings {
  return {
    clock,
    logger,
    random: noJitter,
    pageSize: 500,
    requestTimeoutMs: 30_000,
    inactivityTimeoutMs: 90_000,
    watchTimeoutSeconds: { min: 300, max: 600 },
    backoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 },
  };
}

/** Moves a manual clock `ms` forward in steps of `stepMs`, letting the code under test react between them. */
export async function advance(clock: ManualClock, ms: number, stepMs = 100): Promise<void> {
  for (let moved = 0; moved < ms; moved += stepMs) {
    await turns(5);
    clock.advance(Math.min(stepMs, ms - moved));
  }
  await turns();
}
