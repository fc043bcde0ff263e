import { InvalidInputError, KubernetesError, PodTimeoutError, Timeout } from '@podstorage/core';
import { assert } from '../check.js';
import { NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { cancellation, LONG_TIMEOUT, version } from './common.js';

/** waitForPhase: reads first, watches from the read, never misses or invents a transition. */
export function waitForPhaseScenarios(suite: SuiteBuilder): void {
  suite.test('resolves null for a pod that does not exist, without opening a watch', async (h) => {
    const phase = await h.resolves(
      h.storage.waitForPhase('absent', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
      'waitForPhase of an absent pod',
    );
    h.equal(phase, null, 'an absent pod resolves null');
    h.equal(
      h.transport.callsOf('watch').length,
      0,
      'the first read decides; no watch is needed for an absent pod',
    );
  });

  suite.test('returns a phase already outside untilNot at once', async (h) => {
    h.createPod('done');
    h.cluster.setPodPhase(NAMESPACE, 'done', 'Succeeded');
    h.createPod('failed');
    h.cluster.setPodPhase(NAMESPACE, 'failed', 'Failed');
    h.createPod('running');
    h.cluster.setPodPhase(NAMESPACE, 'running', 'Running');
    const started = h.clock.now();
    const firedBefore = h.clock.firedTimers?.() ?? 0;
    const results = await h.resolves(
      Promise.all([
        h.storage.waitForPhase('done', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        h.storage.waitForPhase('failed', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        h.storage.waitForPhase('running', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
      ]),
      'waits on pods already past the phases',
    );
    h.equal(results, ['Succeeded', 'Failed', 'Running'], 'each wait returns the phase the pod already has');
    h.equal(h.transport.callsOf('watch').length, 0, 'the reads decided: no watch was needed');
    // Reads only, each answered: no retry, so no backoff either. At most one per wait: three waits
    // started together may share one list of the namespace (they reach the sharing threshold).
    const reads = h.transport.calls.map((call) => [
      call.verb === 'get' || call.verb === 'list',
      call.outcome,
    ]);
    h.equal(
      reads,
      reads.map(() => [true, 'fulfilled']),
      'reads only, each answered',
    );
    assert(
      reads.length >= 1 && reads.length <= results.length,
      `at most one read per wait (${reads.length} for ${results.length} waits)`,
    );
    if (h.clockMode === 'fake') h.equal(h.clock.now(), started, 'no time had to pass');
    else {
      // Real time passes anyway, as much as a loaded machine takes; what must not happen is a wait on a
      // timer (a backoff, a watch, a delay): no timer of the storage fired before the answers.
      h.equal((h.clock.firedTimers?.() ?? 0) - firedBefore, 0, 'answered at once: no storage timer fired');
    }
  });

  suite.test(
    'follows the simulator: Running for untilNot [Pending], Succeeded for untilNot [Pending, Running]',
    async (h) => {
      // The scenario steps the simulator itself (on the system clock the cluster's clock is held): a
      // loaded machine could otherwise let the pod run, or finish, before a wait looked, or while the
      // first wait was being checked, and the waits would rightly answer with later phases.
      const release = h.holdCluster();
      try {
        h.createPod('job', {
          lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(1_000), runMs: h.ms(5_000) },
        });
        const running = h.track(
          h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
        );
        const finished = h.track(
          h.storage.waitForPhase('job', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
        );
        await h.watching('pods');
        await h.settle();
        const phase = () => h.cluster.getPod(NAMESPACE, 'job')?.status?.phase;
        for (let step = 0; step < 40 && phase() !== 'Running'; step += 1) await h.advanceCluster(h.ms(100));
        h.equal(phase(), 'Running', 'fake precondition: the simulator ran the pod');
        h.equal(
          await h.resolves(running, 'wait for the pod to leave Pending'),
          'Running',
          'leaves Pending for Running',
        );
        // The pod still runs: the simulator moves only when the scenario moves it.
        h.equal(phase(), 'Running', 'the wait answered while the pod runs');
        assert(
          !finished.settled,
          `the wait for leaving Running must still wait, got ${String(finished.value)}`,
        );
        await h.advanceCluster(h.ms(5_000));
        h.equal(phase(), 'Succeeded', 'fake precondition: the simulator finished the pod');
        h.equal(await h.resolves(finished, 'wait for the pod to finish'), 'Succeeded', 'finishes Succeeded');
      } finally {
        release();
      }
    },
    { mode: 'simulated' },
  );

  suite.test('counts a pod without status.phase as Pending', async (h) => {
    h.createPod('unscheduled');
    h.clearPhase('unscheduled');
    h.equal(
      h.cluster.getPod(NAMESPACE, 'unscheduled')?.status?.phase,
      undefined,
      'fake precondition: no phase',
    );
    const pending = await h.resolves(
      h.storage.waitForPhase('unscheduled', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Running'] }),
      'wait untilNot [Running] on a pod without phase',
    );
    h.equal(pending, 'Pending', 'a pod without phase is Pending, which is outside [Running]');

    h.cluster.setPodPhase(NAMESPACE, 'unscheduled', 'Pending');
    const wait = h.track(
      h.storage.waitForPhase('unscheduled', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
    );
    await h.watching('pods');
    // A modification that drops the phase again must not end the wait.
    h.clearPhase('unscheduled');
    await h.advance(h.ms(5_000));
    assert(
      !wait.settled,
      `a pod without phase is still Pending; the wait ended with ${String(wait.value ?? wait.reason)}`,
    );
    h.cluster.setPodPhase(NAMESPACE, 'unscheduled', 'Running');
    h.equal(await h.resolves(wait, 'wait for Running'), 'Running', 'then the Running change ends it');
  });

  suite.test('treats Unknown as a phase like any other', async (h) => {
    h.createPod('lost');
    h.cluster.setPodPhase(NAMESPACE, 'lost', 'Running');
    const toUnknown = h.track(
      h.storage.waitForPhase('lost', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending', 'Running'] }),
    );
    await h.watching('pods');
    h.cluster.setPodPhase(NAMESPACE, 'lost', 'Unknown');
    h.equal(
      await h.resolves(toUnknown, 'wait that ends on Unknown'),
      'Unknown',
      'Unknown is outside [Pending, Running]',
    );

    h.createPod('flaky');
    h.cluster.setPodPhase(NAMESPACE, 'flaky', 'Running');
    const throughUnknown = h.track(
      h.storage.waitForPhase('flaky', NAMESPACE, LONG_TIMEOUT, {
        untilNot: ['Pending', 'Running', 'Unknown'],
      }),
    );
    await h.until(() => h.transport.openStreams('pods') >= 1, 'a watch of flaky');
    h.cluster.setPodPhase(NAMESPACE, 'flaky', 'Unknown');
    await h.advance(h.ms(5_000));
    assert(!throughUnknown.settled, 'Unknown is in untilNot: the wait goes on');
    h.cluster.setPodPhase(NAMESPACE, 'flaky', 'Failed');
    h.equal(await h.resolves(throughUnknown, 'wait past Unknown'), 'Failed', 'then returns Failed');
  });

  suite.test('resolves null when the pod is deleted while waiting (immediate deletion)', async (h) => {
    h.createPod('doomed');
    const wait = h.track(
      h.storage.waitForPhase('doomed', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
    );
    await h.watching('pods');
    h.cluster.deletePod(NAMESPACE, 'doomed', { gracePeriodSeconds: 0 });
    h.equal(await h.resolves(wait, 'wait on a deleted pod'), null, 'a deleted pod resolves null');
  });

  suite.test('resolves null when the pod is deleted gracefully while waiting, once it is gone', async (h) => {
    h.createPod('graceful', { nodeName: 'fake-node-1' });
    h.cluster.setPodPhase(NAMESPACE, 'graceful', 'Running');
    const wait = h.track(
      h.storage.waitForPhase('graceful', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Running'] }),
    );
    await h.watching('pods');
    const terminating = h.cluster.deletePod(NAMESPACE, 'graceful', {
      gracePeriodSeconds: h.seconds(30_000),
    });
    assert(
      terminating.metadata?.deletionTimestamp,
      'fake precondition: graceful deletion sets deletionTimestamp',
    );
    await h.settle();
    const settled = wait.settled;
    // Read after the wait's state: if the pod is still there, it was there when the wait was looked at.
    const present = h.cluster.getPod(NAMESPACE, 'graceful') !== undefined;
    if (h.clockMode === 'fake') assert(present, 'fake precondition: the grace period has not ended');
    if (present) assert(!settled, 'a terminating pod that still runs is still Running');
    h.equal(
      await h.resolves(wait, 'wait on a pod being deleted', h.quick),
      null,
      'null once the grace period ends',
    );
  });

  suite.test('resolves null, never the new pod phase, when the pod is deleted and recreated', async (h) => {
    h.createPod('reborn');
    const wait = h.track(
      h.storage.waitForPhase('reborn', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
    );
    await h.watching('pods');
    h.cluster.deletePod(NAMESPACE, 'reborn', { gracePeriodSeconds: 0 });
    h.createPod('reborn');
    h.cluster.setPodPhase(NAMESPACE, 'reborn', 'Running');
    h.equal(await h.resolves(wait, 'wait on a replaced pod'), null, 'the pod waited for is gone: null');
  });

  suite.test('resolves null when the pod is replaced during a reconnect gap', async (h) => {
    h.createPod('reborn');
    const wait = h.track(
      h.storage.waitForPhase('reborn', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
    );
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
    h.cluster.deletePod(NAMESPACE, 'reborn', { gracePeriodSeconds: 0 });
    h.createPod('reborn');
    h.cluster.setPodPhase(NAMESPACE, 'reborn', 'Running');
    h.equal(
      await h.resolves(wait, 'wait across the gap', h.quick),
      null,
      'the replacement is not the pod waited for',
    );
  });

  suite.test('resolves null when the pod is replaced during a gap that ends in 410 Gone', async (h) => {
    h.createPod('reborn');
    const wait = h.track(
      h.storage.waitForPhase('reborn', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
    );
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
    h.cluster.deletePod(NAMESPACE, 'reborn', { gracePeriodSeconds: 0 });
    h.createPod('reborn');
    h.cluster.setPodPhase(NAMESPACE, 'reborn', 'Running');
    h.cluster.faults.compact();
    h.equal(
      await h.resolves(wait, 'wait across the 410 gap', h.quick),
      null,
      'the fresh read shows another uid: null',
    );
    assert(h.storage.counters().relists >= 1, 'the scenario went through a relist after 410');
  });

  suite.test(
    'sees a phase change made while the watch was disconnected, resuming from its resourceVersion',
    async (h) => {
      h.createPod('web');
      const before = version(h.versionOf('web'));
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.watching('pods');
      const watchesBefore = h.transport.callsOf('watch', 'pods').length;
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
      const changed = version(h.cluster.setPodPhase(NAMESPACE, 'web', 'Running').metadata?.resourceVersion);
      h.equal(
        await h.resolves(wait, 'wait across the reconnect', h.quick),
        'Running',
        'the change in the gap is seen',
      );
      const resumed = h.transport.callsOf('watch', 'pods')[watchesBefore];
      assert(resumed, 'a new watch was opened after the reset');
      const from = version(resumed.options.resourceVersion);
      assert(
        from >= before && from < changed,
        `the resumed watch starts from the last version seen (${before}..${changed - 1n}), not ${from}`,
      );
      h.equal(h.storage.counters().relists, 0, 'a resumable gap needs no relist');
      assert(h.storage.counters().resumes >= 1, 'counters().resumes counts the resume');
    },
  );

  suite.test('after 410 mid-watch, re-reads and decides from the fresh state', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    h.cluster.faults.compact();
    h.equal(await h.resolves(wait, 'wait across 410', h.quick), 'Running', 'the fresh read shows Running');
    assert(h.storage.counters().relists >= 1, 'the 410 led to a relist');
  });

  suite.test('after 410 with the pod still pending, keeps watching from the fresh read', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
    h.createPod('noise');
    h.cluster.faults.compact();
    await h.until(() => h.storage.counters().relists >= 1, 'a relist after 410', h.quick);
    await h.watching('pods', 'a watch after the relist');
    await h.advance(h.ms(5_000));
    assert(!wait.settled, 'the pod is still Pending: the wait goes on');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Succeeded');
    h.equal(await h.resolves(wait, 'wait after the relist', h.quick), 'Succeeded', 'a later change is seen');
  });

  suite.test('resolves null when the pod is deleted during a gap that ends in 410 Gone', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
    h.cluster.deletePod(NAMESPACE, 'web', { gracePeriodSeconds: 0 });
    h.cluster.faults.compact();
    h.equal(await h.resolves(wait, 'wait across 410', h.quick), null, 'the fresh read finds no pod');
  });

  suite.test('detects a stalled stream after inactivityTimeoutMs, resumes and sees the change', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    const watchesBefore = h.transport.callsOf('watch', 'pods').length;
    const stalled = h.transport.callsOf('watch', 'pods')[watchesBefore - 1];
    assert(stalled, 'the watch to stall was recorded');
    assert(h.cluster.faults.stallWatches() >= 1, 'fault: a watch was open to stall');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    // The stream's last activity was at the earliest when the watch was asked for (a real timer may
    // fire up to the clock's granularity early).
    const earliestStall = stalled.at + h.timings.inactivityTimeoutMs - h.granularityMs;
    await h.advanceTo(earliestStall - h.ms(1_000));
    const settled = wait.settled;
    const watches = h.transport.callsOf('watch', 'pods').length;
    if (h.before(earliestStall)) {
      assert(!settled, 'the stalled stream delivered nothing, so nothing can be known yet');
      h.equal(watches, watchesBefore, 'no new watch before inactivityTimeoutMs has passed without data');
    }
    h.equal(await h.resolves(wait, 'wait across the stall', h.slow), 'Running', 'resumed and saw the change');
    const resumed = h.transport.callsOf('watch', 'pods')[watchesBefore];
    assert(
      resumed && resumed.at >= earliestStall,
      `the stall was detected after inactivityTimeoutMs: the next watch came ${resumed ? resumed.at - stalled.at : '?'} ms after the stalled one`,
    );
    assert(h.storage.counters().stalls >= 1, 'counters().stalls counts the stall');
    await h.nothingOpen('after the wait ended (the stalled stream was closed)');
  });

  suite.test(
    'recovers from a watch that stalls before its response headers',
    async (h) => {
      h.createPod('web');
      h.cluster.faults.stallNextWatch();
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(() => h.transport.callsOf('watch', 'pods').length >= 1, 'the first watch request');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(
        await h.resolves(wait, 'wait across the stall before headers', h.slow),
        'Running',
        'gave up on it and re-watched',
      );
      assert(h.transport.callsOf('watch', 'pods').length >= 2, 'a second watch was opened');
      h.equal(
        h.transport.callsOf('watch', 'pods')[0]?.outcome,
        'rejected',
        'the stalled request was cancelled',
      );
      await h.nothingOpen('after the wait ended');
    },
    { requires: ['stallBeforeHeaders'] },
  );

  suite.test('resumes without loss when the server ends the watch', async (h) => {
    h.createPod('web');
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.watching('pods');
    assert(h.cluster.faults.endWatches() >= 1, 'fault: a watch was open to end');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    h.equal(
      await h.resolves(wait, 'wait across the end of the watch', h.quick),
      'Running',
      'the change after the end is seen',
    );
    assert(h.storage.counters().resumes >= 1, 'counters().resumes counts the resume');
    h.equal(h.storage.counters().relists, 0, 'an ended watch is resumed, not relisted');
  });

  suite.test(
    'asks for a server timeout, and resumes when the server ends the watch at timeoutSeconds',
    async (h) => {
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.watching('pods');
      const first = h.transport.callsOf('watch', 'pods')[0];
      assert(first, 'a watch was opened');
      const seconds = first.options.timeoutSeconds;
      const { min, max } = h.timings.watchTimeoutSeconds;
      assert(
        typeof seconds === 'number' && seconds >= min && seconds <= max,
        `the watch asks for timeoutSeconds within watchTimeoutSeconds (${min}..${max}), got ${String(seconds)}`,
      );
      await h.until(
        () => h.transport.callsOf('watch', 'pods').length >= 2,
        'the watch after the server timeout',
        h.slow,
      );
      const second = h.transport.callsOf('watch', 'pods')[1];
      // In the cluster's time, which timed it (on the system clock it may lag behind the storage's).
      assert(
        second && second.clusterAt - first.clusterAt >= seconds * 1_000,
        `the first watch lasted until its timeoutSeconds (${seconds} s), the next came ${second ? second.clusterAt - first.clusterAt : '?'} ms later`,
      );
      assert(second.options.resourceVersion !== undefined, 'the next watch resumes from a resourceVersion');
      h.equal(h.storage.counters().stalls, 0, 'a quiet watch kept alive by bookmarks is not a stall');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(await h.resolves(wait, 'wait after the timeout', h.quick), 'Running', 'the change is seen');
      h.equal(h.storage.counters().relists, 0, 'no relist was needed');
    },
    // Bookmarks far more often than the inactivity timeout, so that even a paused process on the system
    // clock sees one before the stream counts as stalled. The last one comes 2 s (real seconds, not
    // scenario time) before the server's deadline, as the watch cache sends it
    // (cacheWatcher.nextBookmarkTime), and none when the watch is shorter than that: the inactivity
    // timeout must outlast that silence also where the system clock shrinks the scenario's times.
    {
      storage: { watchTimeoutSeconds: { min: 120, max: 180 }, inactivityTimeoutMs: 300_000 },
      bookmarkIntervalMs: 10_000,
    },
  );

  suite.test(
    'resumes from the resourceVersion of the last bookmark, with no relist after compaction',
    async (h) => {
      h.createPod('web');
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.watching('pods');
      const watches = () => h.transport.callsOf('watch', 'pods');
      h.equal(watches()[0]?.options.allowWatchBookmarks, true, 'watches ask for bookmarks');
      for (let index = 0; index < 5; index += 1) h.createPod(`noise-${index}`);
      const latest = h.cluster.resourceVersion();
      const open = watches().find((call) => call.streamOpen);
      assert(open, 'a watch is open');
      await h.until(
        () => open.received.some((event) => event.type === 'BOOKMARK' && event.resourceVersion === latest),
        `a bookmark at resourceVersion ${latest}`,
        h.steps({ stepMs: 1_000, maxAdvanceMs: 30_000 }),
      );
      h.cluster.faults.compact();
      const readsBefore = h.transport.readsOf('pods').length;
      const watchesBefore = watches().length;
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch was open to reset');
      await h.until(() => watches().length > watchesBefore, 'the resumed watch', h.quick);
      await h.watching('pods', 'the resumed watch to be open');
      h.equal(
        watches()[watchesBefore]?.options.resourceVersion,
        latest,
        'the resumed watch starts at the bookmark',
      );
      await h.advance(h.ms(5_000), h.ms(100));
      h.equal(
        h.transport.readsOf('pods').length,
        readsBefore,
        'no list or get: the bookmark kept the resume point valid',
      );
      h.equal(h.storage.counters().relists, 0, 'no relist');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(await h.resolves(wait, 'wait after the resume'), 'Running', 'and the wait still works');
    },
    { bookmarkIntervalMs: 10_000 },
  );

  suite.test('retries a read answered 429 only after Retry-After, then succeeds', async (h) => {
    h.createPod('web');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    const retryAfterSeconds = h.seconds(7_000);
    h.cluster.faults.failNext(
      1,
      { code: 429, retryAfterSeconds },
      { resource: 'pods', verbs: ['get', 'list'] },
    );
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    await h.until(
      () => h.transport.readsOf('pods')[0]?.outcome === 'rejected',
      'the first read to be refused',
    );
    const refusedAt = h.transport.readsOf('pods')[0]?.settledAt ?? 0;
    const retryAt = refusedAt + retryAfterSeconds * 1_000;
    await h.advanceTo(retryAt - h.ms(100), h.ms(100));
    const reads = h.transport.readsOf('pods').length;
    const settled = wait.settled;
    if (h.before(retryAt - h.granularityMs)) {
      h.equal(reads, 1, `no retry before Retry-After (${retryAfterSeconds} s)`);
      assert(!settled, 'the wait has not decided yet');
    }
    h.equal(await h.resolves(wait, 'wait after the 429', h.quick), 'Running', 'the retried read succeeds');
    const retry = h.transport.readsOf('pods')[1];
    assert(
      retry && retry.at >= retryAt - h.granularityMs,
      `retried ${retry ? retry.at - refusedAt : '?'} ms after the 429`,
    );
  });

  suite.test('retries a watch answered 429 only after Retry-After, then succeeds', async (h) => {
    h.createPod('web');
    const retryAfterSeconds = h.seconds(5_000);
    h.cluster.faults.failNext(1, { code: 429, retryAfterSeconds }, { resource: 'pods', verbs: ['watch'] });
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    const watches = () => h.transport.callsOf('watch', 'pods');
    await h.until(() => watches()[0]?.outcome === 'rejected', 'the first watch to be refused');
    const refusedAt = watches()[0]?.settledAt ?? 0;
    const retryAt = refusedAt + retryAfterSeconds * 1_000;
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    await h.advanceTo(retryAt - h.ms(100), h.ms(100));
    const count = watches().length;
    const settled = wait.settled;
    if (h.before(retryAt - h.granularityMs)) {
      h.equal(count, 1, `no retry before Retry-After (${retryAfterSeconds} s)`);
      assert(!settled, 'the wait has not decided yet');
    }
    h.equal(
      await h.resolves(wait, 'wait after the 429', h.quick),
      'Running',
      'the retried watch sees the change',
    );
    const retry = watches()[1];
    assert(
      retry && retry.at >= retryAt - h.granularityMs,
      `retried ${retry ? retry.at - refusedAt : '?'} ms after the 429`,
    );
  });

  suite.test('backs off watches the server refuses slowly: a refusal is not a working stream', async (h) => {
    h.createPod('web');
    // Longer than the engine needs to call a stream working (1 s, or resetAfterMs when shorter: core's
    // retry-policy.ts), so that counting the request's time as a stream's would resume at once.
    const workingAfterMs = Math.min(1_000, h.timings.backoff.resetAfterMs);
    const refusal = { resource: 'pods', verbs: ['watch'] } as const;
    h.cluster.faults.latency(Math.round(workingAfterMs * 1.5), refusal);
    h.cluster.faults.failNext(
      3,
      { code: 503, message: 'the server is currently unable to handle the request' },
      refusal,
    );
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    const watches = () => h.transport.callsOf('watch', 'pods');
    await h.until(
      () => watches().filter((call) => call.outcome === 'rejected').length === 3 && watches().length === 4,
      'three refused watches and a fourth',
      h.slow,
    );
    h.cluster.faults.latency(0, refusal);
    const calls = watches();
    for (let index = 1; index < 4; index += 1) {
      const waited = (calls[index]?.at ?? 0) - (calls[index - 1]?.settledAt ?? 0);
      assert(
        waited >= h.timings.backoff.initialMs / 2 - h.granularityMs,
        `each retry after a slow refusal waits on the clock: watches at ${calls.map((call) => call.at).join(', ')}, settled ${calls.map((call) => call.settledAt).join(', ')}`,
      );
    }
    assert(h.storage.counters().retries >= 3, `three backoffs counted, got ${h.storage.counters().retries}`);
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    h.equal(await h.resolves(wait, 'the wait once the server answers', h.slow), 'Running', 'then succeeds');
  });

  suite.test('retries 500 and 503 with backoff, never in a hot loop', async (h) => {
    h.createPod('web');
    h.cluster.faults.failNext(
      3,
      { code: 503, message: 'apiserver is restarting' },
      { resource: 'pods', verbs: ['watch'] },
    );
    const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
    const watches = () => h.transport.callsOf('watch', 'pods');
    await h.until(() => watches()[0]?.outcome === 'rejected', 'the first watch to fail');
    // The shortest backoff is half the first step (jitter).
    const earliestRetry = (watches()[0]?.settledAt ?? 0) + h.timings.backoff.initialMs / 2;
    await h.settle(200);
    const count = watches().length;
    if (h.before(earliestRetry - h.granularityMs)) {
      h.equal(count, 1, 'no retry until time passes (backoff, not a hot loop)');
    }
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    h.equal(
      await h.resolves(wait, 'wait through 503s', h.quick),
      'Running',
      'succeeds once the server recovers',
    );
    const calls = watches();
    const times = calls.map((call) => call.at);
    assert(times.length >= 4, `three refused watches and one that worked, got ${times.length}`);
    // A refused watch never had a stream, however long the refusal took: each one backs off.
    let backedOff = 0;
    for (let index = 1; index < 4; index += 1) {
      const refused = calls[index - 1];
      backedOff += 1;
      const waited = (times[index] ?? 0) - (refused?.settledAt ?? 0);
      assert(
        waited >= h.timings.backoff.initialMs / 2 - h.granularityMs,
        `each retry waits on the clock (at least half the first backoff step): watch times ${times.join(', ')}`,
      );
    }
    assert(
      h.storage.counters().retries >= backedOff,
      `counters().retries counts the retries (${backedOff} backed off)`,
    );

    h.createPod('api');
    h.cluster.setPodPhase(NAMESPACE, 'api', 'Running');
    h.cluster.faults.failNext(2, { code: 500 }, { resource: 'pods', verbs: ['get', 'list'] });
    const readsBefore = h.transport.readsOf('pods').length;
    const read = await h.resolves(
      h.storage.waitForPhase('api', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
      'wait through 500s on the read',
      h.quick,
    );
    h.equal(read, 'Running', 'the third read succeeds');
    assert(h.transport.readsOf('pods').length - readsBefore >= 3, 'the failed reads were retried');
  });

  for (const [verb, code, reason] of [
    ['list', 403, 'Forbidden'],
    ['watch', 403, 'Forbidden'],
    ['watch', 422, 'Invalid'],
  ] as const) {
    suite.test(
      `rejects with KubernetesError ${code} when the ${verb} is answered ${code}, without retrying`,
      async (h) => {
        h.createPod('web');
        h.cluster.faults.failNext(
          1,
          { code, reason, message: `conformance: ${reason}` },
          { resource: 'pods', verbs: verb === 'list' ? ['get', 'list'] : ['watch'] },
        );
        const error = await h.rejects(
          h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
          `wait with a ${code} ${verb}`,
        );
        assert(KubernetesError.isInstance(error), `a KubernetesError, got ${String(error)}`);
        h.equal(error.code, code, 'carrying the code');
        h.equal(error.reason, reason, 'and the reason');
        await h.advance(h.ms(60_000));
        const attempts =
          verb === 'list' ? h.transport.readsOf('pods').length : h.transport.callsOf('watch', 'pods').length;
        h.equal(attempts, 1, `a ${code} is final: not retried`);
        await h.nothingOpen('after the failed wait');
      },
    );
  }

  suite.test(
    'asks the transport to refresh credentials once after 401, then retries',
    async (h) => {
      h.createPod('web');
      h.cluster.faults.failNext(
        1,
        { code: 401, reason: 'Unauthorized' },
        { resource: 'pods', verbs: ['watch'] },
      );
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }));
      await h.until(() => h.transport.callsOf('refreshCredentials').length >= 1, 'a credentials refresh');
      await h.watching('pods', 'the watch after the refresh');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
      h.equal(
        await h.resolves(wait, 'wait after the refresh', h.quick),
        'Running',
        'works with the refreshed credentials',
      );

      h.createPod('api');
      h.cluster.faults.failNext(
        2,
        { code: 401, reason: 'Unauthorized' },
        { resource: 'pods', verbs: ['watch'] },
      );
      const refreshesBefore = h.transport.callsOf('refreshCredentials').length;
      const error = await h.rejects(
        h.storage.waitForPhase('api', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
        'wait whose credentials stay rejected',
        h.quick,
      );
      assert(
        KubernetesError.isInstance(error) && error.code === 401,
        `rejects with the 401, got ${String(error)}`,
      );
      h.equal(h.transport.callsOf('refreshCredentials').length - refreshesBefore, 1, 'refreshed only once');
    },
    {
      wrap: (transport) => ({
        get: transport.get.bind(transport),
        list: transport.list.bind(transport),
        watch: transport.watch.bind(transport),
        delete: transport.delete.bind(transport),
        refreshCredentials: async (options) => {
          await transport.refreshCredentials?.(options);
        },
      }),
    },
  );

  suite.test(
    'rejects PodTimeoutError with operation and elapsed time when the timeout expires',
    async (h) => {
      h.createPod('slow');
      const timeoutMs = h.ms(10_000);
      const started = h.clock.now();
      const wait = h.track(h.storage.waitForPhase('slow', NAMESPACE, timeoutMs, { untilNot: ['Pending'] }));
      await h.reached(
        () => h.isWatching('pods'),
        () => wait.settled,
        'a watch before the timeout',
      );
      await h.advanceTo(started + h.ms(9_900), h.ms(100));
      const settled = wait.settled;
      if (h.before(started + timeoutMs)) assert(!settled, 'no answer before the timeout');
      const error = await h.rejects(wait, 'the wait to time out', h.quick);
      assert(PodTimeoutError.isInstance(error), `a PodTimeoutError, got ${String(error)}`);
      assert(typeof error.operation === 'string' && error.operation.length > 0, 'it names the operation');
      const most = timeoutMs + h.timings.finalReadTimeoutMs + h.ms(1_000) + h.toleranceMs;
      assert(
        error.elapsedMs >= timeoutMs && error.elapsedMs <= most,
        `elapsedMs is the time waited (${timeoutMs} ms plus at most the final read: ${most} ms), got ${error.elapsedMs}`,
      );
      assert(
        error.failedAt.getTime() - error.startedAt.getTime() >= timeoutMs - h.granularityMs,
        'startedAt and failedAt are the wall-clock times of the attempt',
      );

      const deadline = new Timeout('conformance: wait for slow', h.ms(5_000), { clock: h.clock });
      const named = await h.rejects(
        h.storage.waitForPhase('slow', NAMESPACE, deadline, { untilNot: ['Pending'] }),
        'a wait with a Timeout object',
        h.quick,
      );
      assert(PodTimeoutError.isInstance(named), `a PodTimeoutError, got ${String(named)}`);
      h.equal(named.operation, 'conformance: wait for slow', "the operation is the Timeout's");
      deadline.dispose();
    },
  );

  suite.test(
    'reads once more before giving up: a pod that finished while the watch was stalled',
    async (h) => {
      h.createPod('web');
      h.createPod('gone');
      // Shorter than inactivityTimeoutMs, so the stall cannot be detected before the deadline; long
      // enough on the system clock for both watches to open first on a loaded machine.
      const timeoutMs = h.ms(120_000);
      const started = h.clock.now();
      const wait = h.track(h.storage.waitForPhase('web', NAMESPACE, timeoutMs, { untilNot: ['Pending'] }));
      const gone = h.track(h.storage.waitForPhase('gone', NAMESPACE, timeoutMs, { untilNot: ['Pending'] }));
      const watching = await h.reached(
        () => h.transport.openStreams('pods') >= 2,
        () => wait.settled || gone.settled,
        'a watch for each wait before the timeout',
      );
      if (!watching) return;
      assert(h.cluster.faults.stallWatches() >= 2, 'fault: both watches were open to stall');
      h.cluster.setPodPhase(NAMESPACE, 'web', 'Succeeded');
      h.cluster.deletePod(NAMESPACE, 'gone', { gracePeriodSeconds: 0 });
      // Only if the changes came before the deadline must the final read see them.
      if (!h.before(started + timeoutMs)) return;
      const phase = await h.resolves(wait, 'the wait to end', h.quick);
      h.equal(phase, 'Succeeded', 'the final read shows the pod finished, instead of a timeout');
      assert(
        (wait.settledAt ?? 0) >= started + timeoutMs,
        'it came from the final read at the deadline (the stream was stalled)',
      );
      h.equal(
        await h.resolves(gone, 'the wait to end', h.quick),
        null,
        'the final read shows the pod is gone',
      );
    },
    { storage: { inactivityTimeoutMs: 300_000 } },
  );

  suite.test(
    'cancels through AbortSignal while the watch waits for headers',
    async (h) => {
      h.createPod('web');
      h.cluster.faults.stallNextWatch();
      const controller = new AbortController();
      const wait = h.track(
        h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, {
          untilNot: ['Pending'],
          signal: controller.signal,
        }),
      );
      await h.until(() => h.transport.callsOf('watch', 'pods').length >= 1, 'the watch request');
      await h.settle();
      assert(!wait.settled, 'fault precondition: the watch is stuck before headers');
      const reason = cancellation('before headers');
      controller.abort(reason);
      const error = await h.rejects(wait, 'the cancelled wait');
      assert(error === reason, `rejects with the signal's reason, got ${String(error)}`);
      await h.nothingOpen('after cancelling');
    },
    { requires: ['stallBeforeHeaders'] },
  );

  suite.test('cancels through AbortSignal mid-stream and closes the watch', async (h) => {
    h.createPod('web');
    const controller = new AbortController();
    const wait = h.track(
      h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, {
        untilNot: ['Pending'],
        signal: controller.signal,
      }),
    );
    await h.watching('pods');
    const reason = cancellation('mid-stream');
    controller.abort(reason);
    const error = await h.rejects(wait, 'the cancelled wait');
    assert(error === reason, `rejects with the signal's reason, got ${String(error)}`);
    await h.nothingOpen('after cancelling');
  });

  suite.test('rejects with the reason of a signal aborted before the call', async (h) => {
    h.createPod('web');
    const reason = cancellation('already aborted');
    const error = await h.rejects(
      h.storage.waitForPhase('web', NAMESPACE, LONG_TIMEOUT, {
        untilNot: ['Pending'],
        signal: AbortSignal.abort(reason),
      }),
      'a wait with an aborted signal',
    );
    assert(error === reason, `rejects with the signal's reason, got ${String(error)}`);
    await h.nothingOpen('after the aborted call');
  });

  suite.test('rejects invalid names and namespaces with InvalidInputError before any request', async (h) => {
    const cases: readonly (readonly [string, string, unknown])[] = [
      ['Bad_Name', NAMESPACE, 'Bad_Name'],
      ['', NAMESPACE, ''],
      ['a'.repeat(254), NAMESPACE, 'a'.repeat(254)],
      ['../secrets', NAMESPACE, '../secrets'],
      ['web?watch=true', NAMESPACE, 'web?watch=true'],
      ['web', 'Default', 'Default'],
      ['web', 'kube/system', 'kube/system'],
      ['web', '', ''],
    ];
    for (const [name, namespace, bad] of cases) {
      const check = (error: unknown, call: string) => {
        assert(InvalidInputError.isInstance(error), `${call}: an InvalidInputError, got ${String(error)}`);
        h.equal(error.value, bad, `${call}: the error carries the bad value`);
        if (bad !== '')
          assert(error.message.includes(String(bad)), `${call}: the message names ${String(bad)}`);
      };
      const label = `(${JSON.stringify(name)}, ${JSON.stringify(namespace)})`;
      check(
        await h.rejects(
          h.storage.waitForPhase(name, namespace, 1_000, { untilNot: ['Pending'] }),
          `waitForPhase${label}`,
        ),
        `waitForPhase${label}`,
      );
      check(
        await h.rejects(
          h.storage.deleteAfterCompletion(name, namespace, 1_000),
          `deleteAfterCompletion${label}`,
        ),
        `deleteAfterCompletion${label}`,
      );
      let thrown: unknown;
      try {
        h.storage.eventsForPod(name, namespace, 1_000);
      } catch (error) {
        thrown = error;
      }
      check(thrown, `eventsForPod${label} (throws synchronously)`);
    }
    for (const namespace of ['Default', 'a/b', '']) {
      let thrown: unknown;
      try {
        h.storage.watchPodChanges(namespace);
      } catch (error) {
        thrown = error;
      }
      assert(
        InvalidInputError.isInstance(thrown),
        `watchPodChanges(${JSON.stringify(namespace)}) throws InvalidInputError`,
      );
    }
    h.equal(h.transport.calls.length, 0, 'the storage made no transport call');
    const requests = h.cluster.stats().requests;
    h.equal(
      Object.values(requests).reduce((sum, count) => sum + count, 0),
      0,
      `the cluster saw no request: ${JSON.stringify(requests)}`,
    );
  });
}
