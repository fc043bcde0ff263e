import { assert } from '../check.js';
import { type Harness, NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

const names = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

/** Requests of pods (GETs and list pages) the storage sent from now on. */
function podReadsFrom(h: Harness): () => number {
  const before = h.transport.readsOf('pods').length;
  return () => h.transport.readsOf('pods').length - before;
}

/** Holds the namespace-wide pod watch open (and synced), so that every wait after it joins it late. */
async function namespaceWatchRunning(h: Harness): Promise<void> {
  h.collect(h.storage.watchPodChanges(NAMESPACE));
  await h.watching('pods');
  await h.settle();
}

/**
 * Scale (issue 11): what many concurrent operations in one namespace cost the server, counted as the
 * server sees it, and the guarantees that cheaper way keeps.
 */
export function scaleScenarios(suite: SuiteBuilder): void {
  suite.test(
    '60 waits joining a synced shared watch share their reads: a few requests, not one per wait',
    async (h) => {
      const pods = names(60, 'joiner');
      for (const name of pods) h.createPod(name);
      await namespaceWatchRunning(h);
      const reads = podReadsFrom(h);
      const waits = pods.map((name) =>
        h.track(h.storage.waitForPhase(name, NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] })),
      );
      await h.settle(100);
      // One list of the namespace (one page), whatever the number of waits; a few more if a loaded
      // machine splits the burst, never one per wait.
      assert(reads() <= 5, `at most 5 pod reads for 60 joining waits, the storage sent ${reads()}`);
      for (const name of pods) h.cluster.setPodPhase(NAMESPACE, name, 'Running');
      await h.until(() => waits.every((wait) => wait.settled), 'all 60 waits', h.quick);
      h.equal(
        waits.map((wait) => wait.value),
        pods.map(() => 'Running'),
        'every wait sees its pod run',
      );
      assert(reads() <= 5, `still at most 5 pod reads once decided, the storage sent ${reads()}`);
    },
  );

  suite.test(
    'waits that join just after their pod was deleted and re-created follow the new pod, sharing their reads',
    async (h) => {
      for (const name of names(20, 'bystander')) h.createPod(name);
      h.createPod('web');
      await namespaceWatchRunning(h);
      // The shared watch goes silent, so it still holds the old web when the waits join.
      assert(h.cluster.faults.stallWatches({ resource: 'pods' }) >= 1, 'fault: the pod watch to stall');
      const oldUid = h.cluster.getPod(NAMESPACE, 'web')?.metadata?.uid;
      h.cluster.deletePod(NAMESPACE, 'web', { gracePeriodSeconds: 0 });
      const recreated = h.createPod('web');
      assert(recreated.metadata?.uid !== oldUid, 'fake precondition: the new web has a new uid');
      const reads = podReadsFrom(h);
      const waits = [
        ...Array.from({ length: 30 }, () =>
          h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] })),
        ),
        ...names(20, 'bystander').map((name) =>
          h.track(h.storage.waitForPhase(name, NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] })),
        ),
      ];
      await h.settle(100);
      assert(reads() <= 5, `at most 5 pod reads for 50 waits joining together, the storage sent ${reads()}`);
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Succeeded');
      const forWeb = waits.slice(0, 30);
      // The stalled watch is resumed after the inactivity timeout: old web's deletion is old news.
      await h.until(() => forWeb.every((wait) => wait.settled), 'the 30 waits for web', h.slow);
      h.equal(
        forWeb.map((wait) => wait.value),
        forWeb.map(() => 'Succeeded'),
        'every wait follows the new web, never the deleted one (null)',
      );
      assert(
        waits.slice(30).every((wait) => !wait.settled),
        'the waits for pending bystanders go on',
      );
      assert(reads() <= 12, `a few re-reads at most, not one per wait: ${reads()} pod reads`);
    },
  );

  suite.test('30 eventsForPod iterations share a few events watches and no list each', async (h) => {
    const pods = names(30, 'events');
    for (const name of pods) {
      h.createPod(name);
      h.cluster.recordPodEvent(
        { namespace: NAMESPACE, name },
        { reason: 'Conformance', message: `hello ${name}` },
      );
    }
    const iterations = pods.map((name) => h.collect(h.storage.eventsForPod(name, NAMESPACE, LONG_TIMEOUT)));
    await h.until(() => iterations.every((events) => events.items.length >= 1), 'every existing event');
    await h.watching('events');
    h.equal(
      iterations.map((events) => events.items),
      pods.map((name) => [`hello ${name}`]),
      'each iteration yields its own pod event',
    );
    h.cluster.recordPodEvent(
      { namespace: NAMESPACE, name: 'events-7' },
      { reason: 'Again', message: 'again' },
    );
    await h.until(() => (iterations[7]?.items.length ?? 0) >= 2, 'the new event of events-7');
    await h.settle();
    h.equal(iterations[8]?.items, ['hello events-8'], 'another pod does not see it');
    const watches = h.transport.callsOf('watch', 'events');
    const distinct = new Set(watches.map((call) => JSON.stringify(call.options.fieldSelector ?? null)));
    assert(distinct.size <= 3, `at most 3 distinct events watches for 30 iterations, saw ${distinct.size}`);
    const { resumes, relists } = h.storage.counters();
    const lists = h.transport.callsOf('list', 'events').length;
    assert(
      lists <= 3 + relists,
      `at most 3 events lists for 30 iterations (plus ${relists} relists), saw ${lists}`,
    );
    assert(
      watches.length <= 3 + resumes + relists,
      `at most 3 events watches plus reconnects, saw ${watches.length}`,
    );
    const podReads = h.transport.readsOf('pods').length;
    assert(podReads <= 8, `the iterations' reads of their pods are shared: ${podReads} pod reads`);
  });

  suite.test(
    'eventsForPod with untilPodFinishes ends by itself once the pod finished, after the events up to then',
    async (h) => {
      h.createPod('sim', {
        lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(1_000), runMs: h.ms(3_000) },
      });
      const events = h.collect(
        h.storage.eventsForPod('sim', NAMESPACE, LONG_TIMEOUT, { untilPodFinishes: true }),
      );
      await h.until(() => events.finished, 'the iteration to end after the pod finished', h.slow);
      assert(!events.failed, `ends without error, got ${String(events.error)}`);
      h.equal(h.cluster.getPod(NAMESPACE, 'sim')?.status?.phase, 'Succeeded', 'the pod finished');
      const truth = h.cluster
        .listEvents(NAMESPACE)
        .items.filter((event) => event.involvedObject?.name === 'sim' && event.message)
        .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
        .map((event) => event.message);
      assert(truth.length >= 3, `fake precondition: the simulator emitted events, got ${truth.length}`);
      h.equal(events.items, truth, 'every message of the pod, in order, none twice');
      await h.nothingOpen('after the iteration ended');
    },
    { mode: 'simulated' },
  );

  suite.test(
    'eventsForPod with untilPodFinishes ends when the pod is deleted, not while it runs',
    async (h) => {
      h.createPod('web');
      h.cluster.recordPodEvent(
        { namespace: NAMESPACE, name: 'web' },
        { reason: 'Conformance', message: 'first' },
      );
      const events = h.collect(
        h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT, { untilPodFinishes: true }),
      );
      await h.until(() => events.items.length >= 1, 'the existing event');
      await h.watching('pods');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      await h.advance(h.ms(5_000));
      assert(!events.finished, 'a running pod has not finished: the iteration goes on');
      h.cluster.recordPodEvent(
        { namespace: NAMESPACE, name: 'web' },
        { reason: 'Killing', message: 'Stopping container main' },
      );
      h.cluster.deletePod(NAMESPACE, 'web', { gracePeriodSeconds: 0 });
      await h.until(() => events.finished, 'the iteration to end after the deletion', h.quick);
      assert(!events.failed, `ends without error, got ${String(events.error)}`);
      h.equal(events.items, ['first', 'Stopping container main'], 'the events up to the deletion');
      await h.nothingOpen('after the iteration ended');
    },
  );
}
