import { describe, expect, it } from 'vitest';
import { KubernetesError, PodStorageError, PodTimeoutError } from './errors.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';
import { Timeout } from './timeout.js';

// A wait whose timeout expires reads its pod once more (the watch may have stalled) and decides from
// that read, or rejects with a PodTimeoutError that says what timed out and what was seen.

function setup() {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('web', 'u1', '5')];
  const storage = createPodStorage(transport, { clock, random: noJitter });
  return { clock, transport, storage };
}

/** A request that never answers, and rejects with its signal's reason once that aborts. */
const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('a wait that times out', () => {
  it('rejects with a PodTimeoutError naming the operation and the last phase seen', async () => {
    const { clock, transport, storage } = setup();
    const waiting = rejection(storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] }));
    await advance(clock, 10_000, 1_000);
    const error = await waiting;
    expect(PodTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      operation: 'waitForPhase pod default/web',
      lastPhase: 'Pending',
      elapsedMs: 10_000,
      message: 'waitForPhase pod default/web timed out after 10000 ms (last phase seen: Pending)',
    });
    expect((error as Error).cause).toBeUndefined();
    // The final read was made, and found the pod still Pending.
    expect(transport.callsOf('get')).toHaveLength(1);
  });

  it('deleteAfterCompletion names itself, and deletes nothing', async () => {
    const { clock, transport, storage } = setup();
    const deleting = rejection(storage.deleteAfterCompletion('web', 'default', 10_000));
    await advance(clock, 10_000, 1_000);
    expect(await deleting).toMatchObject({
      name: 'PodTimeoutError',
      operation: 'deleteAfterCompletion pod default/web',
      lastPhase: 'Pending',
    });
    expect(transport.callsOf('delete')).toEqual([]);
  });

  it('gives the final read its own bound, and says so in the cause when it runs out', async () => {
    const { clock, transport, storage } = setup();
    transport.onGet = (call) => hang(call.options.signal);
    const waiting = rejection(storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] }));
    await advance(clock, 10_000 + 5_000, 1_000);
    const error = await waiting;
    expect(PodTimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).cause).toMatchObject({
      name: 'TimeoutError',
      message: 'final read of pod default/web timed out',
    });
  });

  it("rejects with the caller's reason when the caller aborts during the final read", async () => {
    const { clock, transport, storage } = setup();
    transport.onGet = (call) => hang(call.options.signal);
    const controller = new AbortController();
    const waiting = rejection(
      storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'], signal: controller.signal }),
    );
    await advance(clock, 10_000, 1_000);
    expect(transport.callsOf('get')).toHaveLength(1);
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    await turns();
    expect(await waiting).toBe(reason);
  });

  it('rejects with the closed error when the storage is closed during the final read', async () => {
    const { clock, transport, storage } = setup();
    transport.onGet = (call) => hang(call.options.signal);
    const waiting = rejection(storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] }));
    await advance(clock, 10_000, 1_000);
    expect(transport.callsOf('get')).toHaveLength(1);
    await storage.close();
    const error = await waiting;
    expect(PodStorageError.isInstance(error) && error.message).toBe('PodStorage was closed');
  });

  it('resolves null when the final read finds another pod under the name', async () => {
    const { clock, transport, storage } = setup();
    const waiting = storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] });
    await turns();
    // Replaced while the watch said nothing.
    transport.objects.pods = [podObject('web', 'u2', '9', 'Succeeded')];
    await advance(clock, 10_000, 1_000);
    await expect(waiting).resolves.toBeNull();
  });

  it('decides from the final read when it never saw the pod before', async () => {
    const { clock, transport, storage } = setup();
    let lists = 0;
    transport.onList = () => {
      lists += 1;
      throw new KubernetesError(503, 'ServiceUnavailable', 'etcd is busy');
    };
    transport.objects.pods = [podObject('web', 'u2', '9', 'Succeeded')];
    const waiting = storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] });
    await advance(clock, 10_000, 100);
    expect(lists).toBeGreaterThan(1);
    await expect(waiting).resolves.toBe('Succeeded');
  });

  it('treats a final error that arrives as the deadline passes as that error, not as the timeout', async () => {
    const { clock, transport, storage } = setup();
    let refuse: (() => void) | undefined;
    transport.onList = () =>
      new Promise((_, reject) => {
        refuse = () => reject(new KubernetesError(403, 'Forbidden', 'no'));
      });
    const waiting = rejection(storage.waitForPhase('web', 'default', 10_000, { untilNot: ['Pending'] }));
    await turns();
    // The event loop was busy: the deadline passed without its timer having run yet.
    clock.set(10_000);
    refuse?.();
    const error = await waiting;
    expect(KubernetesError.isInstance(error) && error.code).toBe(403);
    expect(transport.callsOf('get')).toEqual([]);
  });
});

describe("a caller's own Timeout", () => {
  it('still fires at its deadline after a wait under it ended early', async () => {
    const { clock, transport, storage } = setup();
    transport.objects.pods = [podObject('web', 'u1', '5', 'Running')];
    const timeout = new Timeout('my job', 10_000, { clock });
    await expect(storage.waitForPhase('web', 'default', timeout, { untilNot: ['Pending'] })).resolves.toBe(
      'Running',
    );
    await advance(clock, 10_000, 1_000);
    expect(timeout.signal.aborted).toBe(true);
  });

  it('still fires at its deadline after an eventsForPod under it was stopped', async () => {
    const { clock, transport, storage } = setup();
    transport.objects.events = [
      {
        metadata: { name: 'web.1', namespace: 'default', uid: 'e1', resourceVersion: '6' },
        involvedObject: { kind: 'Pod', name: 'web', uid: 'u1' },
        message: 'Scheduled',
      },
    ];
    const timeout = new Timeout('my job', 10_000, { clock });
    const signal = timeout.signal;
    for await (const message of storage.eventsForPod('web', 'default', timeout)) {
      expect(message).toBe('Scheduled');
      break;
    }
    await advance(clock, 10_000, 1_000);
    expect(signal.aborted).toBe(true);
  });
});
