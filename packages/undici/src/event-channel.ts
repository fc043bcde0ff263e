/** What an {@link EventChannel} asks of the connection that feeds it. */
export interface ChannelSource {
  /** Stop reading for now: the consumer is behind. */
  pause(): void;
  /** Read again: the consumer caught up. */
  resume(): void;
  /** Release everything (socket, timers, listeners). Called exactly once, however the channel ends. */
  close(): void;
}

type Waiter<T> = {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: unknown) => void;
};

/**
 * The consumer side of a watch stream: an async iterator fed by socket callbacks. Unlike an async
 * generator, `return()` takes effect at once even while a `next()` is waiting (it resolves that `next()`
 * as done), so a consumer that stops never waits for the server to send one more byte.
 */
export class EventChannel<T> implements AsyncIterableIterator<T, undefined> {
  readonly #source: ChannelSource;
  readonly #highWaterMark: number;
  #items: T[] = [];
  #head = 0;
  #waiter: Waiter<T> | undefined;
  #state: 'open' | 'ended' | 'failed' | 'closed' = 'open';
  #error: unknown;
  #paused = false;
  #released = false;

  constructor(source: ChannelSource, options: { highWaterMark?: number } = {}) {
    this.#source = source;
    this.#highWaterMark = options.highWaterMark ?? 1_000;
  }

  /** Whether the channel still accepts events. */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** Adds an event; pauses the source when the consumer is far behind. */
  push(item: T): void {
    if (this.#state !== 'open') return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: item });
      return;
    }
    this.#items.push(item);
    if (!this.#paused && this.#items.length - this.#head >= this.#highWaterMark) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  /** The stream ended cleanly: buffered events are still delivered, then the iteration ends. */
  end(): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#release();
    this.#waiter?.resolve({ done: true, value: undefined });
    this.#waiter = undefined;
  }

  /**
   * The stream broke: buffered events are still delivered, then `next()` throws `error`. With
   * `discard`, buffered events are dropped and the error comes at once (for cancellation).
   */
  fail(error: unknown, options: { discard?: boolean } = {}): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = error;
    if (options.discard) {
      this.#items = [];
      this.#head = 0;
    }
    this.#release();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  /** The next event; waits for one, ends after a clean end, throws after a failure. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#head += 1;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      } else if (this.#head > 1_024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      if (
        this.#paused &&
        this.#state === 'open' &&
        this.#items.length - this.#head < this.#highWaterMark / 2
      ) {
        this.#paused = false;
        this.#source.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#state === 'failed') {
      this.#state = 'closed';
      return Promise.reject(this.#error);
    }
    if (this.#state !== 'open') return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined)
      return Promise.reject(new Error('next() called while another is pending'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stops the stream at once and releases its connection; a waiting `next()` resolves as done. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.#state = 'closed';
    this.#items = [];
    this.#head = 0;
    this.#release();
    this.#waiter?.resolve({ done: true, value: undefined });
    this.#waiter = undefined;
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The channel is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#source.close();
  }
}
