import { describe, expect, it } from 'vitest';
import type { Pod } from './kubernetes.js';
import { ManualClock } from './test-clock.js';
import { engineSettings, podObject, ScriptedTransport, turns } from './test-transport.js';
import { WatchEngine, type WatchSubscriber } from './watch-engine.js';

// What the consumers of a shared watch see: one first view, then every change once, as StoreChange
// promises it, including the changes the engine infers (a relist, a new uid under a known name).

type Seen =
  | { readonly sync: string[]; readonly view: { readonly fresh: boolean } }
  | { readonly change: string }
  | { readonly error: unknown };

const describeObject = (object: Pod) =>
  `${object.metadata?.name} ${object.metadata?.uid}@${object.metadata?.resourceVersion}`;

/** A consumer that writes down everything the watch tells it. */
function consumer(): WatchSubscriber<Pod> & { readonly seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    onSync: (objects, view) => {
      seen.push({ sync: [...objects.values()].map(describeObject), view: { fresh: view.fresh } });
    },
    onChange: (change) => {
      seen.push({ change: `${change.type} ${describeObject(change.object)}` });
    },
    onError: (error) => {
      seen.push({ error });
    },
  };
}

function setup() {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  const engine = new WatchEngine(transport, engineSettings(clock));
  return { clock, transport, engine };
}

describe('a shared watch hands each consumer one first view', () => {
  it('fresh to the consumer whose list it started, at once and not fresh to one that joins it synced', async () => {
    const { transport, engine } = setup();
    transport.objects.pods = [podObject('web', 'u1', '5')];
    const first = consumer();
    const firstSubscription = engine.subscribe('pods', 'default', undefined, first);
    expect(firstSubscription.fresh).toBe(true);
    await turns();
    expect(first.seen).toEqual([{ sync: ['web u1@5'], view: { fresh: true } }]);
    const late = consumer();
    const lateSubscription = engine.subscribe('pods', 'default', undefined, late);
    // Inside subscribe, before it returns: the late consumer's view is the watch's current one.
    expect(late.seen).toEqual([{ sync: ['web u1@5'], view: { fresh: false } }]);
    expect(lateSubscription.fresh).toBe(false);
    expect(lateSubscription.get('web')?.metadata?.resourceVersion).toBe('5');
    expect(transport.callsOf('list')).toHaveLength(1);
  });

  it('when the list completes, not fresh to a consumer that joined while it was running', async () => {
    const { transport, engine } = setup();
    let answer: (() => void) | undefined;
    transport.onList = () =>
      new Promise((resolve) => {
        answer = () => resolve({ metadata: { resourceVersion: '5' }, items: [podObject('web', 'u1', '5')] });
      });
    const first = consumer();
    engine.subscribe('pods', 'default', undefined, first);
    await turns();
    const joiner = consumer();
    const subscription = engine.subscribe('pods', 'default', undefined, joiner);
    expect(subscription.fresh).toBe(false);
    expect(joiner.seen).toEqual([]);
    answer?.();
    await turns();
    expect(first.seen).toEqual([{ sync: ['web u1@5'], view: { fresh: true } }]);
    expect(joiner.seen).toEqual([{ sync: ['web u1@5'], view: { fresh: false } }]);
  });

  it('not to a consumer that left during the first view of another', async () => {
    const { transport, engine } = setup();
    transport.objects.pods = [podObject('web', 'u1', '5')];
    let leaving: { close(): void } | undefined;
    const first: WatchSubscriber<Pod> = {
      onSync: () => leaving?.close(),
      onChange: () => {},
      onError: () => {},
    };
    engine.subscribe('pods', 'default', undefined, first);
    const second = consumer();
    leaving = engine.subscribe('pods', 'default', undefined, second);
    await turns();
    expect(second.seen).toEqual([]);
  });
});

describe('a shared watch reports each change once', () => {
  it('as the stream sends it, and infers what it does not say', async () => {
    const { transport, engine } = setup();
    transport.objects.pods = [podObject('web', 'u1', '5')];
    const watcher = consumer();
    const subscription = engine.subscribe('pods', 'default', undefined, watcher);
    await turns();
    const stream = transport.stream;
    stream.send('ADDED', podObject('api', 'u2', '11'));
    // A minimal server may leave the resourceVersion out: the object is still news.
    stream.send('ADDED', { metadata: { name: 'bare', uid: 'u7' } });
    stream.send('MODIFIED', podObject('web', 'u1', '12', 'Running'));
    await turns();
    expect(subscription.get('web')?.metadata?.resourceVersion).toBe('12');
    // The same version again (a replay after a resume) is nothing new.
    stream.send('MODIFIED', podObject('web', 'u1', '12', 'Running'));
    // A deletion of something the watch never held is old news.
    stream.send('DELETED', podObject('ghost', 'u9', '13'));
    // A new uid under a known name: the old pod is gone, even though its DELETED never came.
    stream.send('ADDED', podObject('web', 'u3', '14'));
    // A late deletion of the incarnation replaced just now is old news too.
    stream.send('DELETED', podObject('web', 'u1', '15'));
    await turns();
    expect(subscription.get('web')?.metadata?.uid).toBe('u3');
    stream.send('DELETED', podObject('web', 'u3', '16'));
    // Objects without a name (or without metadata at all) cannot be kept: they are skipped.
    stream.send('MODIFIED', { metadata: { resourceVersion: '17' } });
    stream.send('MODIFIED', {} as Pod);
    await turns();
    expect(subscription.get('web')).toBeUndefined();
    expect(watcher.seen.slice(1)).toEqual([
      { change: 'ADDED api u2@11' },
      { change: 'ADDED bare u7@undefined' },
      { change: 'MODIFIED web u1@12' },
      { change: 'DELETED web u1@12' },
      { change: 'ADDED web u3@14' },
      { change: 'DELETED web u3@16' },
    ]);
    // None of it broke the stream.
    expect(transport.streams).toHaveLength(1);
    expect(stream.signal.aborted).toBe(false);
  });

  it('after a relist, as the differences from what it held', async () => {
    const { transport, engine } = setup();
    transport.objects.pods = [
      podObject('same', 'u1', '5'),
      podObject('changed', 'u2', '6'),
      podObject('replaced', 'u3', '7'),
      podObject('gone', 'u4', '8'),
    ];
    const watcher = consumer();
    engine.subscribe('pods', 'default', undefined, watcher);
    await turns();
    transport.objects.pods = [
      podObject('same', 'u1', '5'),
      podObject('changed', 'u2', '20', 'Running'),
      podObject('replaced', 'u30', '21'),
      podObject('new', 'u5', '22'),
    ];
    transport.resourceVersion = '22';
    transport.stream.error({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    await turns();
    // Page by page as the list arrives (a replaced pod's deletion just before its successor), then the
    // deletions of what no page had: the store never holds a second copy of the namespace.
    expect(watcher.seen.slice(1)).toEqual([
      { change: 'MODIFIED changed u2@20' },
      { change: 'DELETED replaced u3@7' },
      { change: 'ADDED replaced u30@21' },
      { change: 'ADDED new u5@22' },
      { change: 'DELETED gone u4@8' },
    ]);
    expect(engine.counters()).toMatchObject({ lists: 2, relists: 1 });
  });

  it('not to a consumer that left while another was being told', async () => {
    const { transport, engine } = setup();
    let leaving: { close(): void } | undefined;
    const first: WatchSubscriber<Pod> = {
      onSync: () => {},
      onChange: () => leaving?.close(),
      onError: () => {},
    };
    engine.subscribe('pods', 'default', undefined, first);
    const second = consumer();
    leaving = engine.subscribe('pods', 'default', undefined, second);
    await turns();
    transport.stream.send('ADDED', podObject('web', 'u1', '11'));
    await turns();
    // It joined in the same turn as the first: the first list, sent on the next turn, is fresh to both.
    expect(second.seen).toEqual([{ sync: [], view: { fresh: true } }]);
  });

  it('to a consumer that joined again, however often its old subscription is closed', async () => {
    const { transport, engine } = setup();
    engine.subscribe('pods', 'default', undefined, consumer());
    await turns();
    const returning = consumer();
    const old = engine.subscribe('pods', 'default', undefined, returning);
    old.close();
    engine.subscribe('pods', 'default', undefined, returning);
    old.close();
    transport.stream.send('ADDED', podObject('web', 'u1', '11'));
    await turns();
    expect(returning.seen.at(-1)).toEqual({ change: 'ADDED web u1@11' });
  });
});
