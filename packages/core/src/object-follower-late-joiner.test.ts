import { describe, expect, it } from 'vitest';
import type { Pod } from './kubernetes.js';
import { type Decide, followObject } from './object-follower.js';
import type { StoreChange, WatchSubscriber, WatchSubscription } from './watch-engine.js';

// The consistency contract of a late joiner (issue 9, defects 4, 8 and 9), against a scripted watch:
// the test says what the watch holds and reports, and what each read of the object returns.

const NAME = 'web';

function pod(uid: string, resourceVersion: string, phase: string): Pod {
  return { metadata: { name: NAME, uid, resourceVersion }, status: { phase } };
}

/** Like a wait with `untilNot: ['Pending']`: gone → 'gone', Pending → go on, anything else → its phase. */
const untilNotPending: Decide<Pod, string> = (state) => {
  if (state === undefined) return 'gone';
  const phase = state.status?.phase ?? 'Pending';
  return phase === 'Pending' ? undefined : phase;
};

/** Like a wait with `untilNot: ['Running']`. */
const untilNotRunning: Decide<Pod, string> = (state) => {
  if (state === undefined) return 'gone';
  const phase = state.status?.phase ?? 'Pending';
  return phase === 'Running' ? undefined : phase;
};

/**
 * A shared watch as the follower sees it. `fresh`: the consumer's first view comes from a list sent
 * after it joined. `synced`: the watch has a view already (handed over inside `subscribe`), holding `held`.
 */
function scriptedWatch(setup: { fresh: boolean; synced: boolean; held?: Pod[] }) {
  const held = new Map<string, Pod>((setup.held ?? []).map((object) => [NAME, object]));
  let subscriber: WatchSubscriber<Pod> | undefined;
  const watch = {
    closed: 0,
    subscribe(next: WatchSubscriber<Pod>): WatchSubscription<Pod> {
      subscriber = next;
      const subscription: WatchSubscription<Pod> = {
        fresh: setup.fresh,
        get: (name) => held.get(name),
        close: () => {
          watch.closed += 1;
          subscriber = undefined;
        },
      };
      if (setup.synced) next.onSync(held, { fresh: false, related: () => [] });
      return subscription;
    },
    /** The watch's first view (for a watch that was not synced when the consumer joined). */
    sync(objects: Pod[], fresh: boolean): void {
      held.clear();
      for (const object of objects) held.set(NAME, object);
      subscriber?.onSync(held, { fresh, related: () => [] });
    },
    report(type: StoreChange<Pod>['type'], object: Pod): void {
      if (type === 'DELETED') held.delete(NAME);
      else held.set(NAME, object);
      subscriber?.onChange({ type, object });
    },
    /** A change of another object of the watch (held under its own name). */
    reportOther(type: StoreChange<Pod>['type'], object: Pod): void {
      subscriber?.onChange({ type, object });
    },
    get subscribed(): boolean {
      return subscriber !== undefined;
    },
  };
  return watch;
}

/**
 * Reads of the object: each answers with the state the test had set when the read was sent (as a server
 * answers a GET), at once or, while `held`, when the test calls `release()`.
 */
function scriptedReads(initial: Pod | undefined) {
  let state = initial;
  const pending: (() => void)[] = [];
  const reads = {
    started: 0,
    inFlight: 0,
    /** When true, reads wait for `release()`; otherwise they answer at once. */
    held: false,
    set(next: Pod | undefined) {
      state = next;
    },
    release() {
      for (const answer of pending.splice(0)) answer();
    },
    read: (_signal: AbortSignal): Promise<Pod | undefined> => {
      reads.started += 1;
      reads.inFlight += 1;
      const snapshot = state;
      const answer = () => {
        reads.inFlight -= 1;
        return snapshot;
      };
      if (!reads.held) return Promise.resolve().then(answer);
      return new Promise((resolve) => pending.push(() => resolve(answer())));
    },
  };
  return reads;
}

const turns = async (count = 20) => {
  for (let turn = 0; turn < count; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

function tracked<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; reason?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (reason) => Object.assign(state, { settled: true, reason }),
  );
  return state;
}

function follow(
  watch: ReturnType<typeof scriptedWatch>,
  reads: ReturnType<typeof scriptedReads>,
  decide: Decide<Pod, string> = untilNotPending,
  signal = new AbortController().signal,
) {
  return followObject<Pod, string>(
    { name: NAME, subscribe: (subscriber) => watch.subscribe(subscriber), read: reads.read, signal },
    decide,
  );
}

describe('followObject: a consumer whose view is fresh', () => {
  it('trusts the watch: decides from its changes without reading the object', async () => {
    const watch = scriptedWatch({ fresh: true, synced: false });
    const reads = scriptedReads(undefined);
    const result = tracked(follow(watch, reads));
    watch.sync([pod('u1', '1', 'Pending')], true);
    await turns();
    expect(result.settled).toBe(false);
    watch.report('MODIFIED', pod('u1', '2', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(0);
    expect(watch.closed).toBe(1);
  });

  it('takes no change of another object for its own, even from a watch that hands it every change', async () => {
    // The engine routes changes by key; a consumer of every change (a custom backend's watch, a
    // namespace-wide subscriber) hands the follower the changes of other pods too.
    const watch = scriptedWatch({ fresh: true, synced: false });
    const reads = scriptedReads(undefined);
    const result = tracked(follow(watch, reads));
    watch.sync([pod('u1', '1', 'Pending')], true);
    const other: Pod = {
      metadata: { name: 'db', uid: 'u9', resourceVersion: '2' },
      status: { phase: 'Running' },
    };
    watch.reportOther('MODIFIED', other);
    await turns();
    expect(result.settled).toBe(false);
    watch.report('MODIFIED', pod('u1', '3', 'Succeeded'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Succeeded' });
  });
});

describe('followObject: a consumer that joins a watch already listing or synced', () => {
  it('reads once, and trusts the watch at once when it holds the very version read', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [pod('u1', '5', 'Pending')] });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    const result = tracked(follow(watch, reads));
    await turns();
    expect(reads.started).toBe(1);
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(1);
  });

  it('reads again for a state it cannot place, and trusts the watch once it reports the version read', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [pod('u1', '3', 'Pending')] });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    const result = tracked(follow(watch, reads));
    await turns();
    // The join only: the view handed over on joining is older than the read that follows it.
    expect(reads.started).toBe(1);
    watch.report('MODIFIED', pod('u1', '4', 'Pending'));
    await turns();
    expect(reads.started).toBe(2);
    watch.report('MODIFIED', pod('u1', '5', 'Pending'));
    await turns();
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(2);
  });

  it('never decides from a state older than its read: an older one sends it to read again', async () => {
    // The pod was created after the watch's view and is Running; the lagging watch then reports its
    // creation, Pending, which is outside untilNot: deciding from it would be wrong.
    const watch = scriptedWatch({ fresh: false, synced: true, held: [] });
    const reads = scriptedReads(pod('u1', '5', 'Running'));
    const result = tracked(follow(watch, reads, untilNotRunning));
    await turns();
    watch.report('ADDED', pod('u1', '3', 'Pending'));
    await turns();
    expect(result.settled).toBe(false);
    watch.report('MODIFIED', pod('u1', '5', 'Running'));
    watch.report('MODIFIED', pod('u1', '6', 'Succeeded'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Succeeded' });
  });

  it('drops what was queued behind a change that sends it to read again: the new read covers it', async () => {
    const watch = scriptedWatch({ fresh: false, synced: false });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    reads.held = true;
    const result = tracked(follow(watch, reads));
    // While the first read is out, the watch lists (a view older than the read) and reports a change.
    watch.sync([pod('u1', '3', 'Pending')], false);
    watch.report('MODIFIED', pod('u1', '4', 'Pending'));
    await turns();
    expect(reads.started).toBe(1);
    expect(reads.inFlight).toBe(1);
    reads.release();
    await turns();
    expect(reads.started).toBe(2);
    reads.release();
    await turns();
    expect(reads.started).toBe(2);
    expect(result.settled).toBe(false);
    watch.report('MODIFIED', pod('u1', '5', 'Pending'));
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(2);
  });

  it('never has two reads out at once: changes during a read wait for it', async () => {
    const watch = scriptedWatch({ fresh: false, synced: false });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    reads.held = true;
    const result = tracked(follow(watch, reads));
    watch.report('MODIFIED', pod('u1', '2', 'Pending'));
    watch.report('MODIFIED', pod('u1', '3', 'Pending'));
    await turns();
    expect(reads.started).toBe(1);
    reads.release();
    await turns();
    expect(reads.inFlight).toBeLessThanOrEqual(1);
    reads.release();
    await turns();
    expect(result.settled).toBe(false);
  });

  it('goes on with the changes queued behind the one that caught up with its read', async () => {
    const watch = scriptedWatch({ fresh: false, synced: false });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    reads.held = true;
    const result = tracked(follow(watch, reads));
    // While the read is out, the watch lists exactly what the read returns, then moves on.
    watch.sync([pod('u1', '5', 'Pending')], false);
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    reads.release();
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(1);
  });

  it('a change that arrives during the read is not lost', async () => {
    const watch = scriptedWatch({ fresh: false, synced: false });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    reads.held = true;
    const result = tracked(follow(watch, reads));
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    reads.set(pod('u1', '6', 'Running'));
    await turns();
    reads.release();
    await turns();
    reads.release();
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
  });

  it('trusts the watch at once when it caught up with the read while the read was out', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [pod('u1', '3', 'Pending')] });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    reads.held = true;
    const result = tracked(follow(watch, reads));
    watch.report('MODIFIED', pod('u1', '5', 'Pending'));
    await turns();
    reads.held = false;
    reads.release();
    await turns();
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(1);
  });

  it('follows a pod created while its read was out from a new read', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [] });
    const reads = scriptedReads(undefined);
    reads.held = true;
    const runs: Decide<Pod, string> = (state) => (state?.status?.phase === 'Running' ? 'Running' : undefined);
    const result = tracked(follow(watch, reads, runs));
    watch.report('ADDED', pod('u1', '7', 'Running'));
    reads.set(pod('u1', '7', 'Running'));
    await turns();
    reads.held = false;
    reads.release();
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(2);
  });

  it('follows a pod created while it read, when the watch it joined was still listing', async () => {
    const watch = scriptedWatch({ fresh: false, synced: false });
    const reads = scriptedReads(undefined);
    reads.held = true;
    const runs: Decide<Pod, string> = (state) => (state?.status?.phase === 'Running' ? 'Running' : undefined);
    const result = tracked(follow(watch, reads, runs));
    // While the read is out, the list completes without the pod, and the watch then reports it.
    watch.sync([], false);
    watch.report('ADDED', pod('u1', '7', 'Running'));
    reads.set(pod('u1', '7', 'Running'));
    await turns();
    reads.held = false;
    reads.release();
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
    expect(reads.started).toBe(2);
  });

  it('after reading that its object is gone, hands decide nothing older that a lagging watch reports', async () => {
    // The watch lags behind the pod's whole life: created (3), Running (4), deleted (5). The joiner's
    // read finds it gone; the watch holds nothing either, which is no proof that it caught up.
    const watch = scriptedWatch({ fresh: false, synced: true, held: [] });
    const reads = scriptedReads(undefined);
    const runs: Decide<Pod, string> = (state) => (state?.status?.phase === 'Running' ? 'Running' : undefined);
    const result = tracked(follow(watch, reads, runs));
    await turns();
    expect(reads.started).toBe(1);
    watch.report('ADDED', pod('u1', '3', 'Pending'));
    watch.report('MODIFIED', pod('u1', '4', 'Running'));
    await turns();
    expect(result.settled).toBe(false);
    // Each report of the lagging watch was checked against a new read, not trusted.
    expect(reads.started).toBeGreaterThan(1);
  });

  it('after a read found nothing, a creation the watch reports counts only once a read confirms it', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [] });
    const reads = scriptedReads(undefined);
    const created: Decide<Pod, string> = (state) => state?.metadata?.resourceVersion;
    const result = tracked(follow(watch, reads, created));
    await turns();
    expect(result.settled).toBe(false);
    // Two absences are no version match: the watch may lag behind a pod that came and went.
    reads.set(pod('u1', '7', 'Pending'));
    watch.report('ADDED', pod('u1', '7', 'Pending'));
    await turns();
    expect(result).toEqual({ settled: true, value: '7' });
    expect(reads.started).toBe(2);
  });
});

describe('followObject: deletions', () => {
  it('a deletion of the incarnation followed is final, whatever version it carries: no read after it', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [pod('u1', '3', 'Pending')] });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    const result = tracked(follow(watch, reads));
    await turns();
    const readsBefore = reads.started;
    // A new pod took the name: a read now would see it, Running. The deletion the watch infers (from a
    // relist) carries the older state it held.
    reads.set(pod('u2', '9', 'Running'));
    watch.report('DELETED', pod('u1', '3', 'Pending'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'gone' });
    expect(reads.started).toBe(readsBefore);
  });

  it('a deletion of an older incarnation of the name is old news', async () => {
    const watch = scriptedWatch({ fresh: false, synced: true, held: [pod('u0', '2', 'Succeeded')] });
    const reads = scriptedReads(pod('u1', '5', 'Pending'));
    const result = tracked(follow(watch, reads));
    await turns();
    watch.report('DELETED', pod('u0', '2', 'Succeeded'));
    await turns();
    expect(result.settled).toBe(false);
    watch.report('ADDED', pod('u1', '5', 'Pending'));
    watch.report('MODIFIED', pod('u1', '6', 'Running'));
    await turns();
    expect(result).toEqual({ settled: true, value: 'Running' });
  });
});
