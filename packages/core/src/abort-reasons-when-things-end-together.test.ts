import { describe, expect, it } from 'vitest';
import { PodStorageError } from './errors.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// When several things end an operation in the same instant, the caller learns the one that matters to
// it: its own reason first, then the storage being closed, then the timeout.

function setup() {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('web', 'u1', '5')];
  const storage = createPodStorage(transport, { clock, random: noJitter });
  return { clock, storage };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('an operation ended by several causes at once', () => {
  it("waitForPhase rejects with the caller's reason when close() came first", async () => {
    const { storage } = setup();
    const controller = new AbortController();
    const waiting = rejection(
      storage.waitForPhase('web', 'default', 600_000, { untilNot: ['Pending'], signal: controller.signal }),
    );
    await turns();
    const reason = new Error('the caller gave up');
    void storage.close();
    controller.abort(reason);
    expect(await waiting).toBe(reason);
  });

  it('waitForPhase rejects with the closed error when its deadline passed as the storage closed', async () => {
    const { clock, storage } = setup();
    const waiting = rejection(storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] }));
    await turns();
    clock.advance(10_000);
    void storage.close();
    const error = await waiting;
    expect(PodStorageError.isInstance(error) && error.message).toBe('PodStorage was closed');
  });

  it("watchPodChanges rejects with the caller's reason when close() came first", async () => {
    const { storage } = setup();
    const controller = new AbortController();
    const next = rejection(storage.watchPodChanges('default', { signal: controller.signal }).next());
    await turns();
    const reason = new Error('the caller gave up');
    void storage.close();
    controller.abort(reason);
    expect(await next).toBe(reason);
  });
});
