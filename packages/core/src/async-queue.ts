/**
 * A single-consumer queue between a push-based source (the shared watch) and a pull-based consumer
 * (an operation's loop). The source never waits for the consumer; the consumer waits for the source,
 * an error, the end, or its own signal.
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #error: { error: unknown } | undefined;
  #ended = false;
  #wake: (() => void) | undefined;

  push(item: T): void {
    if (this.#ended || this.#error) return;
    this.#items.push(item);
    this.#notify();
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
      if (this.#items.length > 0) return this.#items.shift();
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
