import type {
  DeleteOptions,
  ListOptions,
  ObjectList,
  PodLogOptions,
  PodTransport,
  RequestOptions,
  ResourceName,
  ResourceTypes,
  WatchEvent,
  WatchOptions,
} from '@podstorage/core';

/** The transport verbs the suite records. */
export type RecordedVerb = 'get' | 'list' | 'watch' | 'delete' | 'refreshCredentials' | 'readPodLog';

/** One call the storage made to the backend's transport, as the suite observed it. */
export interface RecordedCall {
  readonly verb: RecordedVerb;
  readonly resource: ResourceName | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The options as passed, without the signal and callbacks. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The storage clock's time of the call. */
  readonly at: number;
  /**
   * The cluster clock's time of the call: the same as `at` on the fake clock. On the system clock the
   * cluster's clock follows real time in steps and may lag behind, so compare durations the cluster
   * times (a watch's `timeoutSeconds`) in its own time.
   */
  readonly clusterAt: number;
  outcome: 'pending' | 'fulfilled' | 'rejected';
  error: unknown;
  /** The storage clock's time the call's promise settled. */
  settledAt: number | undefined;
  /** Watch and readPodLog: whether the stream is open (headers received, not ended, failed, returned or aborted). */
  streamOpen: boolean;
  /** Watch only: the events the stream delivered, in order. */
  readonly received: { readonly type: string; readonly resourceVersion: string | undefined }[];
}

/**
 * A {@link PodTransport} in front of the backend's one that records every call the storage makes and
 * tracks the watch streams it holds open, so the suite can check what was asked (selectors, resource
 * versions, retry times) and that nothing stays open, independently of the backend.
 */
export class RecordingTransport implements PodTransport {
  readonly calls: RecordedCall[] = [];
  readonly refreshCredentials?: (options: RequestOptions) => Promise<void>;
  /** Present when the backend's transport reads container logs. */
  readonly readPodLog?: (
    namespace: string,
    name: string,
    options: PodLogOptions,
  ) => Promise<AsyncIterable<string>>;
  readonly #inner: PodTransport;
  readonly #now: () => number;
  readonly #clusterNow: () => number;

  /** `now` reads the storage's clock, `clusterNow` the cluster's (the same function on the fake clock). */
  constructor(inner: PodTransport, now: () => number, clusterNow: () => number = now) {
    this.#inner = inner;
    this.#now = now;
    this.#clusterNow = clusterNow;
    const refresh = inner.refreshCredentials;
    if (refresh !== undefined) {
      this.refreshCredentials = (options) =>
        this.#settle(this.#record('refreshCredentials', undefined, undefined, undefined, {}), () =>
          refresh.call(inner, options),
        );
    }
    const readPodLog = inner.readPodLog;
    if (readPodLog !== undefined) {
      this.readPodLog = async (namespace, name, options) => {
        const call = this.#record('readPodLog', 'pods', namespace, name, options);
        const stream = await this.#settle(call, () => readPodLog.call(inner, namespace, name, options));
        return this.#trackLog(call, stream, options.signal);
      };
    }
  }

  /** Follows one log stream: open until it ends, fails or is aborted (the contract: abort closes it). */
  async *#trackLog(
    call: RecordedCall,
    stream: AsyncIterable<string>,
    signal: AbortSignal,
  ): AsyncIterable<string> {
    call.streamOpen = !signal.aborted;
    const close = () => {
      call.streamOpen = false;
    };
    signal.addEventListener('abort', close, { once: true });
    try {
      yield* stream;
    } finally {
      close();
      signal.removeEventListener('abort', close);
    }
  }

  /** The calls of one verb, optionally for one resource. */
  callsOf(verb: RecordedVerb, resource?: ResourceName): RecordedCall[] {
    return this.calls.filter(
      (call) => call.verb === verb && (resource === undefined || call.resource === resource),
    );
  }

  /** Reads of a resource: `get` and `list` calls. */
  readsOf(resource: ResourceName): RecordedCall[] {
    return this.calls.filter(
      (call) => (call.verb === 'get' || call.verb === 'list') && call.resource === resource,
    );
  }

  /** Watch streams open now (headers received and not closed), optionally of one resource. */
  openStreams(resource?: ResourceName): number {
    return this.callsOf('watch', resource).filter((call) => call.streamOpen).length;
  }

  /** Calls whose promise has not settled yet (a watch waiting for its headers, a slow list). */
  pendingCalls(): number {
    return this.calls.filter((call) => call.outcome === 'pending').length;
  }

  /** A one-line-per-call summary for failure messages. */
  summary(): string {
    return this.calls
      .map((call) => {
        const target = [call.resource, call.namespace, call.name].filter(Boolean).join(' ');
        const options = JSON.stringify(call.options);
        const stream =
          call.verb === 'watch' ? ` events=${call.received.length}${call.streamOpen ? ' open' : ''}` : '';
        return `  @${call.at}ms ${call.verb} ${target} ${options} -> ${call.outcome}${call.outcome === 'rejected' ? ` (${errorText(call.error)})` : ''}${stream}`;
      })
      .join('\n');
  }

  get<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: RequestOptions,
  ): Promise<ResourceTypes[R]> {
    const call = this.#record('get', resource, namespace, name, options);
    return this.#settle(call, () => this.#inner.get(resource, namespace, name, options));
  }

  list<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: ListOptions,
  ): Promise<ObjectList<ResourceTypes[R]>> {
    const call = this.#record('list', resource, namespace, undefined, options);
    return this.#settle(call, () => this.#inner.list(resource, namespace, options));
  }

  delete<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<void> {
    const call = this.#record('delete', resource, namespace, name, options);
    return this.#settle(call, () => this.#inner.delete(resource, namespace, name, options));
  }

  async watch<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
    const call = this.#record('watch', resource, namespace, undefined, options);
    const stream = await this.#settle(call, () => this.#inner.watch(resource, namespace, options));
    return this.#trackStream(call, stream, options.signal);
  }

  #record(
    verb: RecordedVerb,
    resource: ResourceName | undefined,
    namespace: string | undefined,
    name: string | undefined,
    options: object,
  ): RecordedCall {
    const { signal: _signal, onActivity: _onActivity, ...rest } = options as Record<string, unknown>;
    const call: RecordedCall = {
      verb,
      resource,
      namespace,
      name,
      options: structuredClone(rest),
      at: this.#now(),
      clusterAt: this.#clusterNow(),
      outcome: 'pending',
      error: undefined,
      settledAt: undefined,
      streamOpen: false,
      received: [],
    };
    this.calls.push(call);
    return call;
  }

  async #settle<T>(call: RecordedCall, run: () => Promise<T>): Promise<T> {
    try {
      const value = await run();
      call.outcome = 'fulfilled';
      return value;
    } catch (error) {
      call.outcome = 'rejected';
      call.error = error;
      throw error;
    } finally {
      call.settledAt = this.#now();
    }
  }

  #trackStream<T>(
    call: RecordedCall,
    stream: AsyncIterable<WatchEvent<T>>,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<T>> {
    call.streamOpen = true;
    // The transport contract says aborting the signal closes the stream at once.
    const close = () => {
      call.streamOpen = false;
      signal.removeEventListener('abort', close);
    };
    if (signal.aborted) close();
    else signal.addEventListener('abort', close, { once: true });
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<WatchEvent<T>> => {
        const inner = stream[Symbol.asyncIterator]();
        const wrapped: AsyncIterator<WatchEvent<T>> = {
          next: async () => {
            try {
              const result = await inner.next();
              if (result.done) close();
              else {
                const object = result.value.object as { metadata?: { resourceVersion?: string } } | undefined;
                call.received.push({
                  type: result.value.type,
                  resourceVersion: object?.metadata?.resourceVersion,
                });
              }
              return result;
            } catch (error) {
              close();
              throw error;
            }
          },
          return: async (value?: unknown) => {
            close();
            if (inner.return) return inner.return(value);
            return { done: true, value: undefined };
          },
        };
        if (inner.throw) {
          const innerThrow = inner.throw.bind(inner);
          wrapped.throw = async (error?: unknown) => {
            close();
            return innerThrow(error);
          };
        }
        return wrapped;
      },
    };
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
