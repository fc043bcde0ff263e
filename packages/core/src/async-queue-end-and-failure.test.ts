import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.js';

const never = new AbortController().signal;

describe('AsyncQueue once it has ended or failed', () => {
  it('drops items pushed after the end', async () => {
    const queue = new AsyncQueue<number>();
    queue.end();
    queue.push(1);
    expect(await queue.take(never)).toBeUndefined();
  });

  it('drops items pushed after a failure', async () => {
    const queue = new AsyncQueue<number>();
    queue.fail(new Error('first'));
    queue.push(1);
    await expect(queue.take(never)).rejects.toThrow('first');
  });

  it('keeps the end when a failure comes after it', async () => {
    const queue = new AsyncQueue<number>();
    queue.end();
    queue.fail(new Error('late'));
    expect(await queue.take(never)).toBeUndefined();
  });

  it('keeps the first failure', async () => {
    const queue = new AsyncQueue<number>();
    queue.fail(new Error('first'));
    queue.fail(new Error('second'));
    await expect(queue.take(never)).rejects.toThrow('first');
  });

  it('wakes a waiting take when it ends', async () => {
    const queue = new AsyncQueue<number>();
    const waiting = queue.take(never);
    queue.end();
    expect(await waiting).toBeUndefined();
  });
});
