import type { KubernetesEvent } from '@podstorage/core';
import { assert } from '../check.js';
import { type Harness, NAMESPACE, OTHER_NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { cancellation, LONG_TIMEOUT } from './common.js';

function record(
  h: Harness,
  pod: string,
  message: string,
  reason = 'Conformance',
  namespace = NAMESPACE,
): KubernetesEvent {
  return h.cluster.recordPodEvent({ namespace, name: pod }, { reason, message });
}

let foreignCounter = 0;

/** An event made by hand (the kubelet's recorder would name it `<object>.<random hex>`). */
function foreignEvent(
  h: Harness,
  involved: { kind: string; name: string; uid?: string },
  message: string,
  name?: string,
): KubernetesEvent {
  foreignCounter += 1;
  // The cluster's clock stamps its own events: use it, so hand-made ones sort among them.
  const now = h.cluster.clock.date().toISOString();
  return h.cluster.createEvent({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: name ?? `${involved.name}.conformance-${foreignCounter}`, namespace: NAMESPACE },
    involvedObject: { apiVersion: 'v1', namespace: NAMESPACE, ...involved },
    reason: 'Foreign',
    message,
    type: 'Normal',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'conformance' },
  });
}

/** eventsForPod: existing then new messages of this pod's events, each once, until the timeout or the caller stops. */
export function eventsForPodScenarios(suite: SuiteBuilder): void {
  suite.test('yields existing events first, in the order they happened, then new ones', async (h) => {
    const pod = h.createPod('web');
    // Named so that the server's list order (by name) is the reverse of the order they happened in.
    for (const [step, suffix] of [
      [1, 'zz'],
      [2, 'mm'],
      [3, 'aa'],
    ] as const) {
      foreignEvent(
        h,
        { kind: 'Pod', name: 'web', uid: pod.metadata?.uid ?? '' },
        `step ${step}`,
        `web.${suffix}`,
      );
      await h.advance(h.ms(1_000));
    }
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 3, 'the existing events');
    h.equal(events.items, ['step 1', 'step 2', 'step 3'], 'existing events, oldest first');
    await h.watching('events');
    record(h, 'web', 'step 4', 'Step4');
    await h.until(() => events.items.length >= 4, 'the new event');
    h.equal(events.items, ['step 1', 'step 2', 'step 3', 'step 4'], 'then the new one');
    assert(!events.finished, 'the iteration goes on until the timeout');
  });

  suite.test(
    'yields the events the simulated kubelet emits, in order, each once',
    async (h) => {
      h.createPod('sim', {
        lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(1_000), runMs: h.ms(3_000) },
      });
      const events = h.collect(h.storage.eventsForPod('sim', NAMESPACE, LONG_TIMEOUT));
      await h.until(
        () => h.cluster.getPod(NAMESPACE, 'sim')?.status?.phase === 'Succeeded',
        'the pod to finish',
        h.quick,
      );
      const truth = h.cluster
        .listEvents(NAMESPACE)
        .items.filter((event) => event.involvedObject?.name === 'sim' && event.message)
        .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
        .map((event) => event.message);
      assert(truth.length >= 3, `fake precondition: the simulator emitted events, got ${truth.length}`);
      await h.until(() => events.items.length >= truth.length, `${truth.length} messages`);
      await h.advance(h.ms(5_000));
      h.equal(events.items, truth, 'every message of the pod, as they happened, none twice');
      assert(
        events.items.some((message) => message.includes('Started container')),
        'including the kubelet\'s "Started container"',
      );
    },
    { mode: 'simulated' },
  );

  suite.test('never yields a message twice across reset, 410, stall and end of the watch', async (h) => {
    h.createPod('web');
    record(h, 'web', 'e1', 'E1');
    record(h, 'web', 'e2', 'E2');
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 2, 'the existing events');
    await h.watching('events');

    assert(h.cluster.faults.resetWatches({ resource: 'events' }) >= 1, 'fault: an events watch to reset');
    record(h, 'web', 'e3', 'E3');
    await h.until(() => events.items.length >= 3, 'e3, after the reset', h.quick);
    await h.watching('events');

    assert(h.cluster.faults.resetWatches({ resource: 'events' }) >= 1, 'fault: an events watch to reset');
    record(h, 'web', 'e4', 'E4');
    h.cluster.faults.compact();
    await h.until(() => events.items.length >= 4, 'e4, after a 410', h.quick);
    await h.watching('events');

    assert(h.cluster.faults.stallWatches({ resource: 'events' }) >= 1, 'fault: an events watch to stall');
    record(h, 'web', 'e5', 'E5');
    await h.until(() => events.items.length >= 5, 'e5, after the stall', h.slow);
    await h.watching('events');

    assert(h.cluster.faults.endWatches({ resource: 'events' }) >= 1, 'fault: an events watch to end');
    record(h, 'web', 'e6', 'E6');
    await h.until(() => events.items.length >= 6, 'e6, after the end of the watch', h.quick);

    await h.advance(h.timings.inactivityTimeoutMs * 2, h.ms(1_000));
    h.equal(events.items, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'], 'each message exactly once');
  });

  suite.test('yields a recurring event again each time its count grows, and only then', async (h) => {
    h.createPod('crashy');
    const message = 'Back-off restarting failed container main in pod crashy';
    record(h, 'crashy', message, 'BackOff');
    const events = h.collect(h.storage.eventsForPod('crashy', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 1, 'the first BackOff');
    await h.watching('events');
    const bumped = record(h, 'crashy', message, 'BackOff');
    h.equal(bumped.count, 2, 'fake precondition: the same reason and message bumps the count');
    await h.until(() => events.items.length >= 2, 'the recurring BackOff');
    h.equal(events.items, [message, message], 'yielded again');

    assert(h.cluster.faults.resetWatches({ resource: 'events' }) >= 1, 'fault: an events watch to reset');
    // Something else happens during the gap, so the last version seen is older than the compaction.
    h.createPod('bystander');
    h.cluster.faults.compact();
    await h.until(() => h.storage.counters().relists >= 1, 'a relist after 410', h.quick);
    await h.advance(h.ms(5_000), h.ms(100));
    h.equal(events.items.length, 2, 'a relist showing the same count does not yield it again');

    record(h, 'crashy', message, 'BackOff');
    await h.until(() => events.items.length >= 3, 'the third BackOff', h.quick);
    h.equal(events.items, [message, message, message], 'count 3 yields a third time');
  });

  suite.test('skips events with empty messages', async (h) => {
    h.createPod('web');
    record(h, 'web', 'before', 'Before');
    record(h, 'web', '', 'Silent');
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 1, 'the existing event');
    await h.watching('events');
    record(h, 'web', '', 'SilentToo');
    record(h, 'web', 'after', 'After');
    await h.until(() => events.items.length >= 2, 'the new event');
    await h.settle();
    h.equal(events.items, ['before', 'after'], 'no empty message');
  });

  suite.test(
    'yields only events of this pod: not of pods sharing a prefix, other kinds, other uids or namespaces',
    async (h) => {
      h.createPod('web');
      h.createPod('web-2');
      h.createPod('web', { namespace: OTHER_NAMESPACE });
      const foreign = (round: string) => {
        record(h, 'web-2', `web-2 ${round}`);
        record(h, 'web', `other namespace ${round}`, 'Conformance', OTHER_NAMESPACE);
        foreignEvent(h, { kind: 'ReplicaSet', name: 'web' }, `replicaset ${round}`);
        foreignEvent(h, { kind: 'Pod', name: 'web', uid: 'an-earlier-incarnation' }, `earlier pod ${round}`);
        foreignEvent(h, { kind: 'Pod', name: 'we' }, `shorter name ${round}`);
      };
      foreign('existing');
      record(h, 'web', 'mine existing');
      const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
      await h.until(() => events.items.length >= 1, 'the existing event');
      await h.watching('events');
      foreign('new');
      record(h, 'web', 'mine new');
      await h.until(() => events.items.length >= 2, 'the new event');
      await h.settle();
      h.equal(events.items, ['mine existing', 'mine new'], 'only the events involving this pod');
    },
  );

  suite.test('retries an events list answered 429 only after Retry-After', async (h) => {
    h.createPod('web');
    record(h, 'web', 'hello');
    const retryAfterSeconds = h.seconds(4_000);
    h.cluster.faults.failNext(1, { code: 429, retryAfterSeconds }, { resource: 'events', verbs: ['list'] });
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    const lists = () => h.transport.callsOf('list', 'events');
    await h.until(() => lists()[0]?.outcome === 'rejected', 'the first events list to be refused');
    const refusedAt = lists()[0]?.settledAt ?? 0;
    const retryAt = refusedAt + retryAfterSeconds * 1_000;
    await h.advanceTo(retryAt - h.ms(100), h.ms(100));
    const count = lists().length;
    const yielded = [...events.items];
    if (h.before(retryAt - h.granularityMs)) {
      h.equal(count, 1, `no retry before Retry-After (${retryAfterSeconds} s)`);
      h.equal(yielded, [], 'nothing yielded yet');
    }
    await h.until(() => events.items.length >= 1, 'the event after the retry', h.quick);
    h.equal(events.items, ['hello'], 'then the existing event');
    const retry = lists()[1];
    assert(
      retry && retry.at >= retryAt - h.granularityMs,
      `retried ${retry ? retry.at - refusedAt : '?'} ms after the 429`,
    );
  });

  suite.test('ends quietly when the timeout expires, leaving no watch open', async (h) => {
    h.createPod('web');
    record(h, 'web', 'hello');
    const timeoutMs = h.ms(10_000);
    const started = h.clock.now();
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, timeoutMs));
    const listed = await h.reached(
      () => events.items.length >= 1,
      () => events.finished,
      'the existing event before the timeout',
    );
    await h.advanceTo(started + h.ms(9_900), h.ms(100));
    const finished = events.finished;
    if (h.before(started + timeoutMs)) assert(!finished, 'still iterating before the timeout');
    await h.until(() => events.finished, 'the iteration to end', h.quick);
    assert(!events.failed, `ends without error, got ${String(events.error)}`);
    if (listed) h.equal(events.items, ['hello'], 'after what it yielded');
    await h.nothingOpen('after the iteration ended');
  });

  suite.test('break stops at once and closes the watch', async (h) => {
    h.createPod('web');
    record(h, 'web', 'first');
    record(h, 'web', 'second');
    const seen: string[] = [];
    const loop = h.track(
      (async () => {
        for await (const message of h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT)) {
          seen.push(message);
          break;
        }
      })(),
    );
    await h.resolves(loop, 'the loop with break');
    h.equal(seen, ['first'], 'one message, then out');
    await h.nothingOpen('after break');
  });

  suite.test('return() while a next() is pending stops at once and closes the watch', async (h) => {
    h.createPod('web');
    record(h, 'web', 'first');
    const iterator = h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT);
    const events = h.collect(iterator);
    await h.until(() => events.items.length >= 1, 'the existing event');
    await h.watching('events');
    await h.settle();
    const returned = h.track(Promise.resolve().then(() => iterator.return?.()));
    await h.resolves(returned, 'return() (no time passes, no event arrives)');
    await h.until(() => events.finished, 'the pending next() to settle');
    await h.nothingOpen('after return()');
  });

  suite.test('an AbortSignal stops the iteration with its reason and closes the watch', async (h) => {
    h.createPod('web');
    record(h, 'web', 'first');
    const controller = new AbortController();
    const events = h.collect(
      h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT, { signal: controller.signal }),
    );
    await h.until(() => events.items.length >= 1, 'the existing event');
    await h.watching('events');
    const reason = cancellation('events');
    controller.abort(reason);
    await h.until(() => events.finished, 'the iteration to stop');
    assert(
      events.failed && events.error === reason,
      `throws the signal's reason, got ${String(events.error)}`,
    );
    await h.nothingOpen('after the abort');
  });
}
