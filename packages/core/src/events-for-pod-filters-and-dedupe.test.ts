import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { KubernetesEvent } from './kubernetes.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// Which events eventsForPod yields, and how often: this pod's (kind, name, and uid when known), each
// message once per occurrence (count), whatever the server sends around them.

interface EventSpec {
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly involved?: { kind?: string; name?: string; uid?: string };
  readonly message?: string;
  readonly count?: number;
  readonly seriesCount?: number;
  readonly firstTimestamp?: string;
  readonly eventTime?: string;
  readonly creationTimestamp?: string;
}

function event(name: string, spec: EventSpec = {}): KubernetesEvent {
  return {
    metadata: {
      name,
      namespace: 'default',
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      resourceVersion: spec.resourceVersion ?? '6',
      ...(spec.creationTimestamp === undefined ? {} : { creationTimestamp: spec.creationTimestamp }),
    },
    ...(spec.firstTimestamp === undefined ? {} : { firstTimestamp: spec.firstTimestamp }),
    ...(spec.eventTime === undefined ? {} : { eventTime: spec.eventTime }),
    involvedObject: spec.involved ?? { kind: 'Pod', name: 'web', uid: 'u1' },
    ...(spec.message === undefined ? {} : { message: spec.message }),
    ...(spec.count === undefined ? {} : { count: spec.count }),
    ...(spec.seriesCount === undefined ? {} : { series: { count: spec.seriesCount } }),
  };
}

/** Starts pulling eventsForPod of pod web once `prepare` has set up what the server has. */
function setup(prepare: (transport: ScriptedTransport) => void = () => {}) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('web', 'u1', '5')];
  prepare(transport);
  const storage = createPodStorage(transport, { clock, random: noJitter });
  const messages: string[] = [];
  const outcome: { error?: unknown; done: boolean } = { done: false };
  const iterator = storage.eventsForPod('web', 'default', 600_000);
  const pulling = (async () => {
    try {
      for await (const message of { [Symbol.asyncIterator]: () => iterator }) messages.push(message);
    } catch (error) {
      outcome.error = error;
    }
    outcome.done = true;
  })();
  const stop = async () => {
    await iterator.return?.();
    await pulling;
  };
  return { transport, storage, messages, outcome, stop };
}

describe('eventsForPod asks for and yields only the events of its pod', () => {
  it('selects them on the server by kind and name', async () => {
    const { transport, messages, stop } = setup((server) => {
      server.objects.events = [event('web.1', { uid: 'e1', message: 'Scheduled' })];
    });
    await turns();
    expect(messages).toEqual(['Scheduled']);
    const selected = transport.calls.filter((call) => call.resource === 'events');
    expect(selected.map((call) => call.verb)).toEqual(['list', 'watch']);
    for (const call of selected) {
      expect((call.options as { fieldSelector?: unknown }).fieldSelector).toEqual({
        'involvedObject.kind': 'Pod',
        'involvedObject.name': 'web',
      });
    }
    await stop();
  });

  it('and filters them again, for a server that ignores field selectors', async () => {
    const { transport, messages, stop } = setup((server) => {
      server.objects.events = [
        event('webby.1', {
          uid: 'e1',
          message: 'other pod',
          involved: { kind: 'Pod', name: 'webby', uid: 'u8' },
        }),
        event('web.node', {
          uid: 'e2',
          message: 'a node named web',
          involved: { kind: 'Node', name: 'web' },
        }),
        event('web.1', { uid: 'e3', message: 'mine' }),
      ];
    });
    await turns();
    transport.stream.send(
      'ADDED',
      event('webby.2', { uid: 'e4', message: 'other pod again', involved: { kind: 'Pod', name: 'webby' } }),
    );
    transport.stream.send(
      'ADDED',
      event('web.2', { uid: 'e5', message: 'mine again', resourceVersion: '7' }),
    );
    await turns();
    expect(messages).toEqual(['mine', 'mine again']);
    await stop();
  });

  it('of this incarnation, or of no known one, when the pod exists', async () => {
    const { messages, stop } = setup((server) => {
      server.objects.events = [
        event('web.1', {
          uid: 'e1',
          message: 'earlier pod',
          involved: { kind: 'Pod', name: 'web', uid: 'u0' },
        }),
        event('web.2', { uid: 'e2', message: 'this pod' }),
        event('web.3', { uid: 'e3', message: 'no uid', involved: { kind: 'Pod', name: 'web' } }),
      ];
    });
    await turns();
    expect(messages).toEqual(['this pod', 'no uid']);
    await stop();
  });

  it('of any incarnation when the pod does not exist (yet)', async () => {
    const { messages, stop } = setup((server) => {
      server.objects.pods = [];
      server.objects.events = [
        event('web.1', {
          uid: 'e1',
          message: 'FailedCreate',
          involved: { kind: 'Pod', name: 'web', uid: 'u9' },
        }),
      ];
    });
    await turns();
    expect(messages).toEqual(['FailedCreate']);
    await stop();
  });
});

describe('eventsForPod yields each message once per occurrence', () => {
  it('skips events without a message, or with only blanks, and yields the others as they are', async () => {
    const { messages, stop } = setup((server) => {
      server.objects.events = [
        event('web.1', { uid: 'e1' }),
        event('web.2', { uid: 'e2', message: '   ' }),
        event('web.3', { uid: 'e3', message: '  padded  ' }),
      ];
    });
    await turns();
    expect(messages).toEqual(['  padded  ']);
    await stop();
  });

  it('again when its count or its series count grows, never when it changes otherwise', async () => {
    const { transport, messages, stop } = setup((server) => {
      server.objects.events = [
        event('web.1', { uid: 'e1', message: 'Pulling', count: 1 }),
        event('web.2', { uid: 'e2', message: 'BackOff', seriesCount: 1 }),
      ];
    });
    await turns();
    const stream = transport.stream;
    stream.send(
      'MODIFIED',
      event('web.1', { uid: 'e1', message: 'Pulling', count: 1, resourceVersion: '7' }),
    );
    stream.send(
      'MODIFIED',
      event('web.1', { uid: 'e1', message: 'Pulling', count: 2, resourceVersion: '8' }),
    );
    stream.send(
      'MODIFIED',
      event('web.2', { uid: 'e2', message: 'BackOff', seriesCount: 2, resourceVersion: '9' }),
    );
    stream.send(
      'MODIFIED',
      event('web.2', { uid: 'e2', message: 'BackOff', seriesCount: 2, resourceVersion: '10' }),
    );
    await turns();
    expect(messages).toEqual(['Pulling', 'BackOff', 'Pulling', 'BackOff']);
    await stop();
  });

  it('tells events without a uid apart by name', async () => {
    const { transport, messages, stop } = setup((server) => {
      server.objects.events = [
        event('web.1', { message: 'first', count: 1 }),
        event('web.2', { message: 'second', count: 1 }),
      ];
    });
    await turns();
    transport.stream.send('MODIFIED', event('web.1', { message: 'first', count: 1, resourceVersion: '7' }));
    await turns();
    expect(messages).toEqual(['first', 'second']);
    await stop();
  });

  it('again for a new event that took the name of an old one', async () => {
    const { transport, messages, stop } = setup((server) => {
      server.objects.events = [event('web.1', { uid: 'e1', message: 'Started', count: 1 })];
    });
    await turns();
    transport.stream.send(
      'DELETED',
      event('web.1', { uid: 'e1', message: 'Started', count: 1, resourceVersion: '7' }),
    );
    transport.stream.send(
      'ADDED',
      event('web.1', { uid: 'e9', message: 'Started', count: 1, resourceVersion: '8' }),
    );
    await turns();
    expect(messages).toEqual(['Started', 'Started']);
    await stop();
  });
});

describe('eventsForPod fails', () => {
  it('with the error that ended its watch', async () => {
    const forbidden = new KubernetesError(403, 'Forbidden', 'may not watch events');
    const { outcome } = setup((server) => {
      server.onWatch = () => {
        throw forbidden;
      };
    });
    await turns();
    expect(outcome).toEqual({ done: true, error: forbidden });
  });
});

describe('eventsForPod yields the existing events in the order they happened', () => {
  it('by first occurrence, then by eventTime, then by creation, whatever the order of the list', async () => {
    const { messages, stop } = setup((server) => {
      server.objects.events = [
        event('web.b', {
          uid: 'e1',
          message: 'second',
          firstTimestamp: '2026-01-01T10:02:00Z',
          creationTimestamp: '2026-01-01T10:00:00Z',
        }),
        event('web.a', {
          uid: 'e2',
          message: 'first',
          firstTimestamp: '2026-01-01T10:01:00Z',
          creationTimestamp: '2026-01-01T10:03:00Z',
        }),
        event('web.d', { uid: 'e3', message: 'fourth', eventTime: '2026-01-01T10:05:00.000000Z' }),
        event('web.c', { uid: 'e4', message: 'third', eventTime: '2026-01-01T10:04:00.000000Z' }),
      ];
    });
    await turns();
    expect(messages).toEqual(['first', 'second', 'third', 'fourth']);
    await stop();
  });
});
