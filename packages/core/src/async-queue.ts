/**
 * A single-consumer queue between a push-based source (the shared watch) and a pull-based consumer
 * (an operation's loop). The source never waits for the consumer; the consumer waits for the source,
 * an error, the end, or its own signal.
 *
 * Items pushed with a key coalesce: while an item with that key waits to be taken, a newer one replaces
 * it in place. A slow consumer then holds at most one item per key (the newest), never an unbounded
 * backlog, and loses no key's latest state.
 */
export class AsyncQueue<T> {
  // Map iteration follows insertion order, and replacing a key's value keeps its place.
  readonly #items = new Map<unknown, T>();
  #error: { error: unknown } | undefined;
  #ended = false;
  #wake: (() => void) | undefined;

  /** Adds `item`, or replaces the waiting item pushed with the same `key`. */
  push(item: T, key: unknown = Symbol()): void {
    if (this.#ended || this.#error) return;
    this.#items.set(key, item);
    this.#notify();
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.size;
  }

  /** Makes the next `take()` (once queued items are taken) reject with `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#error) return;
    this.#error = { error };
    this.#notify();
  }

  /** Makes `take()` return `undefined` once queued items are taken. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /**
   * The next item; `undefined` when the queue has ended. Rejects with the queue's error, or with the
   * signal's reason as soon as `signal` aborts.
   */
  async take(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      const first = this.#items.entries().next();
      if (!first.done) {
        this.#items.delete(first.value[0]);
        return first.value[1];
      }
      if (this.#error) throw this.#error.error;
      if (this.#ended) return undefined;
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #notify(): void {
    this.#wake?.();
  }
}

/**
 * Wraps an async generator so that `return()` stops it at once, even while a `next()` is pending: an
 * async generator queues `return()` behind the running step, which could wait for the next event
 * forever. `produce` gets a signal that aborts on `return()`; it should end quietly when it does.
 */
export function stoppableIterator<T>(
  produce: (stopped: AbortSignal) => AsyncGenerator<T, void, undefined>,
): AsyncIterableIterator<T> {
  const stop = new AbortController();
  const generator = produce(stop.signal);
  return {
    next: () => generator.next(),
    return: async () => {
      stop.abort(new DOMException('the consumer stopped iterating', 'AbortError'));
      return generator.return(undefined);
    },
    throw: (error?: unknown) => generator.throw(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
