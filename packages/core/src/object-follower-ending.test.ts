import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Pod } from './kubernetes.js';
import { followObject } from './object-follower.js';
import type { WatchSubscriber, WatchSubscription } from './watch-engine.js';

// How a follow ends: with a decision, an error of the read, of decide or of the watch, or the signal;
// each way leaves the watch and the signal as it found them, and nothing runs after the end.

const turns = async (count = 20) => {
  for (let turn = 0; turn < count; turn += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

const running: Pod = {
  metadata: { name: 'web', uid: 'u1', resourceVersion: '2' },
  status: { phase: 'Running' },
};

/** A subscription that records how often it was closed, and hands the subscriber to the test. */
function recordingWatch(fresh: boolean) {
  const watch = {
    closed: 0,
    subscriber: undefined as WatchSubscriber<Pod> | undefined,
    subscribe(subscriber: WatchSubscriber<Pod>): WatchSubscription<Pod> {
      watch.subscriber = subscriber;
      return {
        fresh,
        get: () => undefined,
        close: () => {
          watch.closed += 1;
        },
      };
    },
  };
  return watch;
}

describe('followObject ends', () => {
  it('with the signal: rejects with its reason, closes the watch, and ignores a read that answers later', async () => {
    const watch = recordingWatch(false);
    let answer: ((pod: Pod) => void) | undefined;
    let decisions = 0;
    const controller = new AbortController();
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => watch.subscribe(subscriber),
        read: () =>
          new Promise<Pod>((resolve) => {
            answer = resolve;
          }),
        signal: controller.signal,
      },
      () => {
        decisions += 1;
        return 'decided';
      },
    );
    await turns();
    const reason = new Error('the caller stopped');
    controller.abort(reason);
    await expect(following).rejects.toBe(reason);
    expect(watch.closed).toBe(1);
    answer?.(running);
    await turns();
    expect(decisions).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('with a decision: leaves no listener on the signal', async () => {
    const watch = recordingWatch(true);
    const signal = new AbortController().signal;
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => watch.subscribe(subscriber),
        read: async () => running,
        signal,
      },
      (state) => state?.status?.phase,
    );
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    watch.subscriber?.onSync(new Map([['web', running]]), { fresh: true, related: () => [] });
    await expect(following).resolves.toBe('Running');
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(watch.closed).toBe(1);
  });

  it('with the error decide throws', async () => {
    const watch = recordingWatch(true);
    const broken = new Error('decide failed');
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => watch.subscribe(subscriber),
        read: async () => running,
        signal: new AbortController().signal,
      },
      () => {
        throw broken;
      },
    );
    watch.subscriber?.onSync(new Map([['web', running]]), { fresh: true, related: () => [] });
    await expect(following).rejects.toBe(broken);
    expect(watch.closed).toBe(1);
  });

  it('with the error of a failed read', async () => {
    const watch = recordingWatch(false);
    const failed = new Error('read failed');
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => watch.subscribe(subscriber),
        read: async () => {
          throw failed;
        },
        signal: new AbortController().signal,
      },
      () => undefined,
    );
    await expect(following).rejects.toBe(failed);
    expect(watch.closed).toBe(1);
  });

  it('with the error of a watch that cannot be joined', async () => {
    const closed = new Error('storage closed');
    let reads = 0;
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: () => {
          throw closed;
        },
        read: async () => {
          reads += 1;
          return running;
        },
        signal: new AbortController().signal,
      },
      () => 'decided',
    );
    await expect(following).rejects.toBe(closed);
    expect(reads).toBe(0);
  });

  it('inside subscribe, when the first view decides at once: the watch is still left', async () => {
    let closed = 0;
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => {
          subscriber.onSync(new Map([['web', running]]), { fresh: true, related: () => [] });
          return {
            fresh: true,
            get: () => running,
            close: () => {
              closed += 1;
            },
          };
        },
        read: async () => running,
        signal: new AbortController().signal,
      },
      (state) => state?.status?.phase,
    );
    await expect(following).resolves.toBe('Running');
    expect(closed).toBe(1);
  });

  it('hands decide a state without metadata as it is', async () => {
    const watch = recordingWatch(false);
    const bare = { status: { phase: 'Succeeded' } } as Pod;
    const following = followObject<Pod, string>(
      {
        name: 'web',
        subscribe: (subscriber) => watch.subscribe(subscriber),
        read: async () => bare,
        signal: new AbortController().signal,
      },
      (state) => state?.status?.phase,
    );
    await expect(following).resolves.toBe('Succeeded');
  });
});
