import type { PodChange } from '@podstorage/core';
import { assert } from '../check.js';
import { type Harness, NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { cancellation } from './common.js';

type Seen = { name: string | undefined; resourceVersion: string | undefined; phase: string };

const summary = (change: PodChange): Seen => ({
  name: change.pod.metadata?.name,
  resourceVersion: change.pod.metadata?.resourceVersion,
  phase: change.phase,
});

/** Fails if any (uid, resourceVersion) was yielded twice, or a change's phase disagrees with its pod. */
function checkChanges(h: Harness, changes: readonly PodChange[]): void {
  const seen = new Set<string>();
  for (const change of changes) {
    const key = `${change.pod.metadata?.uid}@${change.pod.metadata?.resourceVersion}`;
    assert(!seen.has(key), `resourceVersion ${key} of pod ${change.pod.metadata?.name} was yielded twice`);
    seen.add(key);
    h.equal(
      change.phase,
      change.pod.status?.phase ?? 'Pending',
      'PodChange.phase is the phase of PodChange.pod',
    );
  }
}

/** watchPodChanges: every modification once, across reconnects and 410s; never creations or deletions. */
export function watchPodChangesScenarios(suite: SuiteBuilder): void {
  suite.test('yields modifications only, not creations or deletions, with the right phase', async (h) => {
    for (const name of ['a', 'b', 'c']) h.createPod(name);
    const truth = h.oracle('pods');
    const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
    await h.watching('pods');
    h.createPod('d');
    h.cluster.setPodPhase(NAMESPACE, 'a', 'Running');
    h.cluster.setPodPhase(NAMESPACE, 'b', 'Running');
    h.cluster.setPodPhase(NAMESPACE, 'a', 'Succeeded');
    h.cluster.deletePod(NAMESPACE, 'c', { gracePeriodSeconds: 0 });
    h.cluster.deletePod(NAMESPACE, 'd', { gracePeriodSeconds: 0 });
    await h.until(
      () => truth.items.some((event) => event.type === 'DELETED' && event.object.metadata?.name === 'd'),
      'the cluster to report every change',
    );
    const modified = truth.items.filter((event) => event.type === 'MODIFIED');
    const expected = modified.map((event) => ({
      name: event.type === 'MODIFIED' ? event.object.metadata?.name : undefined,
      resourceVersion: event.type === 'MODIFIED' ? event.object.metadata?.resourceVersion : undefined,
      phase: event.type === 'MODIFIED' ? (event.object.status?.phase ?? 'Pending') : '',
    }));
    assert(expected.length >= 3, 'fake precondition: three phase changes were MODIFIED events');
    await h.until(() => changes.items.length >= expected.length, `${expected.length} changes`);
    await h.settle();
    h.equal(changes.items.map(summary), expected, 'exactly the MODIFIED events, in order');
    checkChanges(h, changes.items);
  });

  suite.test('reports each pod changed during a reconnect gap exactly once', async (h) => {
    for (const name of ['p1', 'p2', 'p3', 'p4']) h.createPod(name);
    const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
    await h.watching('pods');
    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch to reset');
    const p1 = h.cluster.setPodPhase(NAMESPACE, 'p1', 'Running');
    const p2 = h.cluster.setPodPhase(NAMESPACE, 'p2', 'Failed');
    h.createPod('created-in-gap');
    h.cluster.deletePod(NAMESPACE, 'p4', { gracePeriodSeconds: 0 });
    await h.until(() => changes.items.length >= 2, 'the changes made in the gap', h.quick);
    await h.advance(h.ms(10_000), h.ms(100));
    const seen = changes.items.map(summary).sort((x, y) => String(x.name).localeCompare(String(y.name)));
    h.equal(
      seen.filter((change) => change.name !== 'p4'),
      [
        { name: 'p1', resourceVersion: p1.metadata?.resourceVersion, phase: 'Running' },
        { name: 'p2', resourceVersion: p2.metadata?.resourceVersion, phase: 'Failed' },
      ],
      'p1 and p2 once each; nothing for the pod created in the gap',
    );
    checkChanges(h, changes.items);
  });

  suite.test(
    'reports each pod changed during a gap ending in 410 exactly once, in its latest state',
    async (h) => {
      for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) h.createPod(name);
      const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
      await h.watching('pods');
      assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch to reset');
      h.cluster.setPodPhase(NAMESPACE, 'p1', 'Running');
      const p1 = h.cluster.setPodPhase(NAMESPACE, 'p1', 'Succeeded');
      const p2 = h.cluster.setPodPhase(NAMESPACE, 'p2', 'Running');
      h.cluster.deletePod(NAMESPACE, 'p3', { gracePeriodSeconds: 0 });
      h.createPod('created-in-gap');
      h.cluster.faults.compact();
      await h.until(() => h.storage.counters().relists >= 1, 'a relist after 410', h.quick);
      await h.until(() => changes.items.length >= 2, 'the changes made in the gap', h.quick);
      await h.advance(h.ms(10_000), h.ms(100));
      const seen = changes.items.map(summary).sort((x, y) => String(x.name).localeCompare(String(y.name)));
      h.equal(
        seen,
        [
          { name: 'p1', resourceVersion: p1.metadata?.resourceVersion, phase: 'Succeeded' },
          { name: 'p2', resourceVersion: p2.metadata?.resourceVersion, phase: 'Running' },
        ],
        'p1 (changed twice) and p2 once each, latest state; nothing for unchanged, deleted or created pods',
      );
      checkChanges(h, changes.items);

      const before = changes.items.length;
      const p5 = h.cluster.setPodPhase(NAMESPACE, 'p5', 'Running');
      await h.until(() => changes.items.length > before, 'a change after the relist');
      h.equal(
        changes.items.slice(before).map(summary),
        [{ name: 'p5', resourceVersion: p5.metadata?.resourceVersion, phase: 'Running' }],
        'watching goes on after the relist',
      );
    },
  );

  suite.test('never yields the same resourceVersion twice across stall, end and reset', async (h) => {
    for (const name of ['q1', 'q2', 'q3']) h.createPod(name);
    const changes = h.collect(h.storage.watchPodChanges(NAMESPACE));
    await h.watching('pods');
    const has = (name: string, resourceVersion: string | undefined) =>
      changes.items.some(
        (change) =>
          change.pod.metadata?.name === name && change.pod.metadata.resourceVersion === resourceVersion,
      );

    assert(h.cluster.faults.stallWatches() >= 1, 'fault: a watch to stall');
    const q1 = h.cluster.setPodPhase(NAMESPACE, 'q1', 'Running');
    await h.until(() => has('q1', q1.metadata?.resourceVersion), 'q1 after the stall', h.slow);
    await h.watching('pods');

    assert(h.cluster.faults.endWatches() >= 1, 'fault: a watch to end');
    const q2 = h.cluster.setPodPhase(NAMESPACE, 'q2', 'Running');
    await h.until(() => has('q2', q2.metadata?.resourceVersion), 'q2 after the end', h.quick);
    await h.watching('pods');

    assert(h.cluster.faults.resetWatches() >= 1, 'fault: a watch to reset');
    const q3 = h.cluster.setPodPhase(NAMESPACE, 'q3', 'Running');
    const q1done = h.cluster.setPodPhase(NAMESPACE, 'q1', 'Succeeded');
    await h.until(
      () => has('q3', q3.metadata?.resourceVersion) && has('q1', q1done.metadata?.resourceVersion),
      'q3 and q1 after the reset',
      h.quick,
    );
    await h.advance(h.timings.inactivityTimeoutMs * 2, h.ms(1_000));
    checkChanges(h, changes.items);
    h.equal(changes.items.length, 4, 'four modifications, four changes');
  });

  suite.test('break closes the watch', async (h) => {
    h.createPod('web');
    const iterator = h.storage.watchPodChanges(NAMESPACE);
    const seen: string[] = [];
    const loop = h.track(
      (async () => {
        for await (const change of iterator) {
          seen.push(change.phase);
          break;
        }
      })(),
    );
    await h.watching('pods');
    h.cluster.setPodPhase(NAMESPACE, 'web', 'Running');
    await h.resolves(loop, 'the loop with break');
    h.equal(seen, ['Running'], 'one change, then out');
    await h.nothingOpen('after break');
  });

  suite.test('an AbortSignal stops it with its reason and closes the watch', async (h) => {
    h.createPod('web');
    const controller = new AbortController();
    const changes = h.collect(h.storage.watchPodChanges(NAMESPACE, { signal: controller.signal }));
    await h.watching('pods');
    const reason = cancellation('watchPodChanges');
    controller.abort(reason);
    await h.until(() => changes.finished, 'the iteration to stop');
    assert(
      changes.failed && changes.error === reason,
      `throws the signal's reason, got ${String(changes.error)}`,
    );
    await h.nothingOpen('after the abort');
  });
}
