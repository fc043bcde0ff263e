import { PodStorageError, PodTimeoutError } from '@podstorage/core';
import { assert } from '../check.js';
import { type Harness, NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

async function closeChecks(h: Harness, close: () => PromiseLike<void>): Promise<void> {
  h.createPod('a');
  h.createPod('b');
  h.cluster.recordPodEvent({ namespace: NAMESPACE, name: 'a' }, { reason: 'Conformance', message: 'hello' });
  const timersBefore = h.clock.pendingTimers();
  const waitA = h.track(h.storage.waitForPhase('a', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
  const deleteB = h.track(h.storage.deleteAfterCompletion('b', NAMESPACE, LONG_TIMEOUT));
  const events = h.collect(h.storage.eventsForPod('a', NAMESPACE, LONG_TIMEOUT));
  const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
  await h.until(() => events.items.length >= 1, 'the event');
  await h.until(
    () => h.transport.openStreams('pods') >= 1 && h.transport.openStreams('events') >= 1,
    'pod and event watches',
  );
  await h.settle();
  const closing = h.track(Promise.resolve(close()));
  await h.resolves(closing, 'closing the storage');
  await h.until(() => waitA.settled && deleteB.settled, 'pending waits to settle');
  h.equal(waitA.status, 'rejected', 'a pending waitForPhase is rejected on close');
  h.equal(deleteB.status, 'rejected', 'a pending deleteAfterCompletion is rejected on close');
  await h.until(() => events.finished && changes.finished, 'iterators to stop');
  await h.nothingOpen('after close');
  h.equal(h.clock.pendingTimers(), timersBefore, 'no timer left on the clock');
  const openHandles = h.backend.openHandles;
  // A backend lets go of a socket a few turns after the stream ended (more on a loaded machine).
  if (openHandles) await h.until(() => openHandles.call(h.backend) === 0, 'the backend to hold no handle');
  h.equal(h.transport.callsOf('delete').length, 0, 'nothing was deleted');
}

/** The watch engine: shared watches, field selection, clean shutdown, bounded requests. */
export function engineScenarios(suite: SuiteBuilder): void {
  suite.test('25 concurrent waits in one namespace share a few watches', async (h) => {
    const names = Array.from({ length: 25 }, (_, index) => `pod-${index}`);
    for (const name of names) h.createPod(name);
    const waits = names.map((name) =>
      h.track(h.storage.waitForPhase(name, NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] })),
    );
    await h.watching('pods');
    await h.settle(100);
    for (const name of names) h.cluster.setPodPhase(NAMESPACE, name, 'Running');
    await h.until(() => waits.every((wait) => wait.settled), 'all 25 waits', h.quick);
    h.equal(
      waits.map((wait) => wait.value),
      names.map(() => 'Running'),
      'every wait sees its pod run',
    );
    // Reconnects of the same watches (a stall on a loaded machine, the server's timeoutSeconds) are
    // counted apart: sharing is about how many distinct watches there are, never one per wait.
    const calls = h.transport.callsOf('watch', 'pods');
    const distinct = new Set(calls.map((call) => JSON.stringify(call.options.fieldSelector ?? null)));
    assert(
      distinct.size <= 3,
      `at most 3 distinct watches for 25 waits (sharedWatchThreshold 3), saw ${distinct.size}`,
    );
    const { resumes, relists } = h.storage.counters();
    const opened = h.cluster.stats().watchesOpened;
    assert(
      opened <= 3 + resumes + relists && calls.length <= 3 + resumes + relists,
      `at most 3 watches for 25 waits plus reconnects (${resumes} resumes, ${relists} relists), the cluster saw ${opened}`,
    );
    await h.nothingOpen('after all waits ended');
  });

  suite.test('a single wait in a busy namespace watches only its pod (field selector)', async (h) => {
    for (let index = 0; index < 20; index += 1) h.createPod(`busy-${index}`);
    h.createPod('mine');
    const wait = h.track(h.storage.waitForPhase('mine', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    const watches = h.transport.callsOf('watch', 'pods');
    assert(watches.length >= 1, 'a watch was opened');
    for (const watch of watches) {
      h.equal(
        watch.options.fieldSelector,
        { 'metadata.name': 'mine' },
        'the watch selects metadata.name=mine',
      );
    }
    for (let index = 0; index < 20; index += 1) h.cluster.setPodPhase(NAMESPACE, `busy-${index}`, 'Running');
    await h.settle();
    // Every watch so far, reconnects included (a loaded machine may stall one on the system clock).
    const after = h.transport.callsOf('watch', 'pods');
    for (const watch of after) {
      h.equal(
        watch.options.fieldSelector,
        { 'metadata.name': 'mine' },
        'every watch selects metadata.name=mine',
      );
    }
    h.equal(
      after.flatMap((watch) => watch.received).filter((event) => event.type !== 'BOOKMARK').length,
      0,
      'changes of other pods do not reach the field-selected watch',
    );
    h.cluster.setPodPhase(NAMESPACE, 'mine', 'Running');
    h.equal(await h.resolves(wait, 'the wait'), 'Running', 'the wait works');
  });

  suite.test('close() rejects pending waits and leaves no watch, timer or handle behind', async (h) => {
    await closeChecks(h, () => h.storage.close());
  });

  suite.test('Symbol.asyncDispose does the same as close()', async (h) => {
    await closeChecks(h, () => h.storage[Symbol.asyncDispose]());
  });

  suite.test('a finished or timed-out operation leaves no watch and no timer behind', async (h) => {
    h.createPod('web');
    const timersBefore = h.clock.pendingTimers();
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    await h.resolves(wait, 'the wait');
    await h.nothingOpen('after the wait resolved');
    h.equal(h.clock.pendingTimers(), timersBefore, 'no timer left after a resolved wait');

    const slow = h.track(h.storage.waitForPhase('web', NAMESPACE, h.ms(10_000), { untilNot: ['Running'] }));
    await h.reached(
      () => h.isWatching('pods'),
      () => slow.settled,
      'a watch before the timeout',
    );
    const error = await h.rejects(slow, 'a wait that times out', h.quick);
    assert(PodTimeoutError.isInstance(error), `a PodTimeoutError, got ${String(error)}`);
    await h.nothingOpen('after the wait timed out');
    h.equal(h.clock.pendingTimers(), timersBefore, 'no timer left after a timed-out wait');

    const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, h.ms(10_000)));
    await h.until(() => events.finished, 'the events iteration to time out', h.quick);
    await h.nothingOpen('after the events iteration ended');
    h.equal(h.clock.pendingTimers(), timersBefore, 'no timer left after eventsForPod ended');
  });

  suite.test(
    'a slow server cannot hold a wait past its timeout',
    async (h) => {
      h.createPod('web');
      h.cluster.faults.latency(h.ms(10 * 60_000), { resource: 'pods', verbs: ['get', 'list', 'watch'] });
      const timeoutMs = h.ms(10_000);
      const error = await h.rejects(
        h.storage.waitForPhase('web', NAMESPACE, timeoutMs, { untilNot: ['Pending'] }),
        'a wait against a server that never answers in time',
        h.quick,
      );
      assert(PodTimeoutError.isInstance(error), `a PodTimeoutError, got ${String(error)}`);
      assert(
        error.elapsedMs <= timeoutMs + h.timings.finalReadTimeoutMs + h.ms(1_000) + h.toleranceMs,
        `gave up within the timeout plus the final read budget, elapsed ${error.elapsedMs} ms`,
      );
      await h.nothingOpen('after the timeout (slow requests were cancelled)');
    },
    { requires: ['latency'] },
  );

  suite.test(
    'abandons a request that hangs after requestTimeoutMs and retries it',
    async (h) => {
      h.createPod('web');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.cluster.faults.latency(h.ms(10 * 60_000), { resource: 'pods', verbs: ['get', 'list'] });
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(() => h.transport.readsOf('pods').length >= 1, 'the first read');
      const first = h.transport.readsOf('pods')[0];
      assert(first, 'the first read was recorded');
      // The request's deadline starts just before the call is recorded: within the clock's granularity.
      const abandonAt = first.at + h.timings.requestTimeoutMs - h.granularityMs;
      await h.advanceTo(abandonAt - h.ms(1_000), h.ms(1_000));
      const outcome = first.outcome;
      if (h.before(abandonAt)) {
        h.equal(
          outcome,
          'pending',
          `the read is still waiting before requestTimeoutMs (sent at ${first.at} ms, settled at ${first.settledAt} ms: ${String(first.error)})`,
        );
      }
      await h.until(() => h.transport.readsOf('pods').length >= 2, 'a retried read', h.quick);
      h.equal(first.outcome, 'rejected', 'the hanging read was abandoned');
      assert(
        (first.settledAt ?? 0) >= abandonAt,
        `abandoned after requestTimeoutMs, not ${(first.settledAt ?? 0) - first.at} ms`,
      );
      h.cluster.faults.latency(0, { resource: 'pods', verbs: ['get', 'list'] });
      h.cluster.faults.clear();
      h.equal(
        await h.resolves(wait, 'the wait once the server is fast again', h.quick),
        'Running',
        'then succeeds',
      );
    },
    // Set, so the system clock scales it (its default there is generous, see the harness).
    { requires: ['latency'], storage: { requestTimeoutMs: 30_000 } },
  );

  suite.test('counters() reflect what happened', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    const during = h.storage.counters();
    assert(during.watchesOpened >= 1, 'watchesOpened counts the watch');
    assert(during.watchesActive >= 1, 'watchesActive counts the open watch');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    await h.resolves(wait, 'the wait');
    await h.nothingOpen('after the wait');
    const after = h.storage.counters();
    h.equal(after.watchesActive, 0, 'no watch active after the wait');
    assert(after.events >= 1, 'events counts the watch event');
  });

  suite.test(
    'a wait that joins a lagging shared watch still sees a pod created just before it',
    async (h) => {
      // watchPodChanges runs the namespace-wide watch; once it lags (stalled), its view misses new pods.
      const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
      await h.watching('pods');
      assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
      h.createPod('late');
      const wait = h.track(
        h.storage.waitForPhase('late', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
      );
      await h.settle();
      assert(
        !wait.settled,
        `the wait must not decide from the lagging view (it settled with ${String(wait.value)})`,
      );
      h.cluster.setPodPhase(NAMESPACE, 'late', 'Running');
      h.equal(
        await h.resolves(wait, 'the wait once the watch resumes', h.slow),
        'Running',
        'it saw the pod run',
      );
      await changes.iterator.return?.();
    },
  );

  suite.test(
    'a wait that joins a lagging shared watch never decides from versions older than its read',
    async (h) => {
      h.createPod('job');
      const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
      await h.watching('pods');
      assert(h.cluster.faults.stallWatches() >= 1, 'fault: the shared watch was open to stall');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
      // The lagging view still says Pending, which is outside untilNot: deciding from it would be wrong.
      const wait = h.track(h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Running'] }));
      await h.advance(h.timings.inactivityTimeoutMs + h.ms(10_000), h.ms(1_000));
      assert(!wait.settled, `the pod is still Running, yet the wait settled with ${String(wait.value)}`);
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.equal(
        await h.resolves(wait, 'the wait after the pod finished', h.slow),
        'Succeeded',
        'decided from fresh state',
      );
      await changes.iterator.return?.();
    },
  );

  suite.test(
    'fails at once, without retrying, on a transport error marked not retryable',
    async (h) => {
      h.createPod('web');
      // No clock steps: a retry would need backoff time, so the wait can only settle by failing at once.
      const error = await h.rejects(
        h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
        'a wait whose transport cannot authenticate',
      );
      assert(
        PodStorageError.isInstance(error) && error.message === FINAL_FAILURE,
        `rejects with the transport's error, got ${String(error)}`,
      );
      h.equal(h.storage.counters().retries, 0, 'no retry');
    },
    {
      wrap: (transport) => ({
        get: transport.get.bind(transport),
        list: async () => {
          throw new PodStorageError(FINAL_FAILURE, { retryable: false });
        },
        watch: transport.watch.bind(transport),
        delete: transport.delete.bind(transport),
      }),
    },
  );
}

const FINAL_FAILURE = 'conformance: the credential plugin is not installed';
