import { describe, expect, it } from 'vitest';
import type { Pod } from './kubernetes.js';
import { silentLogger } from './logger.js';
import { listAllPages } from './pager.js';
import { ManualClock } from './test-clock.js';
import type { ListOptions, PodTransport } from './transport.js';

function list(transport: PodTransport, clock = new ManualClock()) {
  return listAllPages(
    { transport, clock, logger: silentLogger, pageSize: 500, requestTimeoutMs: 30_000 },
    'pods',
    'default',
    undefined,
    new AbortController().signal,
  );
}

describe('listAllPages requests and odd answers', () => {
  it('abandons a page after requestTimeoutMs with a TimeoutError that names the request', async () => {
    const clock = new ManualClock();
    const transport = {
      list: (_resource: string, _namespace: string, options: ListOptions) =>
        new Promise((_, reject) => {
          options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
        }),
    } as unknown as PodTransport;
    const listed = list(transport, clock);
    listed.catch(() => {});
    clock.advance(29_999);
    clock.advance(1);
    await expect(listed).rejects.toMatchObject({
      name: 'TimeoutError',
      message: 'list pods in default timed out',
    });
    expect(clock.pendingTimers).toBe(0);
  });

  it('skips items without a name (nothing to key them by)', async () => {
    const named: Pod = { metadata: { name: 'a', resourceVersion: '3' } };
    const transport = {
      list: async () => ({
        metadata: { resourceVersion: '5' },
        items: [{}, { metadata: {} }, named],
      }),
    } as unknown as PodTransport;
    const listed = await list(transport);
    expect([...listed.objects.entries()]).toEqual([['a', named]]);
  });

  it('gives an empty resourceVersion (watch from now) when the list carries none', async () => {
    const transport = {
      list: async () => ({ metadata: {}, items: [] }),
    } as unknown as PodTransport;
    const listed = await list(transport);
    expect(listed.resourceVersion).toBe('');
  });
});
