import { PodTimeoutError, type PodTransport } from '@podstorage/core';
import type { FakeCluster } from '@podstorage/fake';
import { assert } from '../check.js';
import { NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

/** A transport whose delete runs `before` against the cluster first, then calls through. */
function deleteHook(before: (cluster: FakeCluster, namespace: string, name: string) => void) {
  return (transport: PodTransport, cluster: FakeCluster): PodTransport => ({
    get: transport.get.bind(transport),
    list: transport.list.bind(transport),
    watch: transport.watch.bind(transport),
    delete: (resource, namespace, name, options) => {
      if (resource === 'pods') before(cluster, namespace, name);
      return transport.delete(resource, namespace, name, options);
    },
    ...(transport.refreshCredentials
      ? { refreshCredentials: transport.refreshCredentials.bind(transport) }
      : {}),
  });
}

/** deleteAfterCompletion: waits for the end, deletes exactly the pod it waited for, never waits for the deletion. */
export function deleteAfterCompletionScenarios(suite: SuiteBuilder): void {
  // Keyed by cluster, so scenarios running concurrently never share what they saw.
  const phasesAtDelete = new WeakMap<FakeCluster, (string | undefined)[]>();
  const recordPhase = deleteHook((cluster, namespace, name) => {
    const phases = phasesAtDelete.get(cluster) ?? [];
    phases.push(cluster.getPod(namespace, name)?.status?.phase);
    phasesAtDelete.set(cluster, phases);
  });

  for (const [outcome, exitCode] of [
    ['Succeeded', 0],
    ['Failed', 1],
  ] as const) {
    suite.test(
      `waits for the pod to finish (${outcome}), then deletes it with a uid precondition`,
      async (h) => {
        const pod = h.createPod('job', {
          lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(1_000), runMs: h.ms(5_000), exitCode },
        });
        const done = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
        await h.until(
          () => h.cluster.getPod(NAMESPACE, 'job')?.status?.phase === 'Running',
          'the pod to run',
          h.quick,
        );
        await h.settle();
        const deletesWhileRunning = h.transport.callsOf('delete').length;
        // Read after the count: if the pod runs now, it ran when the deletes were counted. (On the system
        // clock a loaded machine may see it finished already; the recorded phases at delete still check.)
        const phaseNow = h.cluster.getPod(NAMESPACE, 'job')?.status?.phase;
        if (h.clockMode === 'fake') h.equal(phaseNow, 'Running', 'fake precondition: the pod still runs');
        if (phaseNow === 'Running') h.equal(deletesWhileRunning, 0, 'a running pod is not deleted');
        h.equal(await h.resolves(done, 'deleteAfterCompletion', h.quick), outcome, 'returns the final phase');
        const deletes = h.transport.callsOf('delete', 'pods');
        h.equal(deletes.length, 1, 'one delete');
        h.equal(phasesAtDelete.get(h.cluster), [outcome], 'deleted only once the pod had finished');
        h.equal(
          (deletes[0]?.options.preconditions as { uid?: string } | undefined)?.uid,
          pod.metadata?.uid,
          'the delete carries the uid of the pod waited for',
        );
        const after = h.cluster.getPod(NAMESPACE, 'job');
        assert(after === undefined || after.metadata?.deletionTimestamp, 'the pod is gone or terminating');
      },
      { mode: 'simulated', wrap: recordPhase },
    );
  }

  suite.test('resolves null for a pod that is already gone, with a warning and no delete', async (h) => {
    const result = await h.resolves(
      h.storage.deleteAfterCompletion('absent', NAMESPACE, LONG_TIMEOUT),
      'deleteAfterCompletion',
    );
    h.equal(result, null, 'null: nothing to delete');
    h.equal(h.transport.callsOf('delete').length, 0, 'no delete request');
    assert(
      h.logs.some((entry) => entry.level === 'warn'),
      'the missing pod is logged as a warning',
    );
  });

  const replacementUids = new WeakMap<FakeCluster, (string | undefined)[]>();
  suite.test(
    'never deletes a new pod that took the name between completion and delete',
    async (h) => {
      const original = h.createPod('job');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
      const done = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
      await h.watching('pods');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.equal(
        await h.resolves(done, 'deleteAfterCompletion', h.quick),
        'Succeeded',
        'the precondition conflict is success',
      );
      const replaced = replacementUids.get(h.cluster) ?? [];
      h.equal(replaced.length, 1, 'the hook replaced the pod right before the delete');
      const now = h.cluster.getPod(NAMESPACE, 'job');
      assert(now, 'the replacement pod still exists');
      assert(
        now.metadata?.uid !== original.metadata?.uid,
        'fake precondition: the replacement has a new uid',
      );
      h.equal(now.metadata?.uid, replaced[0], 'it is the replacement');
      h.equal(now.metadata?.deletionTimestamp, undefined, 'and it is not being deleted');
    },
    {
      wrap: deleteHook((cluster, namespace, name) => {
        cluster.deletePod(namespace, name, { gracePeriodSeconds: 0 });
        const pod = cluster.createPod({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'main', image: 'registry.example/conformance:2' }],
          },
        });
        replacementUids.set(cluster, [...(replacementUids.get(cluster) ?? []), pod.metadata?.uid]);
      }),
    },
  );

  suite.test('treats 404 on the delete as success', async (h) => {
    h.createPod('job');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
    const done = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
    await h.watching('pods');
    h.cluster.faults.failNext(
      1,
      { code: 404, reason: 'NotFound', message: 'pods "job" not found' },
      { verbs: ['delete'] },
    );
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Failed');
    h.equal(
      await h.resolves(done, 'deleteAfterCompletion', h.quick),
      'Failed',
      'a pod already gone is success',
    );
    h.equal(h.transport.callsOf('delete').length, 1, 'the delete was tried once');
  });

  suite.test('does not wait for the deletion to complete (finalizers keep the pod)', async (h) => {
    h.createPod('kept', { finalizers: ['conformance.podstorage.dev/hold'] });
    h.cluster.setPodPhase(NAMESPACE, 'kept', 'Running');
    const done = h.track(h.storage.deleteAfterCompletion('kept', NAMESPACE, LONG_TIMEOUT));
    await h.watching('pods');
    h.cluster.setPodPhase(NAMESPACE, 'kept', 'Succeeded');
    h.equal(
      await h.resolves(done, 'deleteAfterCompletion'),
      'Succeeded',
      'resolves although the pod remains',
    );
    const pod = h.cluster.getPod(NAMESPACE, 'kept');
    assert(pod?.metadata?.deletionTimestamp, 'the pod is terminating, held by its finalizer');
    h.cluster.removeFinalizers(NAMESPACE, 'kept');
  });

  suite.test('keeps waiting while the pod is Unknown', async (h) => {
    h.createPod('job');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Running');
    const done = h.track(h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT));
    await h.watching('pods');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Unknown');
    await h.advance(h.ms(5_000));
    assert(!done.settled, 'Unknown has not finished');
    h.equal(h.transport.callsOf('delete').length, 0, 'an Unknown pod is not deleted');
    h.cluster.setPodPhase(NAMESPACE, 'job', 'Failed');
    h.equal(await h.resolves(done, 'deleteAfterCompletion', h.quick), 'Failed', 'deleted once Failed');
    h.equal(h.transport.callsOf('delete').length, 1, 'one delete');
  });

  suite.test(
    'rejects PodTimeoutError and deletes nothing when the pod does not finish in time',
    async (h) => {
      h.createPod('forever');
      h.cluster.setPodPhase(NAMESPACE, 'forever', 'Running');
      const timeoutMs = h.ms(10_000);
      const started = h.clock.now();
      const done = h.track(h.storage.deleteAfterCompletion('forever', NAMESPACE, timeoutMs));
      await h.reached(
        () => h.isWatching('pods'),
        () => done.settled,
        'a watch before the timeout',
      );
      await h.advanceTo(started + h.ms(9_900), h.ms(100));
      const settled = done.settled;
      if (h.before(started + timeoutMs)) assert(!settled, 'no answer before the timeout');
      const error = await h.rejects(done, 'deleteAfterCompletion', h.quick);
      assert(PodTimeoutError.isInstance(error), `a PodTimeoutError, got ${String(error)}`);
      assert(error.elapsedMs >= timeoutMs, `elapsedMs covers the timeout, got ${error.elapsedMs}`);
      h.equal(h.transport.callsOf('delete').length, 0, 'nothing deleted');
      h.equal(
        h.cluster.getPod(NAMESPACE, 'forever')?.metadata?.deletionTimestamp,
        undefined,
        'the pod is untouched',
      );
    },
  );
}
