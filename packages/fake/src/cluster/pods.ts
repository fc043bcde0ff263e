import type { Pod, PodPhase, PodStatus } from '@podstorage/core';
import {
  kubernetesTime,
  LIFECYCLE_ANNOTATION,
  type LifecycleScript,
  lifecycleScriptProblem,
  statusForPhase,
} from '../lifecycle.js';
import { type MutablePod, objectKey, type StoredObject } from '../object-store.js';
import { alreadyExists, conflict, invalid, notFound } from '../status.js';
import { type ClusterContext, copy } from './context.js';
import { checkDeleteOptions } from './deletion.js';
import {
  defaultPodForCreate,
  defaultPodSpec,
  validatePodCreate,
  validatePodUpdate,
} from './pod-admission.js';
import type { DeleteQuery } from './queries.js';
import { existingForUpdate, keptOnUpdate, nameFor, requireNamespace } from './writes.js';

/** The lifecycle script in a pod's `podstorage.dev/lifecycle` annotation; 422 if it is not a valid one. */
function annotatedScript(pod: Pod, name: string): LifecycleScript | undefined {
  const annotation = pod.metadata?.annotations?.[LIFECYCLE_ANNOTATION];
  if (annotation === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotation);
  } catch {
    parsed = undefined;
  }
  const problem = parsed === undefined ? 'must be valid JSON' : lifecycleScriptProblem(parsed);
  if (problem) {
    throw invalid('Pod', name, [
      {
        reason: 'FieldValueInvalid',
        field: `metadata.annotations[${LIFECYCLE_ANNOTATION}]`,
        message: `Invalid value: ${JSON.stringify(annotation)}: ${problem}`,
      },
    ]);
  }
  return parsed as LifecycleScript;
}

/** Creates a pod as the API server does; see {@link FakeCluster.createPod}. */
export function createPod(
  context: ClusterContext,
  pod: Pod,
  options: { lifecycle?: LifecycleScript; strict?: boolean },
): Pod {
  const { store } = context;
  const input = copy(pod);
  const metadata = input.metadata ?? {};
  const namespace = metadata.namespace || 'default';
  const name = nameFor(context, 'Pod', metadata.name, metadata.generateName, (candidate) =>
    store.get('pods', objectKey(namespace, candidate)),
  );
  requireNamespace(context, namespace, 'pods', name);
  const key = objectKey(namespace, name);
  const script: LifecycleScript = options.lifecycle ?? annotatedScript(input, name) ?? {};
  const { resourceVersion: _ignoredVersion, deletionTimestamp: _ignoredDeletion, ...rest } = metadata;
  const created: MutablePod = {
    ...(input as MutablePod),
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...rest,
      name,
      namespace,
      uid: crypto.randomUUID(),
      creationTimestamp: kubernetesTime(context.clock.date()),
    },
    spec: {
      ...input.spec,
      // The convenience of the in-process API, never of the API server's create: a test's minimal pod
      // gets a container for the simulator to run.
      containers:
        options.strict || (input.spec?.containers ?? []).length > 0
          ? (input.spec?.containers ?? [])
          : [{ name: 'main', image: 'busybox' }],
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
  delete created.metadata?.deletionGracePeriodSeconds;
  defaultPodForCreate(created);
  validatePodCreate(created, name);
  if (store.get('pods', key)) throw alreadyExists('pods', name);
  const stored = store.commit('pods', 'ADDED', key, created as StoredObject) as Pod;
  if (context.mode === 'simulated')
    context.simulator.start(key, stored, { ...context.defaultLifecycle, ...script });
  return copy(stored);
}

/** Replaces a pod (or its status), with optimistic concurrency; see {@link FakeCluster.updatePod}. */
export function updatePod(
  context: ClusterContext,
  pod: Pod,
  options: { subresource?: 'status'; strict?: boolean },
): Pod {
  const { namespace, name, key, existing } = existingForUpdate<Pod>(context, 'pods', 'Pod', pod);
  const input = copy(pod);
  const next: MutablePod =
    options.subresource === 'status'
      ? { ...copy(existing), status: input.status ?? {} }
      : {
          ...input,
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            ...keptOnUpdate(input.metadata, existing.metadata, namespace, name),
            ...(existing.metadata?.deletionTimestamp
              ? {
                  deletionTimestamp: existing.metadata.deletionTimestamp,
                  deletionGracePeriodSeconds: existing.metadata.deletionGracePeriodSeconds,
                }
              : {}),
          },
          status: copy(existing.status),
        };
  if (!next.metadata?.deletionTimestamp) {
    delete next.metadata?.deletionTimestamp;
    delete next.metadata?.deletionGracePeriodSeconds;
  }
  if (options.subresource !== 'status') {
    defaultPodSpec(next);
    if (options.strict) validatePodUpdate(next, existing, name);
  }
  if (JSON.stringify(next) === JSON.stringify(existing)) return copy(existing);
  const stored = context.store.commit('pods', 'MODIFIED', key, next) as Pod;
  return context.deletion.finishIfDue(key) ?? copy(stored);
}

/** Sets a pod's phase as the kubelet would; see {@link FakeCluster.setPodPhase}. */
export function setPodPhase(
  context: ClusterContext,
  namespace: string,
  name: string,
  phase: PodPhase | undefined,
  patch: Partial<PodStatus>,
): Pod {
  const { store, clock } = context;
  const key = objectKey(namespace, name);
  const existing = store.get('pods', key) as Pod | undefined;
  if (existing === undefined) throw notFound('pods', name);
  // Only the status changes: the rest is shared with the stored pod until commit copies the whole
  // object (one deep copy of a large pod per change, not two; the fake serves 10,000 changes a burst).
  const next = { ...existing } as MutablePod;
  const previousPhase = existing.status?.phase;
  next.status = { ...copy(existing.status), ...copy(patch) };
  if (phase !== undefined) next.status.phase = phase;
  if (phase !== undefined && phase !== previousPhase) {
    const derived = statusForPhase(existing, phase, clock.date());
    if (patch.conditions === undefined && derived.conditions !== undefined)
      next.status.conditions = derived.conditions;
    if (patch.containerStatuses === undefined && derived.containerStatuses !== undefined) {
      next.status.containerStatuses = derived.containerStatuses;
    }
    if (phase === 'Running' && next.status.startTime === undefined)
      next.status.startTime = kubernetesTime(clock.date());
  }
  if (phase === 'Succeeded' || phase === 'Failed') context.simulator.stop(key);
  if (JSON.stringify(next.status) === JSON.stringify(existing.status)) return copy(existing);
  return copy(store.commit('pods', 'MODIFIED', key, next)) as Pod;
}

/** Deletes a pod gracefully, as the API server does; see {@link FakeCluster.deletePod}. */
export function deletePod(
  context: ClusterContext,
  namespace: string,
  name: string,
  options: DeleteQuery,
): Pod {
  const { store, clock, deletion } = context;
  const key = objectKey(namespace, name);
  const existing = store.get('pods', key) as Pod | undefined;
  if (existing === undefined) throw notFound('pods', name);
  checkDeleteOptions('pods', name, existing, options);
  let grace = options.gracePeriodSeconds ?? existing.spec?.terminationGracePeriodSeconds ?? 30;
  if (grace < 0) grace = 1;
  const phase = existing.status?.phase;
  if (!existing.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
  const finalizers = existing.metadata?.finalizers ?? [];
  const current = existing.metadata?.deletionGracePeriodSeconds;
  if (existing.metadata?.deletionTimestamp && current !== undefined && grace >= current)
    return copy(existing);
  const wasTerminating = existing.metadata?.deletionTimestamp !== undefined;
  if (grace === 0 && finalizers.length === 0) return deletion.remove('pods', key, existing) as Pod;
  const next = copy(existing);
  next.metadata = {
    ...next.metadata,
    deletionTimestamp: kubernetesTime(new Date(clock.date().getTime() + grace * 1_000)),
    deletionGracePeriodSeconds: grace,
    generation: (existing.metadata?.generation ?? 1) + 1,
  };
  const stored = store.commit('pods', 'MODIFIED', key, next) as Pod;
  // The simulated kubelet stops the containers and deletes the pod for good once they have stopped
  // (in about a second, unless they ignore SIGTERM); without it (manual mode), or when a second delete
  // shortens the period, the grace period's end does.
  const kubelet = !wasTerminating && context.mode === 'simulated' && context.simulator.terminate(key);
  if (!kubelet) deletion.schedule(key, stored.metadata?.uid, grace);
  return copy(store.get('pods', key) ?? stored) as Pod;
}

/** Clears a pod's finalizers; see {@link FakeCluster.removeFinalizers}. */
export function removeFinalizers(context: ClusterContext, namespace: string, name: string): Pod | undefined {
  const { store } = context;
  const key = objectKey(namespace, name);
  const existing = store.get('pods', key) as Pod | undefined;
  if (existing === undefined) return undefined;
  if ((existing.metadata?.finalizers ?? []).length > 0) {
    const next = copy(existing);
    next.metadata = { ...next.metadata, finalizers: [] };
    delete next.metadata.finalizers;
    store.commit('pods', 'MODIFIED', key, next);
  }
  const finished = context.deletion.finishIfDue(key);
  if (finished !== undefined) return undefined;
  const pod = store.get('pods', key);
  return pod === undefined ? undefined : (copy(pod) as Pod);
}

/**
 * `POST pods/{name}/binding`, as the scheduler binds (pkg/registry/core/pod/storage BindingREST): sets
 * `spec.nodeName` and the PodScheduled condition; 409 if the pod is already assigned or being deleted.
 */
export function bindPod(context: ClusterContext, namespace: string, name: string, nodeName: string): Pod {
  const { store, clock } = context;
  const key = objectKey(namespace, name);
  const existing = store.get('pods', key) as Pod | undefined;
  if (existing === undefined) throw notFound('pods', name);
  if (existing.metadata?.deletionTimestamp)
    throw conflict('pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
  if (existing.spec?.nodeName)
    throw conflict('pods', name, `pod ${name} is already assigned to node "${existing.spec.nodeName}"`);
  const next = copy(existing) as MutablePod;
  next.spec = { ...(next.spec as NonNullable<MutablePod['spec']>), nodeName };
  const scheduled = {
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: kubernetesTime(clock.date()),
  };
  const conditions = (next.status?.conditions ?? []).filter((condition) => condition.type !== 'PodScheduled');
  next.status = { ...next.status, conditions: [...conditions, scheduled as never] };
  return copy(store.commit('pods', 'MODIFIED', key, next)) as Pod;
}
