import type { ObjectMeta } from '@podstorage/core';
import { generatedName, subdomainProblem } from '../names.js';
import { objectKey, type StoredObject, type StoredResource } from '../object-store.js';
import { conflict, invalid, notFound, staleUpdate, statusError } from '../status.js';
import type { ClusterContext } from './context.js';

/** The name a create gets: `metadata.name`, else `generateName` plus a free suffix; 422 if none or invalid. */
export function nameFor(
  context: ClusterContext,
  kind: string,
  name: string | undefined,
  generateName: string | undefined,
  exists: (candidate: string) => unknown,
): string {
  let chosen = name;
  if (!chosen && generateName) {
    for (let attempt = 0; attempt < 8; attempt++) {
      chosen = generatedName(generateName, context.random.nameSuffix());
      if (!exists(chosen)) break;
    }
  }
  if (!chosen) {
    throw invalid(kind, '', [
      {
        reason: 'FieldValueRequired',
        field: 'metadata.name',
        message: 'Required value: name or generateName is required',
      },
    ]);
  }
  const problem = subdomainProblem(chosen);
  if (problem) throw invalid(kind, chosen, [problem]);
  return chosen;
}

/** The apiserver's 403 for a create in a Terminating namespace. */
export function namespaceTerminating(resource: string, name: string, namespace: string) {
  return statusError(
    403,
    `${resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    {
      name,
      kind: resource,
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ],
    },
  );
}

/**
 * What the NamespaceLifecycle admission plugin checks on a create: 404 unless the namespace exists,
 * 403 while it is being deleted.
 */
export function requireNamespace(
  context: ClusterContext,
  namespace: string,
  resource: StoredResource,
  name: string,
): void {
  const found = context.store.get('namespaces', namespace);
  if (!found) throw notFound('namespaces', namespace);
  if (found.metadata?.deletionTimestamp) throw namespaceTerminating(resource, name, namespace);
}

/**
 * The stored object an update replaces, after the checks every PUT makes: a name (422), an existing
 * object (404), the same resourceVersion when one is given and the same uid when one is given (409).
 */
export function existingForUpdate<T extends StoredObject>(
  context: ClusterContext,
  resource: StoredResource,
  kind: 'Pod' | 'Event',
  object: T,
): { namespace: string; name: string; key: string; existing: T } {
  const namespace = object.metadata?.namespace || 'default';
  const name = object.metadata?.name;
  if (!name) {
    throw invalid(kind, '', [
      { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name is required' },
    ]);
  }
  const key = objectKey(namespace, name);
  const existing = context.store.get(resource, key) as T | undefined;
  if (existing === undefined) throw notFound(resource, name);
  const version = object.metadata?.resourceVersion;
  if (version !== undefined && version !== '' && version !== existing.metadata?.resourceVersion) {
    throw staleUpdate(resource, name);
  }
  if (object.metadata?.uid && object.metadata.uid !== existing.metadata?.uid) {
    throw conflict(
      resource,
      name,
      `Precondition failed: UID in precondition: ${object.metadata.uid}, UID in object meta: ${existing.metadata?.uid}`,
    );
  }
  return { namespace, name, key, existing };
}

/** The metadata of an update: what the client sent, with what the server owns kept from the stored object. */
export function keptOnUpdate(
  sent: ObjectMeta | undefined,
  stored: ObjectMeta | undefined,
  namespace: string,
  name: string,
): ObjectMeta {
  return {
    ...sent,
    name,
    namespace,
    uid: stored?.uid,
    creationTimestamp: stored?.creationTimestamp,
    resourceVersion: stored?.resourceVersion,
  };
}
