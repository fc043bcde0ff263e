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
    const failure = new Error('first');
    queue.fail(failure);
    queue.push(1);
    // toBe, not toThrow('first'): vitest's toThrow also passes when the rejection is undefined.
    await expect(queue.take(never)).rejects.toBe(failure);
  });

  it('keeps the end when a failure comes after it', async () => {
    const queue = new AsyncQueue<number>();
    queue.end();
    queue.fail(new Error('late'));
    expect(await queue.take(never)).toBeUndefined();
  });

  it('keeps the first failure', async () => {
    const queue = new AsyncQueue<number>();
    const first = new Error('first');
    queue.fail(first);
    queue.fail(new Error('second'));
    await expect(queue.take(never)).rejects.toBe(first);
  });

  it('wakes a waiting take when it fails', async () => {
    const queue = new AsyncQueue<number>();
    const waiting = queue.take(never);
    const failure = new Error('watch failed');
    queue.fail(failure);
    await expect(waiting).rejects.toBe(failure);
  });

  it('wakes a waiting take when it ends', async () => {
    const queue = new AsyncQueue<number>();
    const waiting = queue.take(never);
    queue.end();
    expect(await waiting).toBeUndefined();
  });
});
