// Every event reason and message, and every container waiting/terminated reason and message, that the
// simulated kubelet, scheduler and controllers write, pinned to what the v1.32 components write
// (kubernetes/kubernetes, the file named beside each). Where later versions changed the wording, the
// comment says how, so a move to another served version knows what to change.
import type { KubernetesEvent, Pod } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { collect, waitFor } from './test-support.js';

type Container = NonNullable<Pod['spec']>['containers'][number];

function manifest(
  name: string,
  container: Partial<Container> = {},
  spec: Partial<NonNullable<Pod['spec']>> = {},
) {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy: 'Always' as const,
      ...spec,
      containers: [{ name: 'main', image: 'nginx:1.27', ...container }],
    },
  };
}

/** `Type Reason: message` of the pod's events, oldest first. */
function events(cluster: FakeCluster, name: string): string[] {
  return (
    cluster.listEvents('default', { fieldSelector: { 'involvedObject.name': name } })
      .items as KubernetesEvent[]
  )
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((event) => `${event.type} ${event.reason}: ${event.message}`);
}

const main = (cluster: FakeCluster, name: string) =>
  cluster.getPod('default', name)?.status?.containerStatuses?.[0];

describe('the messages of the v1.32 kubelet, scheduler and controllers', () => {
  it('starting a container: Scheduled, Pulling, Pulled, Created, Started; ContainerCreating before', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(manifest('web'));
    await cluster.clock.advance(100);
    // pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses: a container not created yet waits
    // with reason ContainerCreating (PodInitializing while init containers run), no message.
    expect(main(cluster, 'web')?.state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    await cluster.clock.advance(1_000);
    expect(events(cluster, 'web')).toEqual([
      // pkg/scheduler/schedule_one.go handleBindingCycle: "Successfully assigned %v/%v to %v".
      'Normal Scheduled: Successfully assigned default/web to fake-node-1',
      // pkg/kubelet/images/image_manager.go EnsureImageExists: "Pulling image %q", then "Successfully
      // pulled image %q in %v (%v including waiting). Image size: %v bytes." (durations truncated to ms).
      'Normal Pulling: Pulling image "nginx:1.27"',
      'Normal Pulled: Successfully pulled image "nginx:1.27" in 1s (1s including waiting). Image size: 4269694 bytes.',
      // pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer: v1.32 records
      // fmt.Sprintf("Created container %s") and fmt.Sprintf("Started container %s"). Newer kubelets
      // write "Created container: %v" (the printf clean-up for Go 1.24's vet, after v1.32) and from
      // v1.35 no name at all ("Container started", kubernetes#134043).
      'Normal Created: Created container main',
      'Normal Started: Started container main',
    ]);

    // image_manager.go: an IfNotPresent image (a tag other than latest) already on the node.
    cluster.createPod(manifest('again'));
    await cluster.clock.advance(200);
    expect(events(cluster, 'again')).toContain(
      'Normal Pulled: Container image "nginx:1.27" already present on machine',
    );
  });

  it('stopping and ending: Killing, and the terminated reasons Completed, Error, OOMKilled', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(manifest('server'));
    cluster.createPod(manifest('ok', { command: ['sh', '-c', 'echo done'] }, { restartPolicy: 'Never' }));
    cluster.createPod(manifest('fails', { command: ['sh', '-c', 'exit 3'] }, { restartPolicy: 'Never' }));
    cluster.createPod(manifest('oom'), { lifecycle: { runMs: 500, oomKilled: true } });
    await cluster.clock.advance(3_000);
    // The runtime's reasons (containerd: Completed for exit 0, Error otherwise, OOMKilled for the
    // kernel's OOM kill), as pkg/kubelet/kuberuntime/helpers.go toKubeContainerState passes them on.
    expect(main(cluster, 'ok')?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(main(cluster, 'fails')?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(main(cluster, 'oom')?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    cluster.deletePod('default', 'server');
    await cluster.clock.advance(100);
    // kuberuntime_container.go killContainer: "Stopping container %s" (reason Killing), recorded
    // before the preStop hook runs.
    expect(events(cluster, 'server')).toContain('Normal Killing: Stopping container main');
  });

  it('a crash loop: the BackOff event and the CrashLoopBackOff message, 10 s doubling to 5m0s', async () => {
    const cluster = new FakeCluster();
    const created = cluster.createPod(manifest('loop', { command: ['sh', '-c', 'exit 1'] }));
    const uid = created.metadata?.uid;
    const backOffs: string[] = [];
    for (let elapsed = 0; elapsed < 20 * 60_000; elapsed += 500) {
      await cluster.clock.advance(500);
      const message = main(cluster, 'loop')?.state?.waiting?.message;
      if (message !== undefined && backOffs.at(-1) !== message) backOffs.push(message);
    }
    // pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff: the waiting message
    // fmt.Errorf("back-off %s restarting failed container=%s pod=%s", backOff.Get(key), …,
    // format.Pod(pod)) with Go's Duration format, and format.Pod's "name_namespace(uid)".
    const pod = `loop_default(${uid})`;
    expect(backOffs.slice(0, 6)).toEqual(
      ['10s', '20s', '40s', '1m20s', '2m40s', '5m0s'].map(
        (backOff) => `back-off ${backOff} restarting failed container=main pod=${pod}`,
      ),
    );
    expect(main(cluster, 'loop')?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    // doBackOff's event: "Back-off restarting failed container %s in pod %s" (Warning BackOff).
    expect(events(cluster, 'loop')).toContain(
      `Warning BackOff: Back-off restarting failed container main in pod ${pod}`,
    );
  });

  it('image pull failures: ErrImagePull, then ImagePullBackOff; ErrImageNeverPull', async () => {
    const cluster = new FakeCluster();
    // Every state the kubelet writes, from the watch (ErrImagePull turns to ImagePullBackOff at once).
    const seen = collect<Pod>(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    cluster.createPod(manifest('nope', { image: 'nope' }), { lifecycle: { imagePullError: true } });
    await cluster.clock.advance(3_000);
    await waitFor(
      () =>
        seen.events.some(
          (change) =>
            (change.object as Pod).status?.containerStatuses?.[0]?.state?.waiting?.reason ===
            'ImagePullBackOff',
        ),
      'the back-off watched',
    );
    const waiting: { reason?: string; message?: string }[] = [];
    for (const change of seen.events) {
      const state = (change.object as Pod).status?.containerStatuses?.[0]?.state?.waiting;
      if (state !== undefined && waiting.at(-1)?.reason !== state.reason) waiting.push(state);
    }
    // containerd's error for a tag the registry does not have.
    const runtime =
      'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nope:latest": failed to resolve reference "docker.io/library/nope:latest": docker.io/library/nope:latest: not found';
    expect(waiting).toEqual([
      { reason: 'ContainerCreating' },
      // image_manager.go evalCRIPullErr: ErrImagePull with the runtime's error as the message.
      { reason: 'ErrImagePull', message: runtime },
      // image_manager.go: in back-off, "Back-off pulling image %q" as both event and waiting message.
      // (From v1.33 the message goes on with the last pull's error: `…: ErrImagePull: rpc error: …`.)
      { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' },
    ]);
    expect(events(cluster, 'nope')).toEqual(
      expect.arrayContaining([
        // image_manager.go: "Failed to pull image %q: %v" (reason Failed).
        `Warning Failed: Failed to pull image "nope": ${runtime}`,
        // kuberuntime_container.go startContainer: "Error: %v" with the error's name (reason Failed).
        'Warning Failed: Error: ErrImagePull',
        'Normal BackOff: Back-off pulling image "nope"',
        'Warning Failed: Error: ImagePullBackOff',
      ]),
    );

    // image_manager.go imagePullPrecheck: "Container image %q is not present with pull policy of
    // Never" (event reason ErrImageNeverPull, the waiting reason too).
    cluster.createPod(manifest('never', { image: 'absent:1', imagePullPolicy: 'Never' }));
    await cluster.clock.advance(200);
    const never = 'Container image "absent:1" is not present with pull policy of Never';
    expect(events(cluster, 'never')).toContain(`Warning ErrImageNeverPull: ${never}`);
    expect(main(cluster, 'never')?.state?.waiting).toEqual({ reason: 'ErrImageNeverPull', message: never });
  });

  it('conditions: ContainersNotReady and PodCompleted with the kubelet’s messages', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(manifest('unready', { readinessProbe: { httpGet: { path: '/', port: 80 } } }), {
      lifecycle: { readyAfterMs: false },
    });
    cluster.createPod(manifest('done', { command: ['true'] }, { restartPolicy: 'Never' }));
    await cluster.clock.advance(1_200);
    // generate.go: a finished pod's Ready and ContainersReady are False with reason PodCompleted
    // and no message.
    const completed = cluster.getPod('default', 'done')?.status?.conditions ?? [];
    expect(completed.find((condition) => condition.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(completed.find((condition) => condition.type === 'Ready')?.message).toBeUndefined();
    const conditions = cluster.getPod('default', 'unready')?.status?.conditions ?? [];
    // pkg/kubelet/status/generate.go GeneratePodReadyCondition / GenerateContainersReadyCondition:
    // "containers with unready status: %s" of the names (Go prints []string as [a b]).
    for (const type of ['Ready', 'ContainersReady']) {
      expect(conditions.find((condition) => condition.type === type)).toMatchObject({
        status: 'False',
        reason: 'ContainersNotReady',
        message: 'containers with unready status: [main]',
      });
    }
  });

  it('the scheduler: FailedScheduling with the filters’ reasons and the preemption postfix', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'small', cpu: '1' }] });
    cluster.createPod(manifest('big', { resources: { requests: { cpu: '2' } } }));
    cluster.createPod(manifest('elsewhere', {}, { nodeSelector: { zone: 'b' } }));
    await cluster.clock.advance(200);
    const failed = (name: string) =>
      (
        cluster.listEvents('default', {
          fieldSelector: { 'involvedObject.name': name, reason: 'FailedScheduling' },
        }).items[0] as KubernetesEvent | undefined
      )?.message;
    // pkg/scheduler/framework/types.go FitError.Error (v1.32): "0/%v nodes are available:" then
    // " %v." of the sorted reasons, then " %v" of the PostFilter message (one full stop: v1.27–v1.31
    // added another, "…for scheduling.."); plugins/noderesources/fit.go "Insufficient cpu";
    // framework/preemption/preemption.go: "preemption: 0/%v nodes are available: …", where nodes a
    // preemption could help but has no lower-priority victims say "No preemption victims found for
    // incoming pod" and UnschedulableAndUnresolvable ones "Preemption is not helpful for scheduling".
    expect(failed('big')).toBe(
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    );
    // plugins/nodeaffinity/node_affinity.go ErrReasonPod.
    expect(failed('elsewhere')).toBe(
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    // plugins/nodeunschedulable: "node(s) were unschedulable"; plugins/tainttoleration:
    // "node(s) had untolerated taint {%s: %s}".
    cluster.cordonNode('small');
    cluster.createPod(manifest('cordoned'));
    cluster.addNode({ name: 'tainted', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    await cluster.clock.advance(200);
    expect(failed('cordoned')).toBe(
      '0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
  });

  it('the controllers: TaintManagerEviction and the DisruptionTarget conditions', async () => {
    const cluster = new FakeCluster({ nodes: [{ name: 'a' }, { name: 'b' }] });
    cluster.createPod(manifest('evicted', {}, { nodeName: 'a' }));
    cluster.createPod(manifest('orphan', {}, { nodeName: 'b' }));
    await cluster.clock.advance(1_200);
    cluster.setNodeReady('a', false);
    // The DefaultTolerationSeconds admission's 300 s toleration of not-ready, then the eviction.
    await cluster.clock.advance(300_000);
    // pkg/controller/tainteviction/taint_eviction.go: the event "Marking for deletion Pod %s"
    // (NamespacedName), and addConditionAndDeletePod's DisruptionTarget condition.
    expect(events(cluster, 'evicted')).toContain(
      'Normal TaintManagerEviction: Marking for deletion Pod default/evicted',
    );
    expect(cluster.getPod('default', 'evicted')?.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint',
      }),
    );
    // pkg/controller/podgc/gc_controller.go gcOrphaned: Failed, with this condition, then deleted.
    const seen = collect<Pod>(
      cluster.watch('pods', 'default', {
        resourceVersion: cluster.resourceVersion(),
        signal: AbortSignal.timeout(60_000),
      }),
    );
    cluster.removeNode('b');
    await cluster.clock.advance(40_000);
    await waitFor(
      () =>
        seen.events.some(
          (change) => change.type === 'DELETED' && (change.object as Pod).metadata?.name === 'orphan',
        ),
      'the orphan deleted',
    );
    const orphan = seen.events
      .filter((change) => change.type === 'MODIFIED' && (change.object as Pod).metadata?.name === 'orphan')
      .map((change) => change.object as Pod);
    expect(orphan.at(-1)?.status).toMatchObject({ phase: 'Failed' });
    expect(orphan.at(-1)?.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByPodGC',
        message: 'PodGC: node no longer exists',
      }),
    );
  });
});
