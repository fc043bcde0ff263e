import { describe, expect, it } from 'vitest';
import type { KubernetesEvent, Pod } from './kubernetes.js';
import { ManualClock } from './test-clock.js';
import { engineSettings, podObject, ScriptedTransport, turns } from './test-transport.js';
import { WatchEngine, type WatchSubscriber } from './watch-engine.js';

// Issue 11: every change went to every consumer of a watch (10,000 changes x 10,000 waits = 10^8
// callbacks). Consumers keyed by the object they follow now get only its changes.

function counting<T>(): WatchSubscriber<T> & { changes: number } {
  const subscriber = {
    changes: 0,
    onSync: () => {},
    onChange: () => {
      subscriber.changes += 1;
    },
    onError: () => {},
  };
  return subscriber;
}

describe('a shared watch hands a change', () => {
  it('to the consumers of its key and to those of every change, and to no one else', async () => {
    const transport = new ScriptedTransport();
    const engine = new WatchEngine(transport, engineSettings(new ManualClock()));
    const pods = Array.from({ length: 300 }, (_, index) => `pod-${index}`);
    const keyed = pods.map((name) => {
      const subscriber = counting<Pod>();
      engine.subscribe('pods', 'default', undefined, subscriber, { key: name });
      return subscriber;
    });
    const everything = counting<Pod>();
    engine.subscribe('pods', 'default', undefined, everything);
    await turns();
    pods.forEach((name, index) => {
      transport.stream.send('ADDED', podObject(name, `u${index}`, String(20 + index)));
    });
    await turns();
    // Before: 301 consumers x 300 changes = 90,300 callbacks. Now: 300 + 300.
    expect(keyed.reduce((total, subscriber) => total + subscriber.changes, 0)).toBe(300);
    expect(keyed.every((subscriber) => subscriber.changes === 1)).toBe(true);
    expect(everything.changes).toBe(300);
  });

  it('inferred by a relist, to the consumers of its key only', async () => {
    const transport = new ScriptedTransport();
    transport.objects.pods = [podObject('a', 'u1', '5'), podObject('b', 'u2', '6')];
    const engine = new WatchEngine(transport, engineSettings(new ManualClock()));
    const ofA = counting<Pod>();
    const ofB = counting<Pod>();
    engine.subscribe('pods', 'default', undefined, ofA, { key: 'a' });
    engine.subscribe('pods', 'default', undefined, ofB, { key: 'b' });
    await turns();
    transport.objects.pods = [podObject('b', 'u2', '6')];
    transport.stream.error({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    await turns();
    expect([ofA.changes, ofB.changes]).toEqual([1, 0]);
  });

  it('of an event, to the consumers of the object it is about', async () => {
    const transport = new ScriptedTransport();
    const engine = new WatchEngine(transport, engineSettings(new ManualClock()));
    const ofWeb = counting<KubernetesEvent>();
    const ofApi = counting<KubernetesEvent>();
    engine.subscribe('events', 'default', undefined, ofWeb, { key: 'web' });
    engine.subscribe('events', 'default', undefined, ofApi, { key: 'api' });
    await turns();
    transport.stream.send('ADDED', {
      metadata: { name: 'web.1', namespace: 'default', uid: 'e1', resourceVersion: '11' },
      involvedObject: { kind: 'Pod', name: 'web' },
      message: 'Scheduled',
    });
    await turns();
    expect([ofWeb.changes, ofApi.changes]).toEqual([1, 0]);
  });
});
