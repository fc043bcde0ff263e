import type { WatchEvent } from '@podstorage/core';

/** The error an in-memory watch stream throws when a fault resets its connection. */
export function connectionResetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

type WatcherState = 'open' | 'stalled' | 'ended' | 'failed' | 'closed';

/**
 * One open watch stream: a queue of events for a single consumer. The cluster pushes events in commit
 * order; the consumer pulls them with `for await`. Ending, failing, stalling and aborting are the ways a
 * real stream stops, and each releases the stream's timers and listeners at once.
 */
export class Watcher<T> implements AsyncIterable<WatchEvent<T>> {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly #queue: WatchEvent<T>[] = [];
  readonly #signal: AbortSignal;
  readonly #onClose: (watcher: Watcher<T>) => void;
  readonly #cleanups: (() => void)[] = [];
  readonly #removeAbortListener: () => void;
  #state: WatcherState = 'open';
  #error: unknown;
  #wake: (() => void) | undefined;
  #iterated = false;
  // Events left before the stream is cut (ends cleanly); undefined: no cut pending.
  #eventsBeforeCut: number | undefined;
  #released = false;

  constructor(options: {
    resource: string;
    namespace: string | undefined;
    signal: AbortSignal;
    onClose: (watcher: Watcher<T>) => void;
  }) {
    this.resource = options.resource;
    this.namespace = options.namespace;
    this.#signal = options.signal;
    this.#onClose = options.onClose;
    const onAbort = () => this.#abort();
    this.#signal.addEventListener('abort', onAbort, { once: true });
    this.#removeAbortListener = () => this.#signal.removeEventListener('abort', onAbort);
  }

  /** True while the stream can still receive events. */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** True until the stream has ended, failed or been closed by its consumer (a stalled stream is active). */
  get active(): boolean {
    return this.#state === 'open' || this.#state === 'stalled';
  }

  /** Registers something to undo when the stream stops or stalls (a timer). */
  onRelease(cleanup: () => void): void {
    if (this.#released || this.#state === 'stalled') cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** Queues an event for the consumer; counts down a pending cut. Ignored once the stream is not open. */
  push(event: WatchEvent<T>): void {
    if (this.#state !== 'open') return;
    this.#queue.push(event);
    this.#notify();
    if (this.#eventsBeforeCut !== undefined && --this.#eventsBeforeCut <= 0) this.end();
  }

  /** Ends the stream cleanly after the `events` next events. */
  cutAfter(events: number): void {
    if (this.#state !== 'open') return;
    if (events <= 0) this.end();
    else this.#eventsBeforeCut = events;
  }

  /** Ends the stream cleanly: the consumer gets what is queued, then the iteration finishes. */
  end(): void {
    if (this.#state !== 'open' && this.#state !== 'stalled') return;
    this.#state = 'ended';
    this.#release();
    this.#notify();
  }

  /** Breaks the stream: the consumer's next read throws `error`; queued events are lost, as on a reset. */
  fail(error: unknown): void {
    if (this.#state !== 'open' && this.#state !== 'stalled') return;
    this.#state = 'failed';
    this.#error = error;
    this.#queue.length = 0;
    this.#release();
    this.#notify();
  }

  /** Keeps the stream open but silent: nothing more arrives, not even its end, until the consumer aborts. */
  stall(): void {
    if (this.#state !== 'open') return;
    this.#state = 'stalled';
    this.#queue.length = 0;
    // Timers (bookmarks, timeoutSeconds) stop too, but the stream stays counted as active.
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.#iterated) throw new Error('A watch stream can be iterated only once');
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: async () => {
        this.#close();
        return { done: true, value: undefined };
      },
    };
  }

  async #next(): Promise<IteratorResult<WatchEvent<T>>> {
    for (;;) {
      if (this.#signal.aborted) {
        this.#close();
        throw abortReason(this.#signal);
      }
      const event = this.#queue.shift();
      if (event !== undefined) return { done: false, value: event };
      if (this.#state === 'failed') {
        this.#state = 'closed';
        throw this.#error;
      }
      if (this.#state === 'ended' || this.#state === 'closed') {
        this.#state = 'closed';
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #abort(): void {
    this.#queue.length = 0;
    if (this.#state === 'open' || this.#state === 'stalled') this.#state = 'closed';
    this.#release();
    this.#notify();
  }

  #close(): void {
    this.#queue.length = 0;
    this.#state = 'closed';
    this.#release();
    this.#notify();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#removeAbortListener();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#onClose(this);
  }
}
