import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.js';

// One signal (an operation's, the storage's) outlives many takes: each must leave it as it found it.
describe('AsyncQueue.take and its signal', () => {
  it('leaves no listener behind when an item wakes it', async () => {
    const queue = new AsyncQueue<number>();
    const signal = new AbortController().signal;
    for (let item = 0; item < 3; item++) {
      const waiting = queue.take(signal);
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      queue.push(item);
      expect(await waiting).toBe(item);
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener behind when the signal aborts it', async () => {
    const queue = new AsyncQueue<number>();
    const controller = new AbortController();
    const waiting = queue.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
