import type { KubernetesEvent, Pod } from '@podstorage/core';
import { kubernetesTime, type PodEventRecord } from '../lifecycle.js';
import { objectKey } from '../object-store.js';
import { alreadyExists, notFound } from '../status.js';
import { type ClusterContext, copy } from './context.js';
import { checkDeleteOptions } from './deletion.js';
import type { DeleteQuery } from './queries.js';
import { existingForUpdate, keptOnUpdate, nameFor, requireNamespace } from './writes.js';

/** Creates a core/v1 event as given (namespace from metadata, else involvedObject, else `default`). */
export function createEvent(context: ClusterContext, event: KubernetesEvent): KubernetesEvent {
  const { store } = context;
  const input = copy(event);
  const namespace = input.metadata?.namespace || input.involvedObject?.namespace || 'default';
  const name = nameFor(context, 'Event', input.metadata?.name, input.metadata?.generateName, (candidate) =>
    store.get('events', objectKey(namespace, candidate)),
  );
  requireNamespace(context, namespace, 'events', name);
  const key = objectKey(namespace, name);
  if (store.get('events', key)) throw alreadyExists('events', name);
  const { resourceVersion: _ignored, ...metadata } = input.metadata ?? {};
  const created: KubernetesEvent = {
    ...input,
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      ...metadata,
      name,
      namespace,
      uid: crypto.randomUUID(),
      creationTimestamp: kubernetesTime(context.clock.date()),
    },
  };
  return copy(store.commit('events', 'ADDED', key, created)) as KubernetesEvent;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Records an event about a pod the way the kubelet's event recorder does (see
 * {@link FakeCluster.recordPodEvent}): the same event again bumps `count` and `lastTimestamp`.
 * Returns the stored object itself; callers copy it before handing it out.
 */
export function recordEvent(context: ClusterContext, pod: Pod, event: PodEventRecord): KubernetesEvent {
  return recordAbout(context, 'Pod', pod.metadata?.namespace ?? 'default', pod, event);
}

/**
 * Records an event about a node as its kubelet does (`nodeRef`: kind Node, the node's name as name and
 * uid, no namespace; the event in `default`), aggregated like a pod's.
 */
export function recordNodeEvent(
  context: ClusterContext,
  node: string,
  event: Omit<PodEventRecord, 'component'>,
): KubernetesEvent {
  return recordAbout(
    context,
    'Node',
    'default',
    { metadata: { name: node, uid: node } },
    { ...event, component: 'kubelet', host: node },
  );
}

function recordAbout(
  context: ClusterContext,
  kind: 'Pod' | 'Node',
  namespace: string,
  pod: Pod,
  event: PodEventRecord,
): KubernetesEvent {
  const { store, clock } = context;
  const name = pod.metadata?.name ?? '';
  const uid = pod.metadata?.uid;
  const now = kubernetesTime(clock.date());
  for (const existing of store.values('events') as KubernetesEvent[]) {
    const involved = existing.involvedObject;
    if (
      existing.metadata?.namespace === namespace &&
      involved.kind === kind &&
      involved.name === name &&
      involved.uid === uid &&
      involved.fieldPath === event.fieldPath &&
      existing.reason === event.reason &&
      existing.message === event.message &&
      existing.type === event.type &&
      existing.source?.component === event.component
    ) {
      const next = copy(existing);
      next.count = (existing.count ?? 1) + 1;
      next.lastTimestamp = now;
      // events.k8s.io/v1 (the scheduler's recorder) counts a recurring event in its series
      // (client-go tools/events/event_broadcaster.go); the kubelet's core/v1 recorder bumps count.
      if (existing.action !== undefined)
        next.series = { count: (existing.series?.count ?? 1) + 1, lastObservedTime: microTime(clock.date()) };
      const key = objectKey(namespace, existing.metadata?.name ?? '');
      return store.commit('events', 'MODIFIED', key, next) as KubernetesEvent;
    }
  }
  const nanos =
    BigInt(clock.date().getTime()) * 1_000_000n + BigInt(context.eventSequence.value++ % 1_000_000);
  const eventName = `${name}.${nanos.toString(16).padStart(16, '0')}`;
  const host = event.component === 'kubelet' ? (event.host ?? context.nodeName) : undefined;
  const created: KubernetesEvent = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: eventName,
      namespace,
      uid: crypto.randomUUID(),
      creationTimestamp: now,
      ...(event.annotations === undefined ? {} : { annotations: { ...event.annotations } }),
    },
    involvedObject: {
      kind,
      ...(kind === 'Pod' ? { apiVersion: 'v1', namespace } : {}),
      name,
      ...(uid === undefined ? {} : { uid }),
      ...(pod.metadata?.resourceVersion === undefined
        ? {}
        : { resourceVersion: pod.metadata.resourceVersion }),
      ...(event.fieldPath === undefined ? {} : { fieldPath: event.fieldPath }),
    },
    reason: event.reason,
    message: event.message,
    type: event.type,
    source: { component: event.component, ...(host === undefined ? {} : { host }) },
    reportingComponent: event.component,
    reportingInstance: host ?? '',
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    // Written through events.k8s.io/v1, as the scheduler does: eventTime, action and the reporting
    // controller and instance (pkg/scheduler/schedule_one.go: Scheduled with action Binding,
    // FailedScheduling with action Scheduling).
    ...(event.action === undefined
      ? {}
      : {
          eventTime: microTime(clock.date()),
          action: event.action,
          reportingComponent: event.component,
          reportingInstance: `${event.component}-podstorage-fake-control-plane`,
        }),
  };
  requireNamespace(context, namespace, 'events', eventName);
  return store.commit('events', 'ADDED', objectKey(namespace, eventName), created) as KubernetesEvent;
}

/** Replaces an event, with optimistic concurrency; see {@link FakeCluster.updateEvent}. */
export function updateEvent(context: ClusterContext, event: KubernetesEvent): KubernetesEvent {
  const { namespace, name, key, existing } = existingForUpdate<KubernetesEvent>(
    context,
    'events',
    'Event',
    event,
  );
  const input = copy(event);
  const next: KubernetesEvent = {
    ...input,
    apiVersion: 'v1',
    kind: 'Event',
    metadata: keptOnUpdate(input.metadata, existing.metadata, namespace, name),
  };
  if (JSON.stringify(next) === JSON.stringify(existing)) return copy(existing);
  return copy(context.store.commit('events', 'MODIFIED', key, next)) as KubernetesEvent;
}

/** Deletes an event at once (404 if absent, 409 if a precondition fails); returns its last state. */
export function deleteEvent(
  context: ClusterContext,
  namespace: string,
  name: string,
  options: DeleteQuery,
): KubernetesEvent {
  const key = objectKey(namespace, name);
  const existing = context.store.get('events', key) as KubernetesEvent | undefined;
  if (existing === undefined) throw notFound('events', name);
  checkDeleteOptions('events', name, existing, options);
  return context.deletion.remove('events', key, existing) as KubernetesEvent;
}
