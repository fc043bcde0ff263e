import {
  KubernetesError,
  type Pod,
  type PodChange,
  type PodTransport,
  type WatchEvent,
} from '@podstorage/core';
import { assert } from '../check.js';
import { type Harness, NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { type HistoryLoss, lostHistory, opaqueResourceVersions } from '../transport-wrappers.js';
import { LONG_TIMEOUT } from './common.js';

/** Runs watchPodChanges (the namespace-wide shared watch) and waits until it is open. */
async function namespaceWatch(h: Harness) {
  const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
  await h.watching('pods');
  return changes;
}

/** A watch transport whose every stream is answered by `stream()` instead of the cluster. */
function watchesAnsweredBy(
  stream: (signal: AbortSignal) => AsyncIterable<WatchEvent<unknown>>,
): (transport: PodTransport) => PodTransport {
  return (transport) => ({
    get: transport.get.bind(transport),
    list: transport.list.bind(transport),
    delete: transport.delete.bind(transport),
    watch: async (_resource, _namespace, options) =>
      stream(options.signal) as AsyncIterable<WatchEvent<never>>,
  });
}

/**
 * How many `calls` began within `windowMs` of clock time from `from`: a count of attempts that a loaded
 * machine can only lower, since a retry never comes before its backoff.
 */
function within(calls: readonly { at: number }[], from: number, windowMs: number): number {
  return calls.filter((call) => call.at <= from + windowMs).length;
}

/**
 * A server (or proxy) that, on every reconnect, first sends again the last object event of the previous
 * stream, before the events after the requested resourceVersion.
 */
function replayingLastEvent(transport: PodTransport): PodTransport {
  let last: WatchEvent<unknown> | undefined;
  return {
    get: transport.get.bind(transport),
    list: transport.list.bind(transport),
    delete: transport.delete.bind(transport),
    watch: async (resource, namespace, options) => {
      const stream = await transport.watch(resource, namespace, options);
      const replay = last;
      return (async function* () {
        if (replay) yield replay;
        for await (const event of stream) {
          if (event.type !== 'BOOKMARK' && event.type !== 'ERROR') last = event;
          yield event;
        }
      })() as AsyncIterable<WatchEvent<never>>;
    },
  };
}

/** Resolves when `signal` aborts, rejecting with its reason: a stream that says nothing. */
function silence(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Reliability against the ways real servers and networks fail (issue 9): lost history, deletions
 * during a broken watch, single-request failures, hot loops, backoff resets, expired continue tokens,
 * opaque resourceVersions, cancellation, closed storages and slow consumers.
 */
export function reliabilityScenarios(suite: SuiteBuilder): void {
  const loss: HistoryLoss = { lostUpTo: undefined, refused: 0 };
  suite.test(
    'relists, with backoff, when the server lost the history it is resumed from (504 ResourceVersionTooLarge)',
    async (h) => {
      loss.lostUpTo = undefined;
      loss.refused = 0;
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.watching('pods');
      const listsBefore = h.transport.callsOf('list', 'pods').length;
      // The server restarts with an older history: every version it handed out is unknown now.
      loss.lostUpTo = h.cluster.resourceVersion();
      h.cluster.faults.resetWatches();
      h.createPod('after-the-loss');
      await h.until(() => h.transport.callsOf('list', 'pods').length > listsBefore, 'a relist', h.quick);
      assert(loss.refused >= 1, 'the resumed watch was refused with 504 ResourceVersionTooLarge');
      await h.watching('pods', 'a watch from the fresh list');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(await h.resolves(wait, 'the wait after the relist', h.quick), 'Running', 'the wait goes on');
    },
    { wrap: (transport) => lostHistory(transport, loss) },
  );

  for (const futureWatch of ['error', 'wait'] as const) {
    suite.test(
      `after the API server is restored from an older snapshot, waits and watchPodChanges see what happened (future watches: ${futureWatch})`,
      async (h) => {
        h.createPod('job');
        const backup = h.cluster.snapshot();
        for (let index = 0; index < 5; index += 1) h.createPod(`later-${index}`);
        const changes = await namespaceWatch(h);
        const wait = h.track(
          h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        );
        await h.settle();
        // The storage now holds versions the restored server never handed out.
        h.cluster.restore(backup);
        h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
        // A real watch cache stays silent for a future version ('wait'): only the stall detection and
        // a relist can notice; the fake's default answers 504 ResourceVersionTooLarge ('error').
        h.equal(
          await h.resolves(wait, 'the wait after the restore', h.slow),
          'Succeeded',
          'the wait sees the change made after the restore',
        );
        await h.until(
          () =>
            changes.items.some(
              (change) => change.pod.metadata?.name === 'job' && change.phase === 'Succeeded',
            ),
          'watchPodChanges to report the change made after the restore',
          h.slow,
        );
        assert(h.storage.counters().relists >= 1, 'the watch relisted');
        await changes.iterator.return?.();
      },
      { futureWatch },
    );
  }

  const stubborn: HistoryLoss = { lostUpTo: undefined, refused: 0 };
  suite.test(
    'backs off while the server keeps refusing every version as too large',
    async (h) => {
      stubborn.lostUpTo = undefined;
      stubborn.refused = 0;
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.watching('pods');
      // Refuses even the versions of new lists: a lagging apiserver that does not catch up for a while.
      stubborn.lostUpTo = String(10n ** 18n);
      const from = h.clock.now();
      h.cluster.faults.resetWatches();
      const window = h.ms(60_000);
      await h.advance(window, h.ms(100));
      await h.until(
        () => h.transport.callsOf('list', 'pods').length >= 3,
        'relists after the refusals',
        h.quick,
      );
      const lists = within(h.transport.callsOf('list', 'pods'), from, window);
      assert(
        lists <= 12,
        `backed off between relists: ${lists} lists in ${window} ms (backoff starts at ${h.timings.backoff.initialMs} ms)`,
      );
      stubborn.lostUpTo = undefined;
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(await h.resolves(wait, 'the wait once the server caught up', h.slow), 'Running', 'it recovers');
    },
    { wrap: (transport) => lostHistory(transport, stubborn) },
  );

  for (const replaced of [false, true]) {
    suite.test(
      replaced
        ? 'a wait that joined a lagging watch ends with null when its pod is replaced by a new one of the same name'
        : 'a wait that joined a lagging watch ends with null when its pod is deleted while the watch is broken and history moves on',
      async (h) => {
        h.createPod('job');
        const changes = await namespaceWatch(h);
        assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
        // The wait reads the pod at a newer version than the stalled watch holds.
        h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
        const wait = h.track(
          h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        );
        await h.until(
          () => h.transport.callsOf('get', 'pods')[0]?.outcome === 'fulfilled',
          'the joining wait to read its pod',
        );
        await h.settle();
        h.cluster.deletePod(NAMESPACE, 'job', { gracePeriodSeconds: 0 });
        if (replaced) h.createPod('job');
        h.cluster.faults.compact();
        // The stall is detected, the resume gets 410, and the relist infers the deletion from the old state
        // it held (or from the new uid under the name): news, whatever version it carries.
        h.equal(
          await h.resolves(wait, 'the wait after the relist', h.slow),
          null,
          replaced
            ? 'the replaced pod resolves null, never waiting on the new one'
            : 'the deleted pod resolves null',
        );
        h.equal(
          h.transport.callsOf('get', 'pods').length,
          1,
          'the deletion decided it: no second read needed',
        );
        await changes.iterator.return?.();
      },
    );
  }

  suite.test(
    'a wait that joined a lagging watch ends with null when its pod came and went inside the gap the watch relisted over',
    async (h) => {
      const changes = await namespaceWatch(h);
      assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
      // The lagging watch never holds this pod: created, read by the wait, deleted and compacted away
      // inside the gap, so the relist lists it no more and had nothing of it to report gone.
      h.createPod('job');
      const wait = h.track(
        h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
      );
      await h.until(() => h.transport.callsOf('get', 'pods')[0]?.outcome === 'fulfilled', 'the joining read');
      await h.settle();
      h.cluster.deletePod(NAMESPACE, 'job', { gracePeriodSeconds: 0 });
      h.cluster.faults.compact();
      // Found by the soak: the wait stayed pending for good. The relist sends it to read again.
      h.equal(
        await h.resolves(wait, 'the wait after the relist', h.slow),
        null,
        'the pod it waited for is gone',
      );
      assert(h.storage.counters().relists >= 1, 'the watch relisted');
      await changes.iterator.return?.();
    },
  );

  suite.test('a wait that joined a lagging watch never follows another pod that took its name', async (h) => {
    const changes = await namespaceWatch(h);
    assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
    // The lagging watch never saw this pod; the wait reads it at its second version.
    const created = h.createPod('job');
    h.cluster.updatePod({ ...created, metadata: { ...created.metadata, labels: { step: 'two' } } });
    const wait = h.track(
      h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
    );
    await h.until(() => h.transport.callsOf('get', 'pods')[0]?.outcome === 'fulfilled', 'the joining read');
    // While the watch lags, the pod is replaced by one of the same name that finishes at once.
    h.cluster.deletePod(NAMESPACE, 'job', { gracePeriodSeconds: 0 });
    h.createPod('job');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
    // The resumed watch first reports the old pod's creation, older than the read: the wait reads
    // again, finds the new pod, and must not take its Succeeded for the old pod's.
    h.equal(await h.resolves(wait, 'the wait', h.slow), null, 'the pod it waited for is gone');
    await changes.iterator.return?.();
  });

  suite.test(
    'resumes from the resourceVersion of the last event, also without bookmarks',
    async (h) => {
      h.createPod('web');
      const changes = await namespaceWatch(h);
      for (let index = 0; index < 3; index += 1) {
        h.cluster.setPodPhase(NAMESPACE, 'web', undefined, { message: `change ${index}` });
      }
      const latest = h.cluster.resourceVersion();
      await h.until(
        () =>
          h.transport
            .callsOf('watch', 'pods')
            .some((call) => call.received.some((event) => event.resourceVersion === latest)),
        `the event at resourceVersion ${latest}`,
      );
      const watches = h.transport.callsOf('watch', 'pods').length;
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: the watch was open to reset');
      await h.until(
        () => h.transport.callsOf('watch', 'pods').length > watches,
        'the resumed watch',
        h.quick,
      );
      h.equal(
        h.transport.callsOf('watch', 'pods')[watches]?.options.resourceVersion,
        latest,
        'the resumed watch starts after the last event received',
      );
      await changes.iterator.return?.();
    },
    // No bookmark can have moved the resume point: only events did.
    { bookmarkIntervalMs: 24 * 3_600_000 },
  );

  suite.test('an event modified without its count growing yields its message once', async (h) => {
    h.createPod('web');
    const pod = { namespace: NAMESPACE, name: 'web' };
    const recorded = h.cluster.recordPodEvent(pod, { reason: 'Pulling', message: 'pulling' });
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 1, 'the message');
    await h.watching('events');
    // Another field changes (a controller annotates it): a new resourceVersion, the same count.
    h.cluster.updateEvent({ ...recorded, metadata: { ...recorded.metadata, annotations: { seen: 'yes' } } });
    await h.advance(h.ms(5_000), h.ms(500));
    h.equal(events.items, ['pulling'], 'the same occurrence is not yielded again');
    h.cluster.recordPodEvent(pod, { reason: 'Pulling', message: 'pulling' });
    await h.until(() => events.items.length >= 2, 'the recurrence', h.quick);
    h.equal(events.items, ['pulling', 'pulling'], 'a recurrence (count grew) is yielded again');
  });

  suite.test(
    'never yields the same resourceVersion twice when a server replays an event after a reconnect',
    async (h) => {
      h.createPod('web');
      const changes = await namespaceWatch(h);
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      await h.until(() => changes.items.length >= 1, 'the change');
      const watches = h.transport.callsOf('watch', 'pods').length;
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: the watch was open to reset');
      await h.until(
        () => h.transport.callsOf('watch', 'pods').length > watches,
        'the replaying watch',
        h.quick,
      );
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Succeeded');
      await h.until(() => changes.items.length >= 2, 'the next change', h.quick);
      await h.settle();
      const versions = changes.items.map((change) => change.pod.metadata?.resourceVersion);
      h.equal(new Set(versions).size, versions.length, `no resourceVersion twice: ${versions.join(', ')}`);
      h.equal(
        changes.items.map((change) => change.phase),
        ['Running', 'Succeeded'],
        'each change once',
      );
      await changes.iterator.return?.();
    },
    { wrap: replayingLastEvent },
  );

  suite.test('one 429 on the read of a joining wait does not fail it', async (h) => {
    h.createPod('web');
    const changes = await namespaceWatch(h);
    const retryAfterSeconds = h.seconds(1_000);
    h.cluster.faults.failNext(
      1,
      { code: 429, reason: 'TooManyRequests', retryAfterSeconds },
      { verbs: ['get'] },
    );
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.until(() => h.transport.callsOf('get', 'pods').length >= 2, 'the read to be retried', h.quick);
    const [first, second] = h.transport.callsOf('get', 'pods');
    assert(first && second, 'two reads');
    assert(
      second.at - first.at >= retryAfterSeconds * 1_000 - h.granularityMs,
      `the retry waited for Retry-After (${retryAfterSeconds} s), it came after ${second.at - first.at} ms`,
    );
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    h.equal(await h.resolves(wait, 'the wait', h.quick), 'Running', 'the wait goes on');
    await changes.iterator.return?.();
  });

  suite.test('one 503 on the read of eventsForPod does not end it', async (h) => {
    h.createPod('web');
    h.cluster.recordPodEvent(
      { namespace: NAMESPACE, name: 'web' },
      { reason: 'Scheduled', message: 'first' },
    );
    h.cluster.faults.failNext(1, { code: 503, reason: 'ServiceUnavailable' }, { verbs: ['get'] });
    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 1 || events.finished, 'the first message', h.quick);
    assert(!events.failed, `eventsForPod failed: ${String(events.error)}`);
    h.equal(events.items, ['first'], 'the existing message arrives after the retried read');
  });

  suite.test('one 500 on the delete of deleteAfterCompletion does not fail it', async (h) => {
    h.createPod('job');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
    h.cluster.faults.failNext(1, { code: 500, reason: 'InternalError' }, { verbs: ['delete'] });
    h.equal(
      await h.resolves(
        h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT),
        'the delete',
        h.quick,
      ),
      'Succeeded',
      'returns the final phase',
    );
    h.equal(h.cluster.getPod(NAMESPACE, 'job'), undefined, 'the pod was deleted on the retry');
    h.equal(h.transport.callsOf('delete').length, 2, 'one failed delete, one retried');
  });

  suite.test(
    'the delete of deleteAfterCompletion is bounded by requestTimeoutMs and retried',
    async (h) => {
      h.createPod('job');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.cluster.faults.latency(h.ms(50 * 60_000), { verbs: ['delete'] });
      const deletion = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
      await h.until(() => h.transport.callsOf('delete').length >= 1, 'the first delete');
      await h.until(
        () => h.transport.callsOf('delete')[0]?.outcome === 'rejected',
        'the hanging delete to be abandoned',
        { stepMs: h.ms(1_000), maxAdvanceMs: h.timings.requestTimeoutMs + h.ms(5_000) },
      );
      h.cluster.faults.latency(0, { verbs: ['delete'] });
      h.equal(await h.resolves(deletion, 'the retried delete', h.quick), 'Succeeded', 'then it completes');
      h.equal(h.cluster.getPod(NAMESPACE, 'job'), undefined, 'the pod is gone');
    },
    // Set, so the system clock scales it (its default there is generous, see the harness).
    { requires: ['latency'], storage: { requestTimeoutMs: 30_000 } },
  );

  suite.test(
    'backs off a watch that answers ERROR 410 every time instead of relisting in a hot loop',
    async (h) => {
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(() => h.transport.callsOf('watch', 'pods').length >= 1, 'the first watch');
      const from = h.transport.callsOf('watch', 'pods')[0]?.at ?? 0;
      const window = h.ms(60_000);
      await h.advanceTo(from + window, h.ms(100));
      await h.until(() => h.transport.callsOf('list', 'pods').length >= 3, 'it keeps trying', h.quick);
      const lists = within(h.transport.callsOf('list', 'pods'), from, window);
      assert(
        lists <= 12,
        `at most a dozen relists in ${window} ms with backoff from ${h.timings.backoff.initialMs} ms, saw ${lists}`,
      );
      assert(!wait.settled, 'the wait is still waiting');
    },
    {
      wrap: watchesAnsweredBy(async function* () {
        yield {
          type: 'ERROR',
          object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old' },
        };
      }),
    },
  );

  suite.test(
    'backs off a server that accepts watches and then stays silent',
    async (h) => {
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(
        () => h.transport.callsOf('watch', 'pods').length >= 8,
        'eight silent watches',
        h.steps({ stepMs: 1_000, maxAdvanceMs: 10 * 60_000 }),
      );
      const opened = h.transport.callsOf('watch', 'pods').map((call) => call.at);
      // Each gap is the inactivity timeout plus the backoff, which must grow.
      const waits = opened
        .slice(1)
        .map((at, index) => at - (opened[index] ?? 0) - h.timings.inactivityTimeoutMs);
      assert(
        (waits.at(-1) ?? 0) >= h.ms(8_000),
        `the wait after repeated stalls grew (${h.timings.backoff.initialMs} ms doubling), gaps past the inactivity timeout: ${waits.join(', ')} ms`,
      );
      assert(!wait.settled, 'the wait is still waiting');
    },
    {
      // A short inactivity timeout, so that eight stalls take seconds, not minutes, on the system clock.
      storage: { inactivityTimeoutMs: 10_000 },
      wrap: watchesAnsweredBy(async function* (signal) {
        yield* [];
        await silence(signal);
      }),
    },
  );

  suite.test(
    'a stream healthy for longer than resetAfterMs resets the backoff, even when it ends in a reset',
    async (h) => {
      h.createPod('web');
      const unavailable = { code: 503, reason: 'ServiceUnavailable' } as const;
      h.cluster.faults.failNext(6, unavailable, { verbs: ['watch'] });
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(() => h.transport.openStreams('pods') >= 1, 'a watch after six failures', h.quick);
      // The waits the engine chose (its 'backing off' log), not the time they took: a loaded machine
      // stretches every real wait, but the engine's choice is the fact the design promises.
      const backoffs = () =>
        h.logs
          .filter((entry) => entry.message === 'backing off')
          .map((entry) => (entry.fields as { waitMs: number }).waitMs);
      const before = backoffs();
      const { initialMs } = h.timings.backoff;
      // Six failures grow the step to 2^5 times the first one, however long each 503 took to arrive: a
      // refused request never counts as a working stream.
      const grown = (before.at(-1) ?? 0) > initialMs;
      if (h.clockMode === 'fake') h.equal(before.length, 6, 'six failed watches were retried with backoff');
      assert(grown, `the backoff grew over six failures: ${before.join(', ')} ms`);
      // Healthy for resetAfterMs and more: bookmarks keep it alive.
      await h.advance(h.timings.backoff.resetAfterMs + h.ms(10_000), h.ms(1_000));
      // A loaded machine can stall a stream on the system clock: reset only one that has been open and
      // healthy for longer than resetAfterMs, whatever happened before. Counted from its response
      // headers (when the watch call settled), as the engine counts it: the time a request waits for
      // its headers is no stream's health.
      const healthyFor = () => {
        const open = h.transport.callsOf('watch', 'pods').find((call) => call.streamOpen);
        return open === undefined ? 0 : h.clock.now() - (open.settledAt ?? h.clock.now());
      };
      await h.until(
        () => healthyFor() > h.timings.backoff.resetAfterMs,
        'a stream open for longer than resetAfterMs',
        h.steps({ stepMs: 1_000, maxAdvanceMs: 10 * h.timings.backoff.resetAfterMs }),
      );
      const watches = h.transport.callsOf('watch', 'pods').length;
      const logsBefore = h.logs.length;
      // The watch resumed after the reset fails once more: the wait before the next one shows whether
      // the healthy stream reset the backoff (its first step) or not (the grown one).
      h.cluster.faults.failNext(1, unavailable, { verbs: ['watch'] });
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: the healthy watch was open to reset');
      await h.until(
        () => h.transport.callsOf('watch', 'pods').length > watches + 1,
        'the watch resumed, failed once more and retried',
        h.quick,
      );
      // In the order the engine logged them: the reset, the resume (at once: no backoff before the 503
      // came back), the 503 and its backoff.
      const since = h.logs.slice(logsBefore);
      const unavailableAt = since.findIndex(
        (entry) =>
          entry.message === 'watch request failed' &&
          KubernetesError.isInstance((entry.fields as { err?: unknown }).err) &&
          (entry.fields as { err: KubernetesError }).err.code === 503,
      );
      assert(unavailableAt >= 0, 'the resumed watch was answered 503 (the fault)');
      const waitsOf = (entries: typeof since) =>
        entries
          .filter((entry) => entry.message === 'backing off')
          .map((entry) => (entry.fields as { waitMs: number }).waitMs);
      h.equal(
        waitsOf(since.slice(0, unavailableAt)),
        [],
        'the reset stream was resumed at once, without a backoff',
      );
      const after = waitsOf(since.slice(unavailableAt));
      assert(after.length >= 1, 'the failed resume was retried with backoff');
      if (h.clockMode === 'fake') h.equal(after.length, 1, 'one backoff, for the failed resume');
      assert(
        (after[0] ?? 0) <= initialMs,
        `a stream healthy for longer than resetAfterMs reset the backoff to its first step (at most ${initialMs} ms), but the engine waited ${after.join(', ')} ms (before: ${before.join(', ')} ms)`,
      );
      assert(!wait.settled, 'the wait is still waiting');
    },
    // Bookmarks far more often than the inactivity timeout: even a paused process sees the stream healthy.
    { bookmarkIntervalMs: 10_000 },
  );

  suite.test(
    'falls back to one full list when a continue token expires, and a joining wait reads its pod at once',
    async (h) => {
      for (let index = 0; index < 1_200; index += 1) h.createPod(`pod-${String(index).padStart(4, '0')}`);
      h.createPod('done');
      h.cluster.setPodPhase(NAMESPACE, 'done', 'Succeeded');
      // History moves on while paging: every continue token has expired by the time it is used.
      const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
      await h.until(() => h.transport.callsOf('list', 'pods').length >= 1, 'the first page');
      const finished = await h.resolves(
        h.storage.waitForPhase('done', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        'a wait on a finished pod while the shared watch is still listing',
      );
      h.equal(finished, 'Succeeded', 'the wait read its own pod instead of waiting for the list');
      await h.watching('pods', 'the watch after the full list');
      const lists = h.transport.callsOf('list', 'pods');
      // Lists the server answered (a page, or 410 for an expired token): one the storage abandoned after
      // requestTimeoutMs (a full list of 1 200 pods on a loaded machine) is a retry, not a paging loop.
      const answered = lists.filter(
        (call) => call.outcome === 'fulfilled' || KubernetesError.isInstance(call.error),
      );
      assert(
        answered.length <= 6,
        `no paging loop: ${answered.length} list requests answered (${lists.length} made)`,
      );
      assert(
        lists.some((call) => call.options.limit === undefined && call.options.continue === undefined),
        'one full list without limit',
      );
      h.cluster.setPodPhase(NAMESPACE, 'pod-0007', 'Running');
      await h.until(
        () => changes.items.some((change) => change.pod.metadata?.name === 'pod-0007'),
        'the change',
      );
      await changes.iterator.return?.();
    },
    {
      storage: { pageSize: 100 },
      wrap: (transport, cluster) => {
        let pages = 0;
        return {
          get: transport.get.bind(transport),
          watch: transport.watch.bind(transport),
          delete: transport.delete.bind(transport),
          list: async (resource, namespace, options) => {
            const page = await transport.list(resource, namespace, options);
            if (page.metadata.continue) {
              pages += 1;
              cluster.setPodPhase(NAMESPACE, 'pod-0000', undefined, {
                message: `history moved on (${pages})`,
              });
              cluster.faults.compact();
            }
            return page;
          },
        };
      },
    },
  );

  suite.test(
    'with opaque resourceVersions a wait that joins a lagging watch never decides from an older state',
    async (h) => {
      h.createPod('job');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Pending');
      const changes = await namespaceWatch(h);
      assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
      // Two changes the lagging watch has not seen: still Pending, then Running.
      const pod = h.cluster.getPod(NAMESPACE, 'job') as Pod;
      h.cluster.updatePod({ ...pod, metadata: { ...pod.metadata, labels: { step: 'one' } } });
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
      const wait = h.track(h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Running'] }));
      await h.advance(h.timings.inactivityTimeoutMs + h.ms(10_000), h.ms(1_000));
      assert(!wait.settled, `the pod is Running; the wait settled with ${String(wait.value ?? wait.reason)}`);
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.equal(await h.resolves(wait, 'the wait', h.slow), 'Succeeded', 'decided from the newest state');
      await changes.iterator.return?.();
    },
    { wrap: opaqueResourceVersions },
  );

  suite.test(
    'with opaque resourceVersions every backend operation still works',
    async (h) => {
      h.createPod('job');
      h.cluster.recordPodEvent(
        { namespace: NAMESPACE, name: 'job' },
        { reason: 'Scheduled', message: 'hello' },
      );
      const events = h.collect(h.storage.eventsForPod('job', NAMESPACE, LONG_TIMEOUT));
      const changes = await namespaceWatch(h);
      const deletion = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
      h.cluster.faults.resetWatches();
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.equal(await h.resolves(deletion, 'the delete', h.quick), 'Succeeded', 'finished and deleted');
      await h.until(() => events.items.length >= 1, 'the event');
      h.equal(events.items, ['hello'], 'the message');
      await h.until(() => changes.items.length >= 2, 'both changes', h.quick);
      const versions = changes.items.map((change) => change.pod.metadata?.resourceVersion);
      h.equal(new Set(versions).size, versions.length, 'no version twice');
      await changes.iterator.return?.();
    },
    { wrap: opaqueResourceVersions },
  );

  suite.test('eventsForPod: return() while a next() is pending resolves that next() as done', async (h) => {
    h.createPod('web');
    const iterator = h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT);
    const pending = h.track(iterator.next());
    await h.watching('events');
    assert(!pending.settled, 'no event yet');
    await h.resolves(Promise.resolve(iterator.return?.()), 'return()');
    h.equal(
      await h.resolves(pending, 'the pending next()'),
      { done: true, value: undefined },
      'done, not an AbortError',
    );
    await h.nothingOpen('after return()');
  });

  suite.test('operations called after close() reject at once and send nothing', async (h) => {
    h.createPod('web');
    await h.storage.close();
    const before = h.transport.calls.length;
    const wait = await h.rejects(
      h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
      'waitForPhase after close',
    );
    const deletion = await h.rejects(
      h.storage.deleteAfterCompletion('web', NAMESPACE, LONG_TIMEOUT),
      'delete after close',
    );
    const events = await h.rejects(
      h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT).next(),
      'events after close',
    );
    const changes = await h.rejects(h.storage.watchPodChanges(NAMESPACE).next(), 'changes after close');
    for (const error of [wait, deletion, events, changes]) {
      assert(String(error).includes('closed'), `rejects with the closed error, got ${String(error)}`);
    }
    h.equal(h.transport.calls.length, before, 'no request was sent after close()');
  });

  suite.test(
    'a slow watchPodChanges consumer holds one pending change per pod, the newest, never a backlog',
    async (h) => {
      const names = Array.from({ length: 20 }, (_, index) => `pod-${index}`);
      for (const name of names) h.createPod(name);
      h.createPod('warm-up');
      const iterator = h.storage.watchPodChanges(NAMESPACE);
      const first = h.track(iterator.next());
      await h.watching('pods');
      h.cluster.setPodPhase(NAMESPACE, 'warm-up', 'Running');
      await h.resolves(first, 'the first change');
      // 2,000 changes the consumer does not take yet.
      for (let round = 0; round < 100; round += 1) {
        for (const name of names)
          h.cluster.setPodPhase(NAMESPACE, name, undefined, { message: `round ${round}` });
      }
      // Delivered means: a watch brought each pod's newest version, or a list made after the changes did
      // (a loaded machine may stall the stream, and the history may expire before the resume).
      const changedAt = h.clock.now();
      const newest = names.map((name) => h.versionOf(name));
      await h.until(
        () => {
          const relisted = h.transport
            .callsOf('list', 'pods')
            .some((call) => call.at >= changedAt && call.outcome === 'fulfilled');
          const received = new Set(
            h.transport
              .callsOf('watch', 'pods')
              .flatMap((call) => call.received.map((event) => event.resourceVersion)),
          );
          return relisted || newest.every((version) => received.has(version));
        },
        "the storage to receive every pod's newest state",
        h.slow,
      );
      await h.settle();
      const taken: PodChange[] = [];
      for (let index = 0; index < names.length; index += 1) {
        taken.push((await h.resolves(iterator.next(), `change ${index}`)).value as PodChange);
      }
      h.equal(
        taken.map((change) => change.pod.metadata?.name).sort(),
        [...names].sort(),
        'one change per pod',
      );
      for (const change of taken) {
        const name = change.pod.metadata?.name as string;
        h.equal(change.pod.metadata?.resourceVersion, h.versionOf(name), `${name} is at its newest state`);
      }
      const more = h.track(iterator.next());
      await h.settle();
      assert(!more.settled, `nothing else was pending, got ${JSON.stringify(more.value)}`);
      await iterator.return?.();
    },
  );
}
