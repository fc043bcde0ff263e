import { describe, expect, it } from 'vitest';
import { AsyncQueue, stoppableIterator } from './async-queue.js';

describe('AsyncQueue', () => {
  it('hands over items in order, waiting when empty', async () => {
    const queue = new AsyncQueue<number>();
    const signal = new AbortController().signal;
    const first = queue.take(signal);
    queue.push(1);
    queue.push(2);
    expect(await first).toBe(1);
    expect(await queue.take(signal)).toBe(2);
  });

  it('delivers queued items before an error or the end', async () => {
    const queue = new AsyncQueue<number>();
    const signal = new AbortController().signal;
    queue.push(1);
    queue.fail(new Error('boom'));
    expect(await queue.take(signal)).toBe(1);
    await expect(queue.take(signal)).rejects.toThrow('boom');
    const ended = new AsyncQueue<number>();
    ended.end();
    expect(await ended.take(signal)).toBeUndefined();
  });

  it('a waiting take rejects with the signal reason on abort', async () => {
    const queue = new AsyncQueue<number>();
    const controller = new AbortController();
    const waiting = queue.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('stoppableIterator', () => {
  it('return() ends a generator that is waiting inside next(), and runs its cleanup', async () => {
    const queue = new AsyncQueue<number>();
    let cleanedUp = false;
    const iterator = stoppableIterator(async function* (stopped) {
      try {
        for (;;) {
          const item = await queue.take(stopped);
          if (item === undefined) return;
          yield item;
        }
      } catch (error) {
        if (!stopped.aborted) throw error;
      } finally {
        cleanedUp = true;
      }
    });
    const pending = iterator.next();
    const returned = iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await returned).toEqual({ done: true, value: undefined });
    expect(cleanedUp).toBe(true);
  });
});
