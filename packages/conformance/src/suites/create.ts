import { KubernetesError, type Pod, type PodTransport } from '@podstorage/core';
import { assert } from '../check.js';
import { type Harness, NAMESPACE, podManifest } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { cancellation } from './common.js';

const never = () => new AbortController().signal;

/** The backend's `create`, which this group needs (capability `create`). */
function create(h: Harness): NonNullable<PodTransport['create']> {
  const { transport } = h.backend;
  assert(transport.create, 'the backend declares the create capability, so its transport has create()');
  return transport.create.bind(transport);
}

/** transport.create: what programs that start pods rely on, when a backend offers it. */
export function createScenarios(suite: SuiteBuilder): void {
  suite.test(
    'creates a pod as the server stores it, and the storage follows it to the end',
    async (h) => {
      const created = await create(h)('pods', NAMESPACE, podManifest('made'), { signal: never() });
      const stored = h.cluster.getPod(NAMESPACE, 'made');
      assert(stored?.metadata?.uid, 'the pod is in the cluster');
      h.equal(created.metadata?.uid, stored.metadata?.uid, 'create returns the stored pod, uid included');
      h.equal(created.metadata?.namespace, NAMESPACE, 'in the namespace of the request');
      const phase = await h.resolves(
        h.storage.waitForPhase('made', NAMESPACE, 600_000, { untilNot: ['Pending', 'Running'] }),
        'the created pod to finish',
        h.quick,
      );
      h.equal(phase, 'Succeeded', 'the simulated kubelet ran it');
    },
    { mode: 'simulated', requires: ['create'] },
  );

  suite.test(
    'names a pod from generateName and creates events',
    async (h) => {
      const generated = await create(h)(
        'pods',
        NAMESPACE,
        { ...podManifest('ignored'), metadata: { generateName: 'batch-', namespace: NAMESPACE } },
        { signal: never() },
      );
      const name = generated.metadata?.name ?? '';
      assert(/^batch-[a-z0-9]{5}$/.test(name), `a generated name, got ${JSON.stringify(name)}`);
      assert(h.cluster.getPod(NAMESPACE, name), 'the generated pod is in the cluster');
      const event = await create(h)(
        'events',
        NAMESPACE,
        {
          metadata: { name: `${name}.1`, namespace: NAMESPACE },
          involvedObject: { kind: 'Pod', name, namespace: NAMESPACE, uid: generated.metadata?.uid },
          reason: 'Custom',
          message: 'recorded by a client',
        },
        { signal: never() },
      );
      h.equal(
        h.cluster.getEvent(NAMESPACE, event.metadata?.name ?? '')?.message,
        'recorded by a client',
        'stored',
      );
    },
    { requires: ['create'] },
  );

  suite.test(
    'refusals are KubernetesErrors with the server code, and nothing is created',
    async (h) => {
      h.createPod('taken');
      const before = h.cluster.resourceVersion();
      const refused = async (object: Pod, what: string) => {
        const error = await create(h)('pods', NAMESPACE, object, { signal: never() }).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        assert(KubernetesError.isInstance(error), `${what}: a KubernetesError, got ${String(error)}`);
        return error.code;
      };
      h.equal(await refused(podManifest('taken'), 'a duplicate name'), 409, 'AlreadyExists is 409');
      h.equal(await refused(podManifest('Not_Valid'), 'an invalid name'), 422, 'Invalid is 422');
      h.equal(
        await refused(podManifest('elsewhere', 'other-namespace'), 'a pod of another namespace'),
        400,
        'a namespace that differs from the request is 400',
      );
      h.equal(h.cluster.resourceVersion(), before, 'nothing was written');
    },
    { requires: ['create'] },
  );

  suite.test(
    'a create cancelled by its signal rejects with the reason and creates nothing',
    async (h) => {
      // Long enough on the system clock that the abort lands first, but for a badly loaded machine.
      const latencyMs = h.clockMode === 'system' ? 1_000 : 5_000;
      h.cluster.faults.latency(latencyMs, { verbs: ['create'] });
      const controller = new AbortController();
      // On the cluster's clock, which times the latency: the request reaches it at this time or later.
      const sent = h.cluster.clock.now();
      const creating = h.track(
        create(h)('pods', NAMESPACE, podManifest('late'), { signal: controller.signal }),
      );
      await h.until(() => h.cluster.stats().requests.create === 1, 'the create to reach the cluster');
      // On the system clock the latency may have passed already: then there is nothing to cancel.
      if (h.cluster.clock.now() >= sent + latencyMs && h.clockMode === 'system') return;
      const reason = cancellation('create');
      controller.abort(reason);
      await h.until(() => creating.settled, 'the create to settle');
      h.equal(creating.reason, reason, 'rejects with the reason');
      // Past the latency: a server that went on with the cancelled create would have stored it by now.
      await h.advance(latencyMs * 2);
      h.equal(h.cluster.getPod(NAMESPACE, 'late'), undefined, 'no pod was created');
    },
    { requires: ['create', 'latency'] },
  );
}
