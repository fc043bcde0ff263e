import { describe, expect, it } from 'vitest';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// Waits share one namespace-wide watch only while enough of them run at once: the count goes down as
// waits end, so single waits later on watch just their pod again.

function setup(sharedWatchThreshold: number) {
  const transport = new ScriptedTransport();
  transport.objects.pods = ['p1', 'p2', 'p3', 'p4'].map((name, index) =>
    podObject(name, `u${index + 1}`, String(index + 1)),
  );
  const storage = createPodStorage(transport, {
    clock: new ManualClock(),
    random: noJitter,
    sharedWatchThreshold,
  });
  const streamOf = (name: string) => {
    const stream = transport.streams.find(
      (candidate) => candidate.options.fieldSelector?.['metadata.name'] === name,
    );
    if (stream === undefined) throw new Error(`no watch of ${name}`);
    return stream;
  };
  const selectors = () =>
    transport.callsOf('watch').map((call) => (call.options as { fieldSelector?: object }).fieldSelector);
  return { transport, storage, streamOf, selectors };
}

describe('the namespace-wide watch for many waits', () => {
  it('is chosen by waits started together, even the first of them', async () => {
    const { storage, selectors } = setup(3);
    const waits = ['p1', 'p2', 'p3'].map((name) =>
      storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] }),
    );
    await turns();
    // Before: p1 and p2 each opened a watch of their own (below the threshold when they started).
    expect(selectors()).toEqual([undefined]);
    await storage.close();
    await Promise.allSettled(waits);
  });

  it('is not used by waits that run one after the other', async () => {
    const { storage, streamOf, selectors } = setup(2);
    for (const name of ['p1', 'p2', 'p3']) {
      const waiting = storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] });
      await turns();
      streamOf(name).send('MODIFIED', podObject(name, `u${name.slice(1)}`, '20', 'Running'));
      await expect(waiting).resolves.toBe('Running');
      await turns();
    }
    expect(selectors()).toEqual([
      { 'metadata.name': 'p1' },
      { 'metadata.name': 'p2' },
      { 'metadata.name': 'p3' },
    ]);
    await storage.close();
  });

  it('is used by the wait that makes the threshold, counting only the waits still running', async () => {
    const { storage, streamOf, selectors } = setup(3);
    const waits = ['p1', 'p2'].map((name) =>
      storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] }),
    );
    await turns();
    streamOf('p1').send('MODIFIED', podObject('p1', 'u1', '20', 'Running'));
    await expect(waits[0]).resolves.toBe('Running');
    await turns();
    const later = [];
    for (const name of ['p3', 'p4']) {
      later.push(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] }));
      await turns();
    }
    // p1 is done: with p2, p3 makes two running waits, each its own; p4 makes three, which share.
    expect(selectors()).toEqual([
      { 'metadata.name': 'p1' },
      { 'metadata.name': 'p2' },
      { 'metadata.name': 'p3' },
      undefined,
    ]);
    await storage.close();
    await Promise.allSettled([...waits, ...later]);
  });
});
