import { describe, expect, it } from 'vitest';
import type { KubernetesEvent } from './kubernetes.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// Issue 11: 1,000 eventsForPod iterators made 1,000 GETs, 1,000 lists and 1,000 watches. Above the
// sharing threshold they now share one namespace-wide events watch and take existing events from its
// store; their reads of the pod's uid are coalesced like the waits'.

function event(pod: string, uid: string, message: string, resourceVersion = '7'): KubernetesEvent {
  return {
    metadata: { name: `${pod}.${uid}`, namespace: 'default', uid, resourceVersion },
    involvedObject: { kind: 'Pod', name: pod, uid: `pod-uid-${pod}` },
    message,
    count: 1,
  };
}

function pull(iterator: AsyncIterableIterator<string>) {
  const state = { messages: [] as string[], done: false, error: undefined as unknown };
  void (async () => {
    try {
      for await (const message of { [Symbol.asyncIterator]: () => iterator }) state.messages.push(message);
    } catch (error) {
      state.error = error;
    }
    state.done = true;
  })();
  return state;
}

function setup(podCount: number) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  const pods = Array.from({ length: podCount }, (_, index) => `pod-${index}`);
  transport.objects.pods = pods.map((name) => podObject(name, `pod-uid-${name}`, '5'));
  transport.objects.events = pods.map((name, index) => event(name, `e${index}`, `scheduled ${name}`));
  const storage = createPodStorage(transport, { clock, random: noJitter });
  return { clock, transport, storage, pods };
}

describe('many eventsForPod iterations in one namespace', () => {
  it('share one events watch and no list of their own', async () => {
    const { transport, storage, pods } = setup(200);
    const iterations = pods.map((name) => pull(storage.eventsForPod(name, 'default', 600_000)));
    await turns();
    const eventCalls = transport.calls.filter((call) => call.resource === 'events');
    const watches = eventCalls.filter((call) => call.verb === 'watch');
    const lists = eventCalls.filter((call) => call.verb === 'list');
    // Before: 200 lists and 200 watches of events, and 200 GETs of pods.
    expect(watches.length).toBeLessThanOrEqual(3);
    expect(lists.length).toBeLessThanOrEqual(3);
    expect(transport.callsOf('get')).toHaveLength(0);
    expect(transport.calls.filter((call) => call.verb === 'list' && call.resource === 'pods')).toHaveLength(
      1,
    );
    expect(iterations.map((iteration) => iteration.messages)).toEqual(
      pods.map((name) => [`scheduled ${name}`]),
    );
    // New events reach the iteration of their pod only, once.
    const shared = transport.streams.find(
      (stream) => stream.resource === 'events' && stream.options.fieldSelector === undefined,
    );
    shared?.send('ADDED', event('pod-7', 'e-new', 'started pod-7', '30'));
    shared?.send('ADDED', event('pod-7', 'e-new', 'started pod-7', '30'));
    await turns();
    expect(iterations[7]?.messages).toEqual(['scheduled pod-7', 'started pod-7']);
    expect(iterations[8]?.messages).toEqual(['scheduled pod-8']);
    await storage.close();
  });

  it('joining a synced shared watch take the existing events from its store', async () => {
    const { transport, storage, pods } = setup(10);
    const first = pods.slice(0, 3).map((name) => pull(storage.eventsForPod(name, 'default', 600_000)));
    await turns();
    const before = transport.calls.filter((call) => call.resource === 'events').length;
    const late = pull(storage.eventsForPod('pod-9', 'default', 600_000));
    await turns();
    expect(late.messages).toEqual(['scheduled pod-9']);
    expect(transport.calls.filter((call) => call.resource === 'events').length).toBe(before);
    expect(first[2]?.messages).toEqual(['scheduled pod-2']);
    await storage.close();
  });
});

describe('eventsForPod with untilPodFinishes', () => {
  it('ends a grace after the pod finished, having yielded the events that landed in it', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport();
    transport.objects.pods = [podObject('web', 'pod-uid-web', '5', 'Running')];
    transport.objects.events = [event('web', 'e1', 'Started container main')];
    const storage = createPodStorage(transport, { clock, random: noJitter, finishedPodEventsGraceMs: 2_000 });
    const iteration = pull(storage.eventsForPod('web', 'default', 600_000, { untilPodFinishes: true }));
    await turns();
    expect(iteration.messages).toEqual(['Started container main']);
    const podStream = transport.streams.find((stream) => stream.resource === 'pods');
    const eventStream = transport.streams.find((stream) => stream.resource === 'events');
    podStream?.send('MODIFIED', podObject('web', 'pod-uid-web', '20', 'Succeeded'));
    await turns();
    // Recorded as the container ended, it reaches the events watch a moment after the phase change.
    await advance(clock, 1_000);
    eventStream?.send('ADDED', event('web', 'e2', 'Container main completed', '21'));
    await turns();
    expect(iteration.done).toBe(false);
    await advance(clock, 1_100);
    expect(iteration.done).toBe(true);
    expect(iteration.error).toBeUndefined();
    expect(iteration.messages).toEqual(['Started container main', 'Container main completed']);
    await turns();
    expect(transport.streams.every((stream) => stream.signal.aborted)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await storage.close();
  });

  it('ends after the existing events when the pod has already finished or is gone', async () => {
    for (const pods of [[podObject('web', 'pod-uid-web', '5', 'Failed')], []]) {
      const clock = new ManualClock();
      const transport = new ScriptedTransport();
      transport.objects.pods = pods;
      transport.objects.events = [event('web', 'e1', 'Back-off restarting failed container')];
      const storage = createPodStorage(transport, { clock, random: noJitter });
      const iteration = pull(storage.eventsForPod('web', 'default', 600_000, { untilPodFinishes: true }));
      await turns();
      expect(iteration.messages).toEqual(['Back-off restarting failed container']);
      await advance(clock, 1_100);
      expect(iteration.done).toBe(true);
      await storage.close();
    }
  });

  it('ends when the pod is deleted or replaced by another of its name, not when it starts running', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport();
    transport.objects.pods = [podObject('web', 'pod-uid-web', '5', 'Pending')];
    const storage = createPodStorage(transport, { clock, random: noJitter });
    const iteration = pull(storage.eventsForPod('web', 'default', 600_000, { untilPodFinishes: true }));
    await turns();
    const podStream = transport.streams.find((stream) => stream.resource === 'pods');
    podStream?.send('MODIFIED', podObject('web', 'pod-uid-web', '20', 'Running'));
    await advance(clock, 5_000);
    expect(iteration.done).toBe(false);
    podStream?.send('ADDED', podObject('web', 'another-uid', '30', 'Pending'));
    await advance(clock, 1_100);
    expect(iteration.done).toBe(true);
    await storage.close();
  });

  it('without it, runs on after the pod finished', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport();
    transport.objects.pods = [podObject('web', 'pod-uid-web', '5', 'Succeeded')];
    const storage = createPodStorage(transport, { clock, random: noJitter });
    const iteration = pull(storage.eventsForPod('web', 'default', 600_000));
    await advance(clock, 10_000, 1_000);
    expect(iteration.done).toBe(false);
    expect(transport.streams.filter((stream) => stream.resource === 'pods')).toHaveLength(0);
    await storage.close();
  });
});
