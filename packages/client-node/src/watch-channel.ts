/**
 * A one-consumer queue from the client's callbacks to an async iterator: `push` events, then `end` or
 * `fail` exactly once. Whatever comes after the first outcome is ignored.
 */
export class WatchChannel<T> implements AsyncIterable<T> {
  readonly #onStop: () => void;
  #buffer: T[] = [];
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  #closed = false;
  #error: { value: unknown } | undefined;
  #iterated = false;

  /** `onStop` runs when the consumer stops early (`break`, `return()`). */
  constructor(onStop: () => void) {
    this.#onStop = onStop;
  }

  /** True once the channel has ended, failed or been stopped. */
  get closed(): boolean {
    return this.#closed;
  }

  push(value: T): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ value, done: false });
    } else {
      this.#buffer.push(value);
    }
  }

  /** Ends the stream cleanly once the buffered events are consumed. */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  /** Fails the stream: after the buffered events, or at once (dropping them) with `discard`. */
  fail(error: unknown, options: { discard?: boolean } = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = { value: error };
    if (options.discard) this.#buffer = [];
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) {
      this.#error = undefined;
      waiter.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new TypeError('A watch stream can be iterated only once');
    this.#iterated = true;
    return {
      next: () => {
        const value = this.#buffer.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#error) {
          const { value: error } = this.#error;
          this.#error = undefined;
          return Promise.reject(error);
        }
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      },
      return: () => {
        this.#buffer = [];
        this.#error = undefined;
        this.end();
        this.#onStop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
