import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PodStorageError } from './errors.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';
import { Timeout } from './timeout.js';

// A wait holds as little as it can (issue 11: 10,000 armed waits are what a garbage collection copies),
// so its own deadline is its only abort source and the storage's closing reaches it through the watch.
// What a caller shares among many waits (one AbortSignal, one Timeout) must still end every one of
// them, without a listener per wait on it (Node keeps an EventTarget's listeners in a list: each
// removal searches it), and closing the storage must end waits in every state.

const WAITS = 2_000;

function setup() {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  transport.objects.pods = Array.from({ length: WAITS }, (_, index) =>
    podObject(`pod-${index}`, `u${index}`, String(100 + index)),
  );
  const storage = createPodStorage(transport, { clock, random: noJitter });
  return { clock, transport, storage };
}

const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (reason: unknown) => ({ reason }),
  );

describe('waits that share what the caller gave them', () => {
  it('one AbortSignal for all: no listener per wait, and aborting it rejects each with its reason', async () => {
    const { transport, storage } = setup();
    const controller = new AbortController();
    const waits = Array.from({ length: WAITS }, (_, index) =>
      settle(
        storage.waitForPhase(`pod-${index}`, 'default', 600_000, {
          untilNot: ['Pending'],
          signal: controller.signal,
        }),
      ),
    );
    await turns();
    expect(transport.streams).toHaveLength(1);
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    for (const outcome of await Promise.all(waits)) expect(outcome).toEqual({ reason });
    await storage.close();
  });

  it('one Timeout for all: no listener per wait, and its expiry rejects each with PodTimeoutError', async () => {
    const { clock, storage } = setup();
    const deadline = new Timeout('the batch', 1_000, { clock });
    const waits = Array.from({ length: WAITS }, (_, index) =>
      settle(storage.waitForPhase(`pod-${index}`, 'default', deadline, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(getEventListeners(deadline.signal, 'abort').length).toBeLessThanOrEqual(1);
    await clock.advance(1_000);
    const outcomes = await Promise.all(waits);
    expect(outcomes.every((outcome) => 'reason' in outcome && outcome.reason instanceof Error)).toBe(true);
    expect(
      new Set(outcomes.map((outcome) => ('reason' in outcome ? (outcome.reason as Error).name : ''))),
    ).toEqual(new Set(['PodTimeoutError']));
    await storage.close();
  });

  it('close() ends waits armed on the watch, waits still reading, and waits not yet subscribed', async () => {
    const { transport, storage } = setup();
    // Armed on the synced shared watch.
    const armed = Array.from({ length: 10 }, (_, index) =>
      settle(storage.waitForPhase(`pod-${index}`, 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.streams).toHaveLength(1);
    // Late joiners whose read hangs: they read because they joined a synced watch.
    transport.onGet = ({ options }) =>
      new Promise((_, reject) => {
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
      });
    const reading = [settle(storage.waitForPhase('pod-20', 'default', 600_000, { untilNot: ['Pending'] }))];
    await turns();
    expect(transport.callsOf('get')).toHaveLength(1);
    // Started in the same turn as close(): not subscribed yet.
    const unsubscribed = [
      settle(storage.waitForPhase('pod-30', 'default', 600_000, { untilNot: ['Pending'] })),
    ];
    const closing = storage.close();
    for (const outcome of await Promise.all([...armed, ...reading, ...unsubscribed])) {
      expect('reason' in outcome && outcome.reason).toBeInstanceOf(PodStorageError);
      expect(String((outcome as { reason: Error }).reason.message)).toBe('PodStorage was closed');
    }
    await closing;
  });
});
