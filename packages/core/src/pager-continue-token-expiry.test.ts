import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { listAllPages } from './pager.js';
import { ManualClock } from './test-clock.js';
import type { ListOptions, PodTransport } from './transport.js';

const pod = (name: string): Pod => ({ metadata: { name, uid: `uid-${name}`, resourceVersion: '1' } });

type Page = { metadata: { resourceVersion?: string; continue?: string }; items: Pod[] };

/** A transport whose list answers from `answer`, recording the options of every call as sent. */
function listing(answer: (options: ListOptions, call: number) => Page) {
  const calls: ListOptions[] = [];
  const transport = {
    list: async (_resource: string, _namespace: string, options: ListOptions) => {
      calls.push(options);
      return answer(options, calls.length);
    },
  } as unknown as PodTransport;
  return { transport, calls };
}

function list(transport: PodTransport, logger: Logger = silentLogger) {
  return listAllPages(
    { transport, clock: new ManualClock(), logger, pageSize: 1, requestTimeoutMs: 30_000 },
    'pods',
    'default',
    undefined,
    new AbortController().signal,
  );
}

const expired = () => new KubernetesError(410, 'Expired', 'continue token too old');

// Issue 9, defect 8: the fallback after an expired continue token is one full list, built from scratch.
describe('listAllPages after a continue token expired', () => {
  it('keeps nothing from the pages before the expiry: a pod deleted meanwhile is not listed', async () => {
    const { transport } = listing((options) => {
      if (options.continue === undefined && options.limit !== undefined) {
        return { metadata: { resourceVersion: '10', continue: 'page-2' }, items: [pod('deleted-meanwhile')] };
      }
      if (options.continue !== undefined) throw expired();
      return { metadata: { resourceVersion: '20' }, items: [pod('b'), pod('c')] };
    });
    const listed = await list(transport);
    expect([...listed.objects.keys()]).toEqual(['b', 'c']);
  });

  it('sends the full list without limit and continue at all (not as undefined values)', async () => {
    const { transport, calls } = listing((options) => {
      if (options.continue === undefined && options.limit !== undefined) {
        return { metadata: { resourceVersion: '10', continue: 'page-2' }, items: [pod('a')] };
      }
      if (options.continue !== undefined) throw expired();
      return { metadata: { resourceVersion: '20' }, items: [pod('a')] };
    });
    await list(transport);
    expect(calls).toHaveLength(3);
    // A transport that copies its options into a query (Object.entries) must not see `limit=undefined`.
    expect(Object.keys(calls[0] ?? {}).sort()).toEqual(['fieldSelector', 'limit', 'signal']);
    expect(Object.keys(calls[1] ?? {}).sort()).toEqual(['continue', 'fieldSelector', 'limit', 'signal']);
    expect(Object.keys(calls[2] ?? {}).sort()).toEqual(['fieldSelector', 'signal']);
  });

  it('says so in the log, with how many items it had', async () => {
    const entries: { level: string; fields: object; message: string | undefined }[] = [];
    const record =
      (level: string) =>
      (fields: object, message?: string): void => {
        entries.push({ level, fields, message });
      };
    const logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const { transport } = listing((options) => {
      if (options.continue === undefined && options.limit !== undefined) {
        return { metadata: { resourceVersion: '10', continue: 'page-2' }, items: [pod('a')] };
      }
      if (options.continue !== undefined) throw expired();
      return { metadata: { resourceVersion: '20' }, items: [pod('a')] };
    });
    await list(transport, logger);
    expect(entries).toEqual([
      {
        level: 'info',
        fields: { resource: 'pods', namespace: 'default', itemsSoFar: 1 },
        message: 'continue token expired while paging: falling back to one full list',
      },
    ]);
  });

  it('passes any other error on a later page to the caller: only 410 means the token expired', async () => {
    const unavailable = new KubernetesError(503, 'ServiceUnavailable', 'etcd is busy');
    const { transport, calls } = listing((options) => {
      if (options.continue === undefined) {
        return { metadata: { resourceVersion: '10', continue: 'page-2' }, items: [pod('a')] };
      }
      throw unavailable;
    });
    await expect(list(transport)).rejects.toBe(unavailable);
    expect(calls).toHaveLength(2);
  });

  it('stops after the full list even if the server sends a continue token with it', async () => {
    const { transport, calls } = listing((options) => {
      if (options.continue !== undefined) throw expired();
      // A server bug: a list without limit that still says there is more.
      return { metadata: { resourceVersion: '20', continue: 'more' }, items: [pod('a')] };
    });
    const listed = await list(transport);
    expect(calls.map((call) => ({ limit: call.limit, continue: call.continue }))).toEqual([
      { limit: 1, continue: undefined },
      { limit: 1, continue: 'more' },
      { limit: undefined, continue: undefined },
    ]);
    expect(listed.resourceVersion).toBe('20');
  });
});
