import type { TimerHandle } from '@podstorage/core';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import { objectKey } from '../object-store.js';
import type { ClusterContext } from './context.js';

/** The namespace of the kubelets' heartbeats. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** pkg/kubelet/kubelet.go: the node lease's duration (nodeLeaseDurationSeconds, 40 s)… */
export const NODE_LEASE_DURATION_SECONDS = 40;
/** …and its renewal interval, a quarter of it (nodeLeaseRenewIntervalFraction 0.25: 10 s). */
export const NODE_LEASE_RENEW_MS = (NODE_LEASE_DURATION_SECONDS * 1_000) / 4;

/** metav1.MicroTime, as a lease's renewTime is written: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The kubelets' node leases (pkg/kubelet/nodelease, over the lease controller of
 * staging/src/k8s.io/component-helpers/apimachinery/lease/controller.go): each simulated node's kubelet
 * creates `kube-node-lease/<node>` (holderIdentity the node, leaseDurationSeconds 40, owned by the
 * Node) when it starts, and renews `spec.renewTime` every 10 s of cluster time (without the
 * controller's 4 % jitter, for determinism). An unreachable node's kubelet renews nothing; the lease
 * goes with its node (the garbage collector follows the owner reference).
 */
export class NodeLeases {
  readonly #context: () => ClusterContext;
  readonly #timers = new Map<string, TimerHandle>();

  constructor(context: () => ClusterContext) {
    this.#context = context;
  }

  /** The node's kubelet runs (registered, or reachable again): its lease is renewed now and every 10 s. */
  start(node: string): void {
    if (this.#timers.has(node)) return;
    this.#sync(node);
  }

  /** The node's kubelet stopped posting (unreachable): no more renewals; the lease stays. */
  stop(node: string): void {
    const timer = this.#timers.get(node);
    if (timer !== undefined) this.#context().clock.clearTimeout(timer);
    this.#timers.delete(node);
  }

  /** The node is gone: no more renewals, and its lease is deleted. */
  remove(node: string): void {
    this.stop(node);
    const context = this.#context();
    const key = objectKey(NODE_LEASE_NAMESPACE, node);
    const lease = context.store.get('leases', key);
    if (lease !== undefined) context.store.commit('leases', 'DELETED', key, lease);
  }

  #sync(name: string): void {
    const context = this.#context();
    this.#timers.delete(name);
    const node = context.store.get('nodes', name) as Node | undefined;
    if (node === undefined) return;
    this.#renew(context, node);
    this.#timers.set(
      name,
      context.clock.setTimeout(() => this.#sync(name), NODE_LEASE_RENEW_MS),
    );
  }

  /** controller.go sync: update the lease it knows, or create it (ensureLease) when it is not there. */
  #renew(context: ClusterContext, node: Node): void {
    const namespace = context.store.get('namespaces', NODE_LEASE_NAMESPACE);
    // A deleted or terminating kube-node-lease refuses the create; the kubelet retries next time.
    if (namespace === undefined || namespace.metadata?.deletionTimestamp) return;
    const name = node.metadata?.name ?? '';
    const key = objectKey(NODE_LEASE_NAMESPACE, name);
    const now = context.clock.date();
    const existing = context.store.get('leases', key) as Lease | undefined;
    if (existing !== undefined) {
      context.store.commit('leases', 'MODIFIED', key, {
        ...existing,
        spec: { ...existing.spec, renewTime: microTime(now) },
      } as never);
      return;
    }
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: NODE_LEASE_NAMESPACE,
        uid: crypto.randomUUID(),
        creationTimestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        // pkg/kubelet/nodelease setNodeOwnerFunc: the lease is owned by its Node.
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata?.uid ?? '' }],
      },
      spec: {
        holderIdentity: name,
        leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
        renewTime: microTime(now),
      },
    };
    context.store.commit('leases', 'ADDED', key, lease as never);
  }
}
