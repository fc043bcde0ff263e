/**
 * The Kubernetes object shapes podstorage reads. Type-only: core carries no Kubernetes code at run time.
 */
export type { Event as KubernetesEvent, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
export type { ListMeta, ObjectMeta, Status, StatusDetails } from 'kubernetes-types/meta/v1.js';

import type { ListMeta } from 'kubernetes-types/meta/v1.js';

/** A page of a list response: the items and the list's `metadata` (resourceVersion, continue). */
export interface ObjectList<T> {
  readonly metadata: ListMeta;
  readonly items: readonly T[];
}
