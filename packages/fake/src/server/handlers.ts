import type { IncomingMessage } from 'node:http';
import type { KubernetesEvent, Pod } from '@podstorage/core';
import { OBJECT_KINDS } from '../cluster/context.js';
import type { FakeCluster } from '../fake-cluster.js';
import type { RequestVerb } from '../fault-injector.js';
import { failureStatus, invalid, notFound, type StatusCause, statusError } from '../status.js';
import { type PatchType, parseJsonObject, patchTypeOf, requireObjectBody } from './body.js';
import { applyPatch } from './patch.js';
import { deleteQueryOf, listQueryOf, type ResourcePath } from './routes.js';
import { StatusFailure } from './status-failure.js';

/** A non-watch API operation, as the router resolved it. */
export type Operation = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What a handler answers: the HTTP code and the JSON body. */
export interface HandlerResult {
  readonly code: number;
  readonly body: unknown;
}

/** The verb the fault injector sees for an operation (a patch is an update, as in RBAC terms it is not, but faults group it so). */
export function faultVerb(operation: Operation): RequestVerb {
  if (operation === 'patch') return 'update';
  return operation === 'deletecollection' ? 'delete' : operation;
}

/** Which operation a method on a path asks for, or `undefined` if the resource does not allow it (405). */
export function operationOf(method: string, path: ResourcePath): Operation | undefined {
  const collection = path.name === undefined;
  // The kubelets write their leases; clients read them (get, list, watch).
  if (path.resource === 'leases') return method === 'GET' ? (collection ? 'list' : 'get') : undefined;
  if (path.resource === 'nodes') {
    if (method === 'GET') return collection ? 'list' : 'get';
    // `kubectl cordon` / `uncordon`: a patch of spec.unschedulable.
    if (method === 'PATCH' && !collection) return 'patch';
    return undefined;
  }
  if (path.resource === 'namespaces') {
    if (method === 'GET') return collection ? 'list' : 'get';
    if (method === 'POST' && collection) return 'create';
    if (method === 'DELETE' && !collection) return 'delete';
    return undefined;
  }
  if (path.subresource === 'binding' || path.subresource === 'eviction') {
    return method === 'POST' ? 'create' : undefined;
  }
  if (path.subresource === 'status') {
    if (method === 'GET') return 'get';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    return undefined;
  }
  if (collection) {
    if (method === 'GET') return 'list';
    if (method === 'POST' && path.namespace !== undefined) return 'create';
    // deletecollection is served per namespace only, as by the apiserver.
    if (method === 'DELETE' && path.namespace !== undefined) return 'deletecollection';
    return undefined;
  }
  if (method === 'GET') return 'get';
  if (method === 'PUT') return 'update';
  if (method === 'PATCH') return 'patch';
  if (method === 'DELETE') return 'delete';
  return undefined;
}

/** Whether an operation reads a body (and so needs its Content-Type checked). */
export function bodyExpected(operation: Operation): boolean {
  return (
    operation === 'create' ||
    operation === 'update' ||
    operation === 'patch' ||
    operation === 'delete' ||
    operation === 'deletecollection'
  );
}

/** Checks the Content-Type of a request that carries a body; returns the patch type for PATCH. */
export function checkContentType(request: IncomingMessage, operation: Operation): PatchType | undefined {
  if (operation === 'patch') return patchTypeOf(request);
  if (operation === 'create' || operation === 'update') requireObjectBody(request);
  if (
    (operation === 'delete' || operation === 'deletecollection') &&
    Number(request.headers['content-length'] ?? 0) > 0
  )
    requireObjectBody(request);
  return undefined;
}

function badRequest(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

function field(problems: StatusCause[], path: string, message: string, reason = 'FieldValueInvalid'): void {
  problems.push({ reason, field: path, message });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkStringMap(problems: StatusCause[], path: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value) || Object.values(value).some((entry) => typeof entry !== 'string')) {
    field(problems, path, 'Invalid value: must be a map of strings', 'FieldValueTypeInvalid');
  }
}

/**
 * The shape checks the apiserver's decoder and validation would make, for the fields the cluster and
 * its simulator read: a body that passes cannot leave a half-understood object in the store.
 */
function shapeProblems(
  resource: 'pods' | 'events' | 'namespaces',
  object: Record<string, unknown>,
): StatusCause[] {
  const problems: StatusCause[] = [];
  const metadata = object.metadata;
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    field(problems, 'metadata', 'Invalid value: must be an object', 'FieldValueTypeInvalid');
  } else if (isRecord(metadata)) {
    for (const key of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid'] as const) {
      if (metadata[key] !== undefined && metadata[key] !== null && typeof metadata[key] !== 'string')
        field(problems, `metadata.${key}`, 'Invalid value: must be a string', 'FieldValueTypeInvalid');
    }
    checkStringMap(problems, 'metadata.labels', metadata.labels);
    checkStringMap(problems, 'metadata.annotations', metadata.annotations);
    const finalizers = metadata.finalizers;
    if (
      finalizers !== undefined &&
      finalizers !== null &&
      (!Array.isArray(finalizers) || finalizers.some((entry) => typeof entry !== 'string'))
    ) {
      field(
        problems,
        'metadata.finalizers',
        'Invalid value: must be a list of strings',
        'FieldValueTypeInvalid',
      );
    }
  }
  if (resource === 'pods') {
    const spec = object.spec;
    if (spec !== undefined && spec !== null && !isRecord(spec)) {
      field(problems, 'spec', 'Invalid value: must be an object', 'FieldValueTypeInvalid');
    } else if (isRecord(spec)) {
      const containers = spec.containers;
      if (containers !== undefined && containers !== null) {
        if (!Array.isArray(containers)) {
          field(problems, 'spec.containers', 'Invalid value: must be a list', 'FieldValueTypeInvalid');
        } else {
          containers.forEach((container, index) => {
            if (!isRecord(container) || typeof container.name !== 'string' || container.name === '') {
              field(problems, `spec.containers[${index}].name`, 'Required value', 'FieldValueRequired');
            } else if (container.image !== undefined && typeof container.image !== 'string') {
              field(
                problems,
                `spec.containers[${index}].image`,
                'Invalid value: must be a string',
                'FieldValueTypeInvalid',
              );
            }
          });
        }
      }
      const grace = spec.terminationGracePeriodSeconds;
      if (grace !== undefined && grace !== null && (!Number.isInteger(grace) || (grace as number) < 0)) {
        field(problems, 'spec.terminationGracePeriodSeconds', 'Invalid value: must be an integer >= 0');
      }
    }
    const status = object.status;
    if (status !== undefined && status !== null && !isRecord(status)) {
      field(problems, 'status', 'Invalid value: must be an object', 'FieldValueTypeInvalid');
    } else if (isRecord(status)) {
      const phase = status.phase;
      if (
        phase !== undefined &&
        phase !== null &&
        !['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'].includes(phase as string)
      ) {
        field(
          problems,
          'status.phase',
          `Unsupported value: ${JSON.stringify(phase)}: supported values: "Failed", "Pending", "Running", "Succeeded", "Unknown"`,
          'FieldValueNotSupported',
        );
      }
    }
  }
  if (resource === 'events') {
    const involved = object.involvedObject;
    if (involved !== undefined && involved !== null && !isRecord(involved)) {
      field(problems, 'involvedObject', 'Invalid value: must be an object', 'FieldValueTypeInvalid');
    } else if (isRecord(involved)) {
      for (const [key, value] of Object.entries(involved)) {
        if (value !== null && typeof value !== 'string')
          field(
            problems,
            `involvedObject.${key}`,
            'Invalid value: must be a string',
            'FieldValueTypeInvalid',
          );
      }
    }
    for (const key of ['reason', 'message', 'type'] as const) {
      if (object[key] !== undefined && object[key] !== null && typeof object[key] !== 'string')
        field(problems, key, 'Invalid value: must be a string', 'FieldValueTypeInvalid');
    }
    if (object.count !== undefined && object.count !== null && !Number.isInteger(object.count))
      field(problems, 'count', 'Invalid value: must be an integer', 'FieldValueTypeInvalid');
  }
  return problems;
}

/** Checks kind, apiVersion, namespace and name of a body against the request, as the apiserver does. */
function checkObject(
  path: ResourcePath,
  object: Record<string, unknown>,
  options: { requireName: boolean },
): Record<string, unknown> {
  const kind = OBJECT_KINDS[path.resource];
  if (object.apiVersion !== undefined && object.apiVersion !== 'v1') {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (v1)`,
    );
  }
  if (object.kind !== undefined && object.kind !== kind) {
    throw badRequest(
      `the kind in the data (${String(object.kind)}) does not match the expected kind (${kind})`,
    );
  }
  const name = isRecord(object.metadata) ? object.metadata.name : undefined;
  const problems =
    path.resource === 'nodes' || path.resource === 'leases' ? [] : shapeProblems(path.resource, object);
  if (problems.length > 0) throw invalid(kind, typeof name === 'string' ? name : '', problems);
  const metadata = { ...((object.metadata as Record<string, unknown> | undefined) ?? {}) };
  if (path.namespace !== undefined) {
    if (metadata.namespace && metadata.namespace !== path.namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    metadata.namespace = path.namespace;
  }
  if (path.name !== undefined) {
    if (options.requireName && metadata.name !== undefined && metadata.name !== path.name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${path.name})`,
      );
    }
    metadata.name = path.name;
  }
  return { ...object, metadata };
}

function current(cluster: FakeCluster, path: ResourcePath): Pod | KubernetesEvent {
  const name = path.name ?? '';
  const namespace = path.namespace ?? '';
  const object =
    path.resource === 'pods' ? cluster.getPod(namespace, name) : cluster.getEvent(namespace, name);
  if (object === undefined) throw notFound(path.resource, name);
  return object;
}

/**
 * Sees every object a create, update or patch is about to write, with the stored one it replaces, and
 * returns what to write instead (field validation and managedFields hook in here).
 */
export type BeforeWrite = (
  object: Record<string, unknown>,
  live: Record<string, unknown> | undefined,
) => Record<string, unknown>;

/** Runs one non-watch operation against the cluster. Throws `KubernetesError` or {@link StatusFailure}. */
export function handleOperation(
  cluster: FakeCluster,
  operation: Operation,
  path: ResourcePath,
  query: URLSearchParams,
  body: Buffer | undefined,
  patchType: PatchType | undefined,
  beforeWrite: BeforeWrite = (object) => object,
): HandlerResult {
  const name = path.name ?? '';
  const namespace = path.namespace;
  switch (operation) {
    case 'get': {
      if (path.resource === 'leases') {
        const lease = cluster.getLease(namespace ?? '', name);
        if (lease === undefined)
          throw statusError(404, `leases.coordination.k8s.io "${name}" not found`, {
            name,
            group: 'coordination.k8s.io',
            kind: 'leases',
          });
        return { code: 200, body: lease };
      }
      if (path.resource === 'nodes') {
        const node = cluster.getNode(name);
        if (node === undefined) throw notFound('nodes', name);
        return { code: 200, body: node };
      }
      if (path.resource === 'namespaces') {
        const found = cluster.getNamespace(name);
        if (found === undefined) throw notFound('namespaces', name);
        return { code: 200, body: found };
      }
      return { code: 200, body: current(cluster, path) };
    }
    case 'list': {
      const listQuery = listQueryOf(query);
      if (path.resource === 'namespaces') return { code: 200, body: cluster.queryNamespaces(listQuery) };
      if (path.resource === 'nodes') return { code: 200, body: cluster.listNodes(listQuery) };
      if (path.resource === 'leases') return { code: 200, body: cluster.listLeases(namespace, listQuery) };
      const result =
        path.resource === 'pods'
          ? cluster.listPods(namespace, listQuery)
          : cluster.listEvents(namespace, listQuery);
      return { code: 200, body: result };
    }
    case 'create': {
      if (path.subresource === 'binding' || path.subresource === 'eviction')
        return createSubresource(cluster, path, body);
      const object = beforeWrite(
        checkObject(path, parseJsonObject(body ?? Buffer.alloc(0), OBJECT_KINDS[path.resource]), {
          requireName: false,
        }),
        undefined,
      );
      if (path.resource === 'namespaces') {
        const metadata = object.metadata as { name?: string };
        if (!metadata.name) {
          throw invalid('Namespace', '', [
            {
              reason: 'FieldValueRequired',
              field: 'metadata.name',
              message: 'Required value: name is required',
            },
          ]);
        }
        return { code: 201, body: cluster.createNamespace(metadata.name) };
      }
      const created =
        path.resource === 'pods'
          ? cluster.createPod(object as Pod, { strict: true })
          : cluster.createEvent(object as unknown as KubernetesEvent);
      return { code: 201, body: created };
    }
    case 'update': {
      const object = checkObject(
        path,
        parseJsonObject(body ?? Buffer.alloc(0), OBJECT_KINDS[path.resource]),
        {
          requireName: true,
        },
      );
      const live = current(cluster, path) as unknown as Record<string, unknown>;
      return { code: 200, body: write(cluster, path, beforeWrite(object, live)) };
    }
    case 'patch': {
      const patch = parseJson(body);
      if (path.resource === 'nodes') return { code: 200, body: patchNode(cluster, name, patchType, patch) };
      const existing = current(cluster, path);
      const patched = applyPatch(patchType ?? 'merge', existing, patch);
      const checked = checkObject(path, patched, { requireName: true });
      return {
        code: 200,
        body: write(cluster, path, beforeWrite(checked, existing as unknown as Record<string, unknown>)),
      };
    }
    case 'deletecollection':
      return deleteCollectionOf(cluster, path, query, body);
    case 'delete': {
      const options =
        body !== undefined && body.length > 0 ? parseJsonObject(body, 'DeleteOptions') : undefined;
      const deleteQuery = deleteQueryOf(query, options);
      if (path.resource === 'namespaces')
        return { code: 200, body: cluster.deleteNamespace(name, deleteQuery) };
      if (path.resource === 'pods')
        return { code: 200, body: cluster.deletePod(namespace ?? '', name, deleteQuery) };
      const deleted = cluster.deleteEvent(namespace ?? '', name, deleteQuery);
      return {
        code: 200,
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, kind: 'events', uid: deleted.metadata?.uid },
        },
      };
    }
  }
}

function deleteCollectionOf(
  cluster: FakeCluster,
  path: ResourcePath,
  query: URLSearchParams,
  body: Buffer | undefined,
): HandlerResult {
  const options = body !== undefined && body.length > 0 ? parseJsonObject(body, 'DeleteOptions') : undefined;
  const { fieldSelector, labelSelector } = listQueryOf(query);
  const resource = path.resource === 'events' ? 'events' : 'pods';
  const deleted = cluster.deleteCollection(resource, path.namespace ?? '', {
    ...deleteQueryOf(query, options),
    ...(fieldSelector === undefined ? {} : { fieldSelector }),
    ...(labelSelector === undefined ? {} : { labelSelector }),
  });
  return { code: 200, body: deleted };
}

/** The Status a successful binding or eviction answers (201), as the apiserver's create handler. */
const CREATED_SUCCESS = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

/** `POST pods/{name}/binding` (a core/v1 Binding) and `pods/{name}/eviction` (a policy/v1 Eviction). */
function createSubresource(
  cluster: FakeCluster,
  path: ResourcePath,
  body: Buffer | undefined,
): HandlerResult {
  const name = path.name ?? '';
  const namespace = path.namespace ?? '';
  if (path.subresource === 'binding') {
    const binding = parseJsonObject(body ?? Buffer.alloc(0), 'Binding');
    const target = isRecord(binding.target) ? binding.target : {};
    if (typeof target.name !== 'string' || target.name === '') {
      throw invalid('Binding', name, [
        { reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' },
      ]);
    }
    cluster.bindPod(namespace, name, target.name);
    return { code: 201, body: CREATED_SUCCESS };
  }
  const eviction = parseJsonObject(body ?? Buffer.alloc(0), 'Eviction');
  const metadata = isRecord(eviction.metadata) ? eviction.metadata : {};
  if (metadata.name !== undefined && metadata.name !== name) {
    throw badRequest(`name in URL does not match name in Eviction object`);
  }
  const options = isRecord(eviction.deleteOptions) ? eviction.deleteOptions : undefined;
  cluster.deletePod(namespace, name, deleteQueryOf(new URLSearchParams(), options));
  return { code: 201, body: CREATED_SUCCESS };
}

function parseJson(body: Buffer | undefined): unknown {
  const text = (body ?? Buffer.alloc(0)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function write(
  cluster: FakeCluster,
  path: ResourcePath,
  object: Record<string, unknown>,
): Pod | KubernetesEvent {
  if (path.resource === 'pods') {
    return cluster.updatePod(
      object as Pod,
      path.subresource === 'status' ? { subresource: 'status' } : { strict: true },
    );
  }
  return cluster.updateEvent(object as unknown as KubernetesEvent);
}

/** A patch of a node: only `spec.unschedulable` (cordon, uncordon) is writable here. */
function patchNode(
  cluster: FakeCluster,
  name: string,
  patchType: PatchType | undefined,
  patch: unknown,
): unknown {
  const existing = cluster.getNode(name);
  if (existing === undefined) throw notFound('nodes', name);
  const patched = applyPatch(patchType ?? 'merge', existing as never, patch) as {
    spec?: { unschedulable?: boolean };
  };
  const cordoned = patched.spec?.unschedulable === true;
  if (cordoned === (existing.spec?.unschedulable === true)) return existing;
  return cluster.cordonNode(name, cordoned);
}
