import type { Namespace } from 'kubernetes-types/core/v1.js';
import { kubernetesTime } from '../lifecycle.js';
import { labelProblem } from '../names.js';
import { alreadyExists, invalid } from '../status.js';
import { type ClusterContext, copy } from './context.js';

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
