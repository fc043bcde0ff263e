import type { KubernetesEvent, Pod } from '@podstorage/core';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { kubernetesTime } from '../lifecycle.js';
import { labelProblem } from '../names.js';
import { objectKey } from '../object-store.js';
import { alreadyExists, invalid, notFound, statusError } from '../status.js';
import { type ClusterContext, copy } from './context.js';
import { checkDeleteOptions } from './deletion.js';
import { deletePod } from './pods.js';
import type { DeleteQuery } from './queries.js';

/** The namespaces every cluster starts with (kube-apiserver's SystemNamespaces, plus `default`). */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

/** The namespaces the NamespaceLifecycle admission plugin never lets go. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

/** Creates a namespace (409 if it exists, 422 if the name is not an RFC 1123 label). */
export function createNamespace(context: ClusterContext, name: string): Namespace {
  const problem = labelProblem(name);
  if (problem) throw invalid('Namespace', name, [problem]);
  if (context.store.get('namespaces', name)) throw alreadyExists('namespaces', name);
  const namespace: Namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: crypto.randomUUID(),
      creationTimestamp: kubernetesTime(context.clock.date()),
      labels: { 'kubernetes.io/metadata.name': name },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  return copy(context.store.commit('namespaces', 'ADDED', name, namespace)) as Namespace;
}

/**
 * Deletes a namespace as the apiserver and its namespace controller do: the namespace turns
 * Terminating (deletionTimestamp set, MODIFIED), its events go at once and its pods are deleted
 * gracefully; once nothing is left in it, the namespace goes (DELETED). `default`, `kube-system` and
 * `kube-public` cannot be deleted (403, as the NamespaceLifecycle admission plugin answers).
 * Returns the namespace as it is after the call.
 */
export function deleteNamespace(context: ClusterContext, name: string, options: DeleteQuery): Namespace {
  const { store } = context;
  const existing = store.get('namespaces', name) as Namespace | undefined;
  if (existing === undefined) throw notFound('namespaces', name);
  if (IMMORTAL_NAMESPACES.has(name)) {
    throw statusError(403, `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
      name,
      kind: 'namespaces',
    });
  }
  checkDeleteOptions('namespaces', name, existing, options);
  if (existing.metadata?.deletionTimestamp) return copy(existing);
  const next = copy(existing);
  next.metadata = { ...next.metadata, deletionTimestamp: kubernetesTime(context.clock.date()) };
  next.status = { ...next.status, phase: 'Terminating' };
  store.commit('namespaces', 'MODIFIED', name, next);
  // The namespace controller's sweep: what can go goes now, graceful pods on the clock.
  for (const event of store.values('events') as KubernetesEvent[]) {
    if (event.metadata?.namespace !== name) continue;
    const key = objectKey(name, event.metadata?.name ?? '');
    context.deletion.remove('events', key, event);
  }
  for (const pod of store.values('pods') as Pod[]) {
    if (pod.metadata?.namespace === name) deletePod(context, name, pod.metadata?.name ?? '', {});
  }
  finishNamespaceIfEmpty(context, name);
  const after = store.get('namespaces', name);
  return copy((after ?? next) as Namespace);
}

/** Whether new content may not be created in the namespace because it is being deleted. */
export function isTerminating(context: ClusterContext, namespace: string): boolean {
  return Boolean(context.store.get('namespaces', namespace)?.metadata?.deletionTimestamp);
}

/** Removes a Terminating namespace once no pod or event is left in it (the controller's last step). */
export function finishNamespaceIfEmpty(context: ClusterContext, name: string): void {
  const { store } = context;
  const namespace = store.get('namespaces', name);
  if (!namespace?.metadata?.deletionTimestamp) return;
  const inIt = (object: { metadata?: { namespace?: string } }) => object.metadata?.namespace === name;
  if (store.values('pods').some(inIt) || store.values('events').some(inIt)) return;
  const finalized = copy(namespace) as Namespace;
  finalized.spec = { ...finalized.spec, finalizers: [] };
  context.deletion.remove('namespaces', name, finalized);
}
