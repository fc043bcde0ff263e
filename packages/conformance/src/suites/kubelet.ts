import { PodTimeoutError } from '@podstorage/core';
import { assert } from '../check.js';
import { NAMESPACE, podManifest } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

/**
 * The operations over pods that behave as on a node (the fake's simulated kubelet, after
 * pkg/kubelet/kubelet_pods.go getPhase): a job that exits non-zero with restartPolicy Never is Failed;
 * a crash-looping pod with restartPolicy Always stays Running, so it never "finishes".
 */
export function kubeletScenarios(suite: SuiteBuilder): void {
  suite.test(
    'a Never pod whose command exits 3 is Failed, and deleteAfterCompletion deletes it',
    async (h) => {
      const manifest = podManifest('exits');
      h.cluster.createPod({
        ...manifest,
        spec: {
          ...manifest.spec,
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo hi; exit 3'] }],
        },
      });
      const phase = await h.resolves(
        h.storage.deleteAfterCompletion('exits', NAMESPACE, LONG_TIMEOUT),
        'deleteAfterCompletion of a pod that exits 3',
        h.quick,
      );
      h.equal(phase, 'Failed', 'exit code 3 with restartPolicy Never: Failed');
      h.equal(h.transport.callsOf('delete', 'pods').length, 1, 'deleted once it failed');
    },
    { mode: 'simulated' },
  );

  suite.test(
    'a CrashLoopBackOff pod (restartPolicy Always) never finishes: deleteAfterCompletion times out and deletes nothing',
    async (h) => {
      const manifest = podManifest('loops');
      h.cluster.createPod(
        {
          ...manifest,
          spec: { ...manifest.spec, containers: manifest.spec?.containers ?? [], restartPolicy: 'Always' },
        },
        { lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(1_000), runMs: h.ms(1_000), exitCode: 1 } },
      );
      const timeoutMs = h.ms(30_000);
      const done = h.track(h.storage.deleteAfterCompletion('loops', NAMESPACE, timeoutMs));
      const error = await h.rejects(done, 'deleteAfterCompletion of a crash-looping pod', h.quick);
      assert(PodTimeoutError.isInstance(error), `a PodTimeoutError, got ${String(error)}`);
      const pod = h.cluster.getPod(NAMESPACE, 'loops');
      h.equal(pod?.status?.phase, 'Running', 'a crash-looping pod with restartPolicy Always stays Running');
      const restarts = pod?.status?.containerStatuses?.[0]?.restartCount ?? 0;
      assert(restarts >= 1, `the kubelet restarted it (restartCount ${restarts})`);
      h.equal(h.transport.callsOf('delete', 'pods').length, 0, 'nothing deleted');
    },
    { mode: 'simulated' },
  );

  suite.test(
    'a pod evicted under node memory pressure is Failed (reason Evicted), and deleteAfterCompletion deletes it',
    async (h) => {
      // pkg/kubelet/eviction/eviction_manager.go evictPod: phase Failed, reason Evicted, the pod kept.
      h.cluster.createPod(podManifest('hog'), {
        lifecycle: {
          scheduleAfterMs: h.ms(100),
          pullMs: h.ms(1_000),
          runMs: h.ms(3_600_000), // a server: it runs until the kubelet stops it
          stopMs: h.ms(1_000),
          usage: { memory: '300Mi' },
        },
      });
      const running = await h.resolves(
        h.storage.waitForPhase('hog', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Pending'] }),
        'the pod to run',
        h.quick,
      );
      h.equal(running, 'Running', 'the pod runs first');
      const finished = h.track(
        h.storage.waitForPhase('hog', NAMESPACE, LONG_TIMEOUT, { untilNot: ['Running'] }),
      );
      // The first wait's watch may still be closing while the pressure changes the pod: over HTTP/2 the
      // fake once kept such a reset stream open (no 'close' until its request side was read), and the
      // storage.close() check at the end of every scenario failed. Whether the pressure comes before
      // this wait's read or during its watch, the wait ends Failed.
      const node = h.cluster.getPod(NAMESPACE, 'hog')?.spec?.nodeName ?? '';
      h.cluster.setNodePressure(node, 'memory', { available: '50Mi' });
      const phase = await h.resolves(finished, 'waitForPhase from Running', h.quick);
      h.equal(phase, 'Failed', 'an evicted pod is Failed');
      h.equal(h.cluster.getPod(NAMESPACE, 'hog')?.status?.reason, 'Evicted', 'its reason is Evicted');
      const deleted = await h.resolves(
        h.storage.deleteAfterCompletion('hog', NAMESPACE, LONG_TIMEOUT),
        'deleteAfterCompletion of the evicted pod',
        h.quick,
      );
      h.equal(deleted, 'Failed', 'deleteAfterCompletion saw it finished');
      h.equal(h.transport.callsOf('delete', 'pods').length, 1, 'deleted once');
      await h.until(() => h.cluster.getPod(NAMESPACE, 'hog') === undefined, 'the evicted pod to go', h.quick);
      h.cluster.setNodePressure(node, 'memory', false);
    },
    { mode: 'simulated' },
  );
}
