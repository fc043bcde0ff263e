import { PodStorageError } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';

const pod = { metadata: { name: 'a' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } };

describe('the in-process transport reports what it holds and closes', () => {
  it('counts an open watch and a call waiting out latency, and 0 once they end', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    const transport = cluster.transport();
    expect(transport.openHandles()).toBe(0);
    const watching = new AbortController();
    await transport.watch('pods', 'default', { signal: watching.signal });
    expect(transport.openHandles()).toBe(1);
    cluster.faults.latency(1_000);
    const slow = transport.list('pods', 'default', { signal: new AbortController().signal });
    expect(transport.openHandles()).toBe(2);
    await cluster.clock.advance(1_000);
    await slow;
    expect(transport.openHandles()).toBe(1);
    watching.abort();
    expect(transport.openHandles()).toBe(0);
    expect(cluster.stats().activeWatches).toBe(0);
  });

  it('close() ends its open watches, and later calls reject; await using closes it', async () => {
    const cluster = new FakeCluster({ mode: 'manual' });
    cluster.createPod(pod);
    const other = cluster.transport();
    await other.watch('pods', 'default', { signal: new AbortController().signal });
    let iterator: AsyncIterator<unknown> | undefined;
    {
      await using transport = cluster.transport();
      const stream = await transport.watch('pods', 'default', { signal: new AbortController().signal });
      iterator = stream[Symbol.asyncIterator]();
      expect(cluster.stats().activeWatches).toBe(2);
    }
    // Only the disposed transport's watch ended; the other transport's is untouched.
    expect(cluster.stats().activeWatches).toBe(1);
    await expect(iterator.next()).rejects.toThrow('the fake cluster transport is closed');
    const closed = cluster.transport();
    await closed.close();
    await closed.close();
    const refused = await closed
      .get('pods', 'default', 'a', { signal: new AbortController().signal })
      .catch((e) => e);
    expect(PodStorageError.isInstance(refused)).toBe(true);
    expect(closed.openHandles()).toBe(0);
    expect(other.openHandles()).toBe(1);
  });
});
