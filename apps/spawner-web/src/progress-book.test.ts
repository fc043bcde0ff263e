import { describe, expect, it } from 'vitest';
import { ProgressBook, type ProgressChange } from './progress-book.js';

const pod = (uid: string, extra: object = {}) => ({ metadata: { name: `pod-${uid}`, uid }, ...extra });

describe('ProgressBook', () => {
  it('keeps one progress per pod that every source moves forward, and tells listeners of each change', () => {
    const book = new ProgressBook();
    const changes: ProgressChange[] = [];
    const listening = new AbortController();
    book.listen((change) => changes.push(change), listening.signal);
    // The pod object says scheduled; an event says pulling; a later pod object cannot take it back.
    book.pod(pod('a', { spec: { containers: [], nodeName: 'n' } }));
    book.message('a', 'pod-a', 'Pulling image "x"');
    expect(book.pod(pod('a', { spec: { containers: [], nodeName: 'n' } })).stage).toBe('pulling');
    book.message('a', 'pod-a', 'Pulling image "x"'); // no change, no news
    expect(changes.map((change) => [change.uid, change.progress.stage])).toEqual([
      ['a', 'scheduled'],
      ['a', 'pulling'],
    ]);
    listening.abort();
    book.phase('a', 'pod-a', 'Running');
    expect(changes).toHaveLength(2);
    expect(book.current('a')?.stage).toBe('running');
  });

  it('forgets, after a full list, the pods it no longer has, but not those heard of since the list began', () => {
    const book = new ProgressBook();
    book.pod(pod('gone'));
    book.pod(pod('kept'));
    const mark = book.mark();
    book.pod(pod('new')); // created while the list was in flight
    book.pod(pod('kept'));
    book.retain(new Set(['kept']), mark);
    expect(book.current('gone')).toBeUndefined();
    expect(book.current('kept')).toBeDefined();
    expect(book.current('new')).toBeDefined();
  });

  it('says deleted when a pod is gone, and forgets it a while later', async () => {
    const book = new ProgressBook(10);
    book.phase('a', 'pod-a', 'Running');
    expect(book.gone('a', 'pod-a')).toMatchObject({ stage: 'running', ending: 'deleted' });
    expect(book.current('a')?.ending).toBe('deleted');
    await expect.poll(() => book.current('a'), { timeout: 10_000 }).toBeUndefined();
  });
});
