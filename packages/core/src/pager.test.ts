import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { silentLogger } from './logger.js';
import { listAllPages } from './pager.js';
import { ManualClock } from './test-clock.js';
import type { ListOptions, PodTransport } from './transport.js';

/** Lists every page of pods in `default` through `transport`, one item per page. */
const listPods = (transport: PodTransport) =>
  listAllPages(
    { transport, clock: new ManualClock(), logger: silentLogger, pageSize: 1, requestTimeoutMs: 30_000 },
    'pods',
    'default',
    undefined,
    new AbortController().signal,
  );

const pod = (name: string): Pod => ({ metadata: { name, uid: `uid-${name}`, resourceVersion: '1' } });

// Issue 9, defect 8: an expired continue token was retried from page one forever.
describe('listAllPages', () => {
  it('falls back to one full list when a continue token expires, as client-go pager does', async () => {
    const calls: Pick<ListOptions, 'limit' | 'continue'>[] = [];
    const transport = {
      list: async (_resource: string, _namespace: string, options: ListOptions) => {
        calls.push({ limit: options.limit, continue: options.continue });
        if (options.continue === undefined && options.limit !== undefined) {
          return { metadata: { resourceVersion: '10', continue: 'page-2' }, items: [pod('a')] };
        }
        if (options.continue !== undefined)
          throw new KubernetesError(410, 'Expired', 'continue token too old');
        return { metadata: { resourceVersion: '20' }, items: [pod('a'), pod('b'), pod('c')] };
      },
    } as unknown as PodTransport;
    const listed = await listPods(transport);
    expect([...listed.objects.keys()]).toEqual(['a', 'b', 'c']);
    expect(listed.resourceVersion).toBe('20');
    expect(calls).toEqual([
      { limit: 1, continue: undefined },
      { limit: 1, continue: 'page-2' },
      { limit: undefined, continue: undefined },
    ]);
  });

  it('passes a 410 on the first page (no continue token) to the caller', async () => {
    const expired = new KubernetesError(410, 'Expired', 'too old');
    const transport = {
      list: async () => {
        throw expired;
      },
    } as unknown as PodTransport;
    await expect(listPods(transport)).rejects.toBe(expired);
  });

  it('pages with limit and continue until the last page', async () => {
    const pages = [
      { metadata: { resourceVersion: '5', continue: 't1' }, items: [pod('a')] },
      { metadata: { resourceVersion: '5', continue: 't2' }, items: [pod('b')] },
      { metadata: { resourceVersion: '5' }, items: [pod('c')] },
    ];
    const continues: (string | undefined)[] = [];
    const transport = {
      list: async (_resource: string, _namespace: string, options: ListOptions) => {
        continues.push(options.continue);
        return pages.shift();
      },
    } as unknown as PodTransport;
    const listed = await listPods(transport);
    expect([...listed.objects.keys()]).toEqual(['a', 'b', 'c']);
    expect(continues).toEqual([undefined, 't1', 't2']);
  });
});
