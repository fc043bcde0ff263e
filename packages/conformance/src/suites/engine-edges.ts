import { KubernetesError } from '@podstorage/core';
import { assert } from '../check.js';
import { NAMESPACE } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

/**
 * Edges of the engine that mutation testing found unguarded: changes of an event that are not a new
 * occurrence, events of a pod that does not exist yet, stopping watchPodChanges while it waits, waits
 * that count towards sharing only while they run, and a delete refused for good.
 */
export function engineEdgeScenarios(suite: SuiteBuilder): void {
  suite.test(
    'eventsForPod: an event that changes without its count growing is not yielded again, nor a blank message',
    async (h) => {
      h.createPod('web');
      const pulling = h.cluster.recordPodEvent(
        { namespace: NAMESPACE, name: 'web' },
        { reason: 'Pulling', message: 'Pulling image "x"' },
      );
      const events = h.collect(h.storage.eventsForPod('web', NAMESPACE, LONG_TIMEOUT));
      await h.until(() => events.items.length >= 1, 'the existing event');
      await h.watching('events');
      // Someone annotates the event: a MODIFIED with the same count.
      h.cluster.updateEvent({
        ...pulling,
        metadata: { ...pulling.metadata, annotations: { 'conformance.podstorage.dev/seen': 'yes' } },
      });
      h.cluster.recordPodEvent({ namespace: NAMESPACE, name: 'web' }, { reason: 'Blank', message: '   ' });
      h.cluster.recordPodEvent({ namespace: NAMESPACE, name: 'web' }, { reason: 'Pulled', message: 'after' });
      // The stream delivers in order: anything yielded wrongly comes before 'after'.
      await h.until(() => events.items.length >= 2, 'the event after the annotation');
      h.equal(events.items, ['Pulling image "x"', 'after'], 'the annotated event once, no blank message');
    },
  );

  suite.test('eventsForPod: yields the events of a pod that does not exist (yet)', async (h) => {
    h.cluster.recordPodEvent(
      { namespace: NAMESPACE, name: 'ghost' },
      { reason: 'FailedCreate', message: 'quota exceeded', component: 'job-controller' },
    );
    const events = h.collect(h.storage.eventsForPod('ghost', NAMESPACE, LONG_TIMEOUT));
    await h.until(() => events.items.length >= 1, 'the event of the missing pod');
    h.equal(events.items, ['quota exceeded'], 'its message');
  });

  suite.test(
    'watchPodChanges: return() while a next() is pending resolves that next() as done',
    async (h) => {
      h.createPod('web');
      const changes = h.storage.watchPodChanges(NAMESPACE);
      const pending = h.track(changes.next());
      await h.watching('pods');
      const stopping = h.track(Promise.resolve(changes.return?.()));
      const result = await h.resolves(pending, 'the pending next()');
      h.equal(result, { done: true, value: undefined }, 'done, not an AbortError');
      await h.resolves(stopping, 'return()');
      await h.nothingOpen('after return()');
    },
  );

  suite.test('waits that ran one after the other never add up to sharing the namespace watch', async (h) => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) {
      h.createPod(name);
      h.cluster.setPodPhase(NAMESPACE, name, 'Running');
      h.equal(
        await h.resolves(
          h.storage.waitForPhase(name, NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
          `the wait for ${name}`,
        ),
        'Running',
        `${name} runs`,
      );
    }
    const lists = h.transport.callsOf('list', 'pods');
    h.equal(
      lists.map((call) => call.options.fieldSelector),
      names.map((name) => ({ 'metadata.name': name })),
      'each wait listed just its pod',
    );
  });

  suite.test(
    'deleteAfterCompletion rejects with a final refusal of the delete, without retrying it',
    async (h) => {
      h.createPod('job');
      h.cluster.setPodPhase(NAMESPACE, 'job', 'Succeeded');
      h.cluster.faults.failNext(
        1,
        { code: 403, reason: 'Forbidden', message: 'conformance: may not delete' },
        { resource: 'pods', verbs: ['delete'] },
      );
      const error = await h.rejects(
        h.storage.deleteAfterCompletion('job', NAMESPACE, LONG_TIMEOUT),
        'deleteAfterCompletion with a forbidden delete',
      );
      assert(KubernetesError.isInstance(error), `a KubernetesError, got ${String(error)}`);
      h.equal(error.code, 403, 'the server code');
      h.equal(h.transport.callsOf('delete').length, 1, 'one delete: a 403 is final');
      assert(h.cluster.getPod(NAMESPACE, 'job') !== undefined, 'the pod was not deleted');
    },
  );
}
