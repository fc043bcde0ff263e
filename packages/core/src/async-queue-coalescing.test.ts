import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.js';

// Issue 9, defect 14: a slow consumer must hold at most one item per key, the newest, in order.
describe('AsyncQueue with keys', () => {
  it('keeps one waiting item per key, the newest, in the place of the first', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a1', 'a');
    queue.push('b1', 'b');
    queue.push('a2', 'a');
    queue.push('c1', 'c');
    queue.push('a3', 'a');
    expect(queue.size).toBe(3);
    const signal = new AbortController().signal;
    expect([await queue.take(signal), await queue.take(signal), await queue.take(signal)]).toEqual([
      'a3',
      'b1',
      'c1',
    ]);
  });

  it('a key taken already queues again at the end', async () => {
    const queue = new AsyncQueue<string>();
    const signal = new AbortController().signal;
    queue.push('a1', 'a');
    queue.push('b1', 'b');
    expect(await queue.take(signal)).toBe('a1');
    queue.push('a2', 'a');
    expect([await queue.take(signal), await queue.take(signal)]).toEqual(['b1', 'a2']);
  });

  it('stays bounded by the number of keys however many items are pushed', () => {
    const queue = new AsyncQueue<number>();
    for (let index = 0; index < 100_000; index += 1) queue.push(index, index % 50);
    expect(queue.size).toBe(50);
  });

  it('items without a key never coalesce', () => {
    const queue = new AsyncQueue<number>();
    for (let index = 0; index < 10; index += 1) queue.push(1);
    expect(queue.size).toBe(10);
  });
});
