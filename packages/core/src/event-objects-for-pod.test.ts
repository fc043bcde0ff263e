import { describe, expect, it } from 'vitest';
import type { KubernetesEvent } from './kubernetes.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// eventObjectsForPod yields what eventsForPod yields, as the Event objects: a caller (the spawner's
// page) shows a recurring event as one line with its count, as `kubectl events` prints `(x12 over 3m)`
// (staging/src/k8s.io/kubectl/pkg/cmd/events/events.go, printOneEvent).

function event(
  name: string,
  uid: string,
  message: string,
  count: number,
  resourceVersion: string,
): KubernetesEvent {
  return {
    metadata: { name, namespace: 'default', uid, resourceVersion },
    involvedObject: { kind: 'Pod', name: 'web', uid: 'u1' },
    reason: 'FailedScheduling',
    type: 'Warning',
    message,
    count,
  };
}

describe('eventObjectsForPod', () => {
  it('yields the whole events, first seen and again each time the count grows, never a replay', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport();
    transport.objects.pods = [podObject('web', 'u1', '5')];
    transport.objects.events = [
      event('web.1', 'e1', '0/1 nodes are available', 1, '6'),
      event('web.2', 'e2', '', 1, '6'),
    ];
    const storage = createPodStorage(transport, { clock, random: noJitter });
    const seen: KubernetesEvent[] = [];
    const iterator = storage.eventObjectsForPod('web', 'default', 600_000);
    const pulling = (async () => {
      for await (const item of { [Symbol.asyncIterator]: () => iterator }) seen.push(item);
    })();
    await turns();
    transport.stream.send('MODIFIED', event('web.1', 'e1', '0/1 nodes are available', 1, '7'));
    transport.stream.send('MODIFIED', event('web.1', 'e1', '0/1 nodes are available', 12, '8'));
    await turns();
    expect(seen.map((item) => [item.metadata?.uid, item.reason, item.type, item.count])).toEqual([
      ['e1', 'FailedScheduling', 'Warning', 1],
      ['e1', 'FailedScheduling', 'Warning', 12],
    ]);
    await iterator.return?.();
    await pulling;
    await turns();
    expect(transport.stream.signal.aborted).toBe(true);
    await storage.close();
  });
});
