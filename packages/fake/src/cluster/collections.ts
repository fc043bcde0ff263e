import type { StoredObject } from '../object-store.js';
import type { ClusterContext } from './context.js';
import { LIST_KINDS } from './context.js';
import { deleteEvent } from './events.js';
import { listObjects } from './list.js';
import { deletePod } from './pods.js';
import type { DeleteQuery, ListQuery, ListResult } from './queries.js';

/**
 * `DELETE` on a collection (deletecollection), as the apiserver's generic registry serves it: every
 * object the selectors match is deleted as a single DELETE would (pods gracefully), and the answer is a
 * list of them as each delete left them.
 */
export function deleteCollection(
  context: ClusterContext,
  resource: 'pods' | 'events',
  namespace: string,
  query: Pick<ListQuery, 'fieldSelector' | 'labelSelector'> & DeleteQuery,
): ListResult<StoredObject> {
  const selected = listObjects(context.store, resource, namespace, {
    ...(query.fieldSelector === undefined ? {} : { fieldSelector: query.fieldSelector }),
    ...(query.labelSelector === undefined ? {} : { labelSelector: query.labelSelector }),
  });
  const options: DeleteQuery = {
    ...(query.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: query.gracePeriodSeconds }),
    ...(query.propagationPolicy === undefined ? {} : { propagationPolicy: query.propagationPolicy }),
    ...(query.preconditions === undefined ? {} : { preconditions: query.preconditions }),
  };
  const items = selected.items.map((object) => {
    const name = object.metadata?.name ?? '';
    return resource === 'pods'
      ? (deletePod(context, namespace, name, options) as StoredObject)
      : (deleteEvent(context, namespace, name, options) as StoredObject);
  });
  return {
    apiVersion: 'v1',
    kind: LIST_KINDS[resource],
    metadata: { resourceVersion: String(context.store.resourceVersion) },
    items,
  };
}
