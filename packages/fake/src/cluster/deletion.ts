import type { Pod, TimerHandle } from '@podstorage/core';
import type { FakeClock } from '../fake-clock.js';
import type { LifecycleSimulator } from '../lifecycle.js';
import { type ObjectStore, objectKey, type StoredObject, type StoredResource } from '../object-store.js';
import { conflict, statusError } from '../status.js';
import { copy } from './context.js';
import type { DeleteQuery } from './queries.js';

/** Checks a delete's propagationPolicy (422) and preconditions (409) against the stored object. */
export function checkDeleteOptions(
  resource: StoredResource,
  name: string,
  existing: StoredObject,
  options: DeleteQuery,
): void {
  const policy = options.propagationPolicy;
  if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
    throw statusError(
      422,
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
      {
        kind: 'DeleteOptions',
        group: 'meta.k8s.io',
        causes: [
          {
            reason: 'FieldValueNotSupported',
            field: 'propagationPolicy',
            message: `Unsupported value: "${policy}"`,
          },
        ],
      },
    );
  }
  const { uid, resourceVersion } = options.preconditions ?? {};
  if (uid !== undefined && uid !== existing.metadata?.uid) {
    throw conflict(
      resource,
      name,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${existing.metadata?.uid}`,
    );
  }
  if (resourceVersion !== undefined && resourceVersion !== existing.metadata?.resourceVersion) {
    throw conflict(
      resource,
      name,
      `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${existing.metadata?.resourceVersion}`,
    );
  }
}

/**
 * Removal of objects and the timers of graceful pod deletion: a pod in its grace period goes when the
 * timer fires, unless finalizers hold it (then its grace period drops to 0, as the kubelet's final delete).
 */
export class DeletionTimers {
  readonly #clock: FakeClock;
  readonly #store: ObjectStore;
  readonly #simulator: () => LifecycleSimulator;
  readonly #timers = new Map<string, TimerHandle>();

  constructor(options: { clock: FakeClock; store: ObjectStore; simulator: () => LifecycleSimulator }) {
    this.#clock = options.clock;
    this.#store = options.store;
    this.#simulator = options.simulator;
  }

  /** Deletes an object now (DELETED), cancelling its timer and its simulated lifecycle; returns its last state. */
  remove(resource: StoredResource, key: string, existing: StoredObject): StoredObject {
    const timer = this.#timers.get(key);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#timers.delete(key);
    const removed = copy(this.#store.commit(resource, 'DELETED', key, existing));
    // After the commit, so the simulator sees the pod gone and drops its logs too.
    if (resource === 'pods') this.#simulator().stop(key);
    return removed;
  }

  /** Ends the pod's grace period in `grace` seconds of clock time (now for 0), if it still has this uid. */
  schedule(key: string, uid: string | undefined, grace: number): void {
    const previous = this.#timers.get(key);
    if (previous !== undefined) this.#clock.clearTimeout(previous);
    this.#timers.delete(key);
    const complete = () => {
      this.#timers.delete(key);
      const pod = this.#store.get('pods', key) as Pod | undefined;
      if (pod === undefined || pod.metadata?.uid !== uid) return;
      if ((pod.metadata?.finalizers ?? []).length === 0) {
        this.remove('pods', key, pod);
      } else if (pod.metadata?.deletionGracePeriodSeconds !== 0) {
        // The kubelet's final delete: grace 0; the object stays until its finalizers are removed.
        const next = copy(pod);
        next.metadata = { ...next.metadata, deletionGracePeriodSeconds: 0 };
        this.#store.commit('pods', 'MODIFIED', key, next);
      }
    };
    if (grace === 0) complete();
    else this.#timers.set(key, this.#clock.setTimeout(complete, grace * 1_000));
  }

  /** Deletes a pod whose grace period is over and whose finalizers are gone; returns it, else `undefined`. */
  finishIfDue(key: string): Pod | undefined {
    const pod = this.#store.get('pods', key) as Pod | undefined;
    if (pod?.metadata?.deletionTimestamp === undefined) return undefined;
    if (pod.metadata.deletionGracePeriodSeconds !== 0 || (pod.metadata.finalizers ?? []).length > 0)
      return undefined;
    return this.remove('pods', key, pod) as Pod;
  }

  /** After a restore: drops every timer and re-arms one for each restored pod in graceful deletion. */
  rearm(): void {
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    for (const pod of this.#store.values('pods') as Pod[]) {
      const deletion = pod.metadata?.deletionTimestamp;
      if (deletion === undefined) continue;
      const left = Math.max(0, Math.ceil((Date.parse(deletion) - this.#clock.date().getTime()) / 1_000));
      this.schedule(objectKey(pod.metadata?.namespace, pod.metadata?.name ?? ''), pod.metadata?.uid, left);
    }
  }
}
