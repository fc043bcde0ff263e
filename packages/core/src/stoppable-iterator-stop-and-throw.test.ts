import { describe, expect, it } from 'vitest';
import { AsyncQueue, stoppableIterator } from './async-queue.js';
import { isAbortError } from './errors.js';

describe('stoppableIterator', () => {
  it('tells the producer why it stopped: an AbortError saying the consumer stopped', async () => {
    let reason: unknown;
    const iterator = stoppableIterator(async function* (stopped) {
      try {
        await new AsyncQueue<number>().take(stopped);
        yield 1;
      } catch {
        reason = stopped.reason;
      }
    });
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(isAbortError(reason)).toBe(true);
    expect(reason).toMatchObject({ name: 'AbortError', message: 'the consumer stopped iterating' });
  });

  it('throw() raises the error inside the producer, where it can handle it', async () => {
    const seen: unknown[] = [];
    const iterator = stoppableIterator(async function* () {
      try {
        yield 1;
      } catch (error) {
        seen.push(error);
        yield 2;
      }
    });
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    const failure = new Error('from the consumer');
    expect(await iterator.throw?.(failure)).toEqual({ done: false, value: 2 });
    expect(seen).toEqual([failure]);
  });
});
