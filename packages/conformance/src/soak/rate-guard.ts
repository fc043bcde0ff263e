import type {
  DeleteOptions,
  ListOptions,
  ObjectList,
  PodTransport,
  RequestOptions,
  ResourceName,
  ResourceTypes,
  WatchEvent,
  WatchOptions,
} from '@podstorage/core';

/**
 * A {@link PodTransport} that trips when more than `limit` calls arrive within one second: from then on
 * every call waits until its signal aborts. A client that retries in a loop without backing off, against
 * an in-process cluster that answers without a macrotask, would otherwise never yield to the event loop:
 * the soak (and the test runner's timeout) would starve and the process die of memory, not fail.
 */
export class RateGuardTransport implements PodTransport {
  readonly refreshCredentials?: (options: RequestOptions) => Promise<void>;
  readonly #inner: PodTransport;
  readonly #now: () => number;
  readonly #limit: number;
  readonly #times: number[] = [];
  #tripped = false;

  readonly #onWatch: (resource: ResourceName, options: WatchOptions) => void;

  /** `onWatch` hears of every watch request as it is made (the soak learns when a consumer is attached). */
  constructor(
    inner: PodTransport,
    now: () => number,
    limit: number,
    onWatch: (resource: ResourceName, options: WatchOptions) => void = () => {},
  ) {
    this.#inner = inner;
    this.#onWatch = onWatch;
    this.#now = now;
    this.#limit = limit;
    const refresh = inner.refreshCredentials;
    if (refresh !== undefined) {
      this.refreshCredentials = (options) => this.#admit(options.signal, () => refresh.call(inner, options));
    }
  }

  /** True once the limit was exceeded. */
  get tripped(): boolean {
    return this.#tripped;
  }

  get<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: RequestOptions,
  ): Promise<ResourceTypes[R]> {
    return this.#admit(options.signal, () => this.#inner.get(resource, namespace, name, options));
  }

  list<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: ListOptions,
  ): Promise<ObjectList<ResourceTypes[R]>> {
    return this.#admit(options.signal, () => this.#inner.list(resource, namespace, options));
  }

  watch<R extends ResourceName>(
    resource: R,
    namespace: string,
    options: WatchOptions,
  ): Promise<AsyncIterable<WatchEvent<ResourceTypes[R]>>> {
    this.#onWatch(resource, options);
    return this.#admit(options.signal, () => this.#inner.watch(resource, namespace, options));
  }

  delete<R extends ResourceName>(
    resource: R,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<void> {
    return this.#admit(options.signal, () => this.#inner.delete(resource, namespace, name, options));
  }

  #admit<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const now = this.#now();
    this.#times.push(now);
    if (this.#times.length > this.#limit) this.#times.shift();
    const oldest = this.#times[0] as number;
    if (this.#times.length === this.#limit && now - oldest < 1_000) this.#tripped = true;
    if (!this.#tripped) return call();
    return new Promise<T>((_, reject) => {
      const abort = () =>
        reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
  }
}
