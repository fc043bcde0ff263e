import jsonPatch from 'fast-json-patch';
import { failureStatus } from '../status.js';
import type { PatchType } from './body.js';
import { StatusFailure } from './status-failure.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The merge keys of the lists in pods and events (the `patchMergeKey` tags of the Kubernetes types),
 * by field name: that is enough for the two kinds this server keeps.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  readinessGates: 'conditionType',
  resourceClaims: 'name',
  conditions: 'type',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  ephemeralContainerStatuses: 'name',
  podIPs: 'ip',
  hostIPs: 'ip',
  ownerReferences: 'uid',
};

/** Lists of scalars that strategic merge treats as sets (`patchStrategy: merge`). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function badPatch(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

function unprocessable(message: string): StatusFailure {
  return new StatusFailure(failureStatus(422, message, {}, 'Invalid'), message);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

function strategicList(field: string, target: Json | undefined, patch: Json[]): Json {
  const mergeKey = MERGE_KEYS[field];
  const current = Array.isArray(target) ? target : [];
  if (mergeKey === undefined) {
    if (MERGED_SCALAR_LISTS.has(field)) {
      const merged = [...current];
      for (const value of patch) if (!merged.some((item) => item === value)) merged.push(value);
      return merged;
    }
    if (patch.some((item) => isObject(item) && '$patch' in item)) {
      throw badPatch(`unable to find merge key for list ${field} with a $patch directive`);
    }
    return patch;
  }
  const replace = patch.find((item) => isObject(item) && item.$patch === 'replace');
  if (replace !== undefined) return patch.filter((item) => item !== replace);
  const result = current.map((item) => item);
  for (const item of patch) {
    if (!isObject(item)) throw badPatch(`list ${field} holds objects keyed by ${mergeKey}`);
    const key = item[mergeKey];
    if (key === undefined)
      throw badPatch(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === key);
    if (item.$patch === 'delete') {
      if (index !== -1) result.splice(index, 1);
      continue;
    }
    if (index === -1) result.push(strategicMerge(undefined, item));
    else result[index] = strategicMerge(result[index], item);
  }
  return result;
}

/**
 * Strategic merge patch for the cases clients send: maps merge as in a merge patch, lists with a merge
 * key (containers by name, conditions by type, ...) merge element by element, `$patch: delete` removes
 * an element, `$patch: replace` replaces a map or list, `$deleteFromPrimitiveList/<field>` removes
 * scalars, `$retainKeys` keeps only the keys it names, and `$setElementOrder/<field>` is honoured as
 * an ordering hint only.
 */
export function strategicMerge(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _directive, ...rest } = patch;
    return rest;
  }
  if (patch.$patch === 'delete') return null;
  if (patch.$patch !== undefined) throw badPatch(`unknown patch type: ${String(patch.$patch)}`);
  let result: JsonObject = isObject(target) ? { ...target } : {};
  const retain = patch.$retainKeys;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((item) => !value.includes(item));
      }
      continue;
    }
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = strategicList(key, result[key], value);
    else if (isObject(value)) {
      const merged = strategicMerge(result[key], value);
      if (merged === null) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  if (Array.isArray(retain)) {
    result = Object.fromEntries(Object.entries(result).filter(([key]) => retain.includes(key)));
  }
  return result;
}

// Errors about the patch document itself (400), as opposed to operations that do not fit the object (422).
const MALFORMED_OPERATION = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/** RFC 6902 JSON patch; a malformed document is 400, an operation that cannot apply 422. */
export function applyJsonPatch(target: Json, patch: unknown): Json {
  if (!Array.isArray(patch)) throw badPatch('json patch must be a JSON array of operations');
  const error = jsonPatch.validate(patch as jsonPatch.Operation[], structuredClone(target));
  if (error !== undefined) {
    const kind = (error as { name?: string }).name ?? '';
    const message = `the server rejected our request due to an error in our request: ${error.message.split('\n')[0]}`;
    if (MALFORMED_OPERATION.has(kind)) throw badPatch(message);
    throw unprocessable(message);
  }
  try {
    return jsonPatch.applyPatch(structuredClone(target), patch as jsonPatch.Operation[], false, true)
      .newDocument;
  } catch (caught) {
    throw unprocessable(
      `the server rejected our request due to an error in our request: ${caught instanceof Error ? caught.message.split('\n')[0] : String(caught)}`,
    );
  }
}

/** Applies a PATCH body of the given type to the object as stored. */
export function applyPatch(type: PatchType, current: object, patch: unknown): Record<string, unknown> {
  const target = structuredClone(current) as Json;
  let result: Json;
  if (type === 'json') result = applyJsonPatch(target, patch);
  else {
    if (!isObject(patch as Json)) throw badPatch(`a ${type} merge patch must be a JSON object`);
    result = type === 'merge' ? mergePatch(target, patch as Json) : strategicMerge(target, patch as Json);
  }
  if (!isObject(result)) throw unprocessable('the patched object is not a JSON object');
  return result;
}
