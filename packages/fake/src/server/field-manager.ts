import { failureStatus } from '../status.js';
import { definitionOfKind, resolve, type Schema, unknownFields } from './kubernetes-schema.js';
import { StatusFailure } from './status-failure.js';

// Server-side apply and managedFields, after structured-merge-diff (sigs.k8s.io/structured-merge-diff,
// used by k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager): each field manager owns a set of field
// paths, stored in `metadata.managedFields` as FieldsV1 (`f:spec`, `k:{"name":"main"}`, `v:"x"`, `.`).
// The list types and map keys come from the OpenAPI schema the server serves (x-kubernetes-list-type,
// x-kubernetes-list-map-keys, x-kubernetes-map-type).
//
// - Apply (`application/apply-patch+yaml`): the applied configuration is merged into the live object
//   (maps and structs by key, `map` lists by their keys, `set` lists as sets, atomic lists and scalars
//   replaced). A field it changes that another manager owns is a conflict (409, one cause per field),
//   unless `force=true`, which takes the field over. Fields the manager applied before and no longer
//   does are removed, unless another manager owns them. The manager's set becomes the applied set.
// - Update (create, PUT, other patches): the manager (`fieldManager`, else the User-Agent's product)
//   takes every field the write adds or changes from the others, without conflicts.
// - Status is reset on the main resource and everything but status on `/status`, as the pod strategy's
//   reset fields say.
//
// Not modelled: ownership of the defaults the server adds (a real create owns them), version
// conversion of managed fields, and the managedFields cap of 1 Update entry per manager and subresource
// beyond merging by (manager, operation, subresource).

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One step of a field path: a field (`f:`), an element of a map list by its keys (`k:`), or of a set (`v:`). */
type PathElement = string;

/** A managedFields entry, as stored. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

const SEPARATOR = '\u0000';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortedKeyJson(item: JsonObject, keys: readonly string[]): string {
  const key: JsonObject = {};
  for (const name of [...keys].sort()) if (item[name] !== undefined) key[name] = item[name] as Json;
  return JSON.stringify(key);
}

// Metadata the apiserver strips before it tracks ownership (fieldmanager/internal/stripmeta.go).
const STRIPPED_METADATA = [
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/** The part of an object whose fields are tracked: no apiVersion, kind or server-owned metadata. */
function tracked(object: JsonObject, subresource: string | undefined): JsonObject {
  const { apiVersion: _apiVersion, kind: _kind, metadata, status, ...rest } = object;
  if (subresource === 'status') return status === undefined ? {} : { status };
  const result: JsonObject = { ...rest };
  if (isObject(metadata)) {
    const kept = Object.fromEntries(
      Object.entries(metadata).filter(([key]) => !STRIPPED_METADATA.includes(key)),
    ) as JsonObject;
    if (Object.keys(kept).length > 0) result.metadata = kept;
  }
  return result;
}

function listTypeOf(schema: Schema): 'atomic' | 'set' | 'map' {
  return schema['x-kubernetes-list-type'] ?? 'atomic';
}

/** The set of leaf paths (and list elements) of a value, as structured-merge-diff's ToFieldSet. */
function fieldSet(value: Json, schema: Schema | undefined, path: PathElement[], out: Set<string>): void {
  const resolved = resolve(schema);
  if (Array.isArray(value)) {
    const listType = resolved === undefined ? 'atomic' : listTypeOf(resolved);
    if (listType === 'atomic' || resolved?.items === undefined) {
      out.add(path.join(SEPARATOR));
      return;
    }
    for (const item of value) {
      if (listType === 'set') {
        out.add([...path, `v:${JSON.stringify(item)}`].join(SEPARATOR));
        continue;
      }
      if (!isObject(item)) continue;
      const element = [...path, `k:${sortedKeyJson(item, resolved['x-kubernetes-list-map-keys'] ?? [])}`];
      out.add(element.join(SEPARATOR));
      fieldSet(item, resolved.items, element, out);
    }
    return;
  }
  if (isObject(value) && resolved !== undefined && resolved['x-kubernetes-map-type'] !== 'atomic') {
    const structured = resolved.properties !== undefined || isObject(resolved.additionalProperties);
    if (structured) {
      for (const [key, child] of Object.entries(value)) {
        if (child === null) continue;
        const childSchema =
          resolved.properties?.[key] ??
          (isObject(resolved.additionalProperties) ? (resolved.additionalProperties as Schema) : undefined);
        fieldSet(child, childSchema, [...path, `f:${key}`], out);
      }
      return;
    }
  }
  if (path.length > 0) out.add(path.join(SEPARATOR));
}

/** The fields of an object for one schema, as path strings. */
function fieldsOf(
  object: JsonObject,
  schema: Schema | undefined,
  subresource: string | undefined,
): Set<string> {
  const out = new Set<string>();
  fieldSet(tracked(object, subresource), schema, [], out);
  return out;
}

/** FieldsV1 (`{"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},...}}}}`) to path strings. */
export function fromFieldsV1(fields: Json | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Json | undefined, path: string[]) => {
    if (!isObject(node)) return;
    for (const [key, child] of Object.entries(node)) {
      if (key === '.') {
        out.add(path.join(SEPARATOR));
        continue;
      }
      const next = [...path, key];
      if (!isObject(child) || Object.keys(child).length === 0) out.add(next.join(SEPARATOR));
      else walk(child, next);
    }
  };
  walk(fields, []);
  return out;
}

/** Path strings to FieldsV1. */
export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  const leaves: string[][] = [...paths].filter((path) => path !== '').map((path) => path.split(SEPARATOR));
  for (const parts of leaves) {
    let node = root;
    for (const part of parts) {
      node[part] ??= {};
      node = node[part] as JsonObject;
    }
  }
  for (const parts of leaves) {
    let node = root;
    for (const part of parts) node = node[part] as JsonObject;
    if (Object.keys(node).length > 0) node['.'] = {};
  }
  // Sorted as the apiserver serialises them: `.` first, then the keys in order.
  const sorted = (node: JsonObject): JsonObject =>
    Object.fromEntries(
      Object.keys(node)
        .sort((a, b) => (a === '.' ? -1 : b === '.' ? 1 : a < b ? -1 : a > b ? 1 : 0))
        .map((key) => [key, sorted(node[key] as JsonObject)]),
    );
  return sorted(root);
}

/** JSON with object keys sorted: equal for objects that differ only in key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) =>
    isObject(entry)
      ? Object.fromEntries(
          Object.keys(entry)
            .sort()
            .map((name) => [name, entry[name]]),
        )
      : entry,
  );
}

/** A path as structured-merge-diff prints it: `.spec.containers[name="main"].image`. */
export function pathString(path: string): string {
  return path
    .split(SEPARATOR)
    .map((part) => {
      if (part.startsWith('f:')) return `.${part.slice(2)}`;
      if (part.startsWith('v:')) return `[=${part.slice(2)}]`;
      const key = JSON.parse(part.slice(2)) as JsonObject;
      return `[${Object.entries(key)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .join(',')}]`;
    })
    .join('');
}

/** The value at a path, or `undefined` if the object has none there. */
function valueAt(object: Json, path: string): Json | undefined {
  let node: Json | undefined = object;
  for (const part of path.split(SEPARATOR)) {
    if (node === undefined || node === null) return undefined;
    if (part.startsWith('f:')) node = isObject(node) ? node[part.slice(2)] : undefined;
    else if (part.startsWith('v:')) {
      const wanted = part.slice(2);
      node = Array.isArray(node) ? node.find((item) => JSON.stringify(item) === wanted) : undefined;
    } else {
      const key = JSON.parse(part.slice(2)) as JsonObject;
      node = Array.isArray(node)
        ? node.find(
            (item) => isObject(item) && Object.entries(key).every(([name, value]) => item[name] === value),
          )
        : undefined;
    }
  }
  return node;
}

function removeAt(object: JsonObject, path: string): void {
  const parts = path.split(SEPARATOR);
  const parentPath = parts.slice(0, -1).join(SEPARATOR);
  const parent = parts.length === 1 ? object : valueAt(object, parentPath);
  const last = parts.at(-1) as string;
  if (last.startsWith('f:')) {
    if (isObject(parent)) delete parent[last.slice(2)];
    return;
  }
  if (!Array.isArray(parent)) return;
  const index = parent.findIndex((item) => {
    if (last.startsWith('v:')) return JSON.stringify(item) === last.slice(2);
    const key = JSON.parse(last.slice(2)) as JsonObject;
    return isObject(item) && Object.entries(key).every(([name, value]) => item[name] === value);
  });
  if (index !== -1) parent.splice(index, 1);
}

/**
 * Whether a path's value differs between two objects, as structured-merge-diff's Compare: a leaf by its
 * value; an element of a map list only by being there or not (its fields are paths of their own).
 */
function differs(before: Json, after: Json, path: string): boolean {
  const was = valueAt(before, path);
  const is = valueAt(after, path);
  if (path.split(SEPARATOR).at(-1)?.startsWith('k:')) return (was === undefined) !== (is === undefined);
  return JSON.stringify(was) !== JSON.stringify(is);
}

/** Merges an applied configuration into a live value, by the schema's list and map types. */
function merge(live: Json | undefined, applied: Json, schema: Schema | undefined): Json {
  const resolved = resolve(schema);
  if (Array.isArray(applied)) {
    const listType = resolved === undefined ? 'atomic' : listTypeOf(resolved);
    if (listType === 'atomic' || !Array.isArray(live)) return applied;
    if (listType === 'set') {
      const result = [...applied];
      for (const item of live) {
        if (!result.some((kept) => JSON.stringify(kept) === JSON.stringify(item))) result.push(item);
      }
      return result;
    }
    const keys = resolved?.['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (item: Json) => (isObject(item) ? sortedKeyJson(item, keys) : JSON.stringify(item));
    const result = live.map((item) => item);
    for (const item of applied) {
      const index = result.findIndex((existing) => keyOf(existing) === keyOf(item));
      if (index === -1) result.push(item);
      else result[index] = merge(result[index], item, resolved?.items);
    }
    return result;
  }
  if (isObject(applied) && resolved !== undefined && resolved['x-kubernetes-map-type'] !== 'atomic') {
    if (resolved.properties === undefined && !isObject(resolved.additionalProperties)) return applied;
    const result: JsonObject = isObject(live) ? { ...live } : {};
    for (const [key, value] of Object.entries(applied)) {
      if (value === null) continue;
      const childSchema =
        resolved.properties?.[key] ??
        (isObject(resolved.additionalProperties) ? (resolved.additionalProperties as Schema) : undefined);
      result[key] = merge(result[key], value, childSchema);
    }
    return result;
  }
  return applied;
}

function managedFieldsOf(object: JsonObject | undefined): ManagedFieldsEntry[] {
  const metadata = object?.metadata;
  if (!isObject(metadata) || !Array.isArray(metadata.managedFields)) return [];
  return structuredClone(metadata.managedFields) as unknown as ManagedFieldsEntry[];
}

function sameEntry(
  entry: ManagedFieldsEntry,
  manager: string,
  operation: string,
  subresource: string | undefined,
): boolean {
  return entry.manager === manager && entry.operation === operation && entry.subresource === subresource;
}

function withManagedFields(object: JsonObject, entries: ManagedFieldsEntry[]): JsonObject {
  const kept = entries.filter((entry) => Object.keys(entry.fieldsV1).length > 0);
  const metadata: JsonObject = { ...(isObject(object.metadata) ? object.metadata : {}) };
  if (kept.length > 0) metadata.managedFields = kept as unknown as Json;
  else delete metadata.managedFields;
  return { ...object, metadata };
}

function describeManager(entry: ManagedFieldsEntry): string {
  const subresource = entry.subresource ? ` (subresource ${entry.subresource})` : '';
  return `"${entry.manager}" using ${entry.apiVersion}${subresource}`;
}

/** What an apply or update needs to know beyond the objects. */
export interface ManagerContext {
  readonly apiVersion: string;
  readonly kind: string;
  readonly manager: string;
  readonly subresource: 'status' | undefined;
  /** Now, as the time of the entry (RFC 3339). */
  readonly time: string;
}

/**
 * The managedFields of a create, update or non-apply patch (operation Update): the manager takes every
 * field the write adds or changes. An object sent with managedFields of its own keeps them (as the
 * apiserver does); one sent without keeps the live object's.
 */
export function recordUpdate(
  liveObject: Record<string, unknown> | undefined,
  nextObject: Record<string, unknown>,
  context: ManagerContext,
): Record<string, unknown> {
  const live = liveObject as JsonObject | undefined;
  const next = nextObject as JsonObject;
  const schema = definitionOfKind(context.apiVersion, context.kind);
  const sent = managedFieldsOf(next);
  const entries = sent.length > 0 ? sent : managedFieldsOf(live);
  const before = live === undefined ? new Set<string>() : fieldsOf(live, schema, context.subresource);
  const after = fieldsOf(next, schema, context.subresource);
  const changed = new Set<string>();
  for (const path of after) {
    if (
      !before.has(path) ||
      JSON.stringify(valueAt(live ?? {}, path)) !== JSON.stringify(valueAt(next, path))
    )
      changed.add(path);
  }
  const removed = [...before].filter((path) => !after.has(path));
  if (changed.size === 0 && removed.length === 0) return withManagedFields(next, entries);
  for (const entry of entries) {
    const owned = fromFieldsV1(entry.fieldsV1);
    for (const path of [...changed, ...removed]) owned.delete(path);
    entry.fieldsV1 = toFieldsV1(owned);
  }
  let mine = entries.find((entry) => sameEntry(entry, context.manager, 'Update', context.subresource));
  if (mine === undefined) {
    mine = {
      manager: context.manager,
      operation: 'Update',
      apiVersion: context.apiVersion,
      time: context.time,
      fieldsType: 'FieldsV1',
      fieldsV1: {},
      ...(context.subresource === undefined ? {} : { subresource: context.subresource }),
    };
    entries.push(mine);
  }
  const owned = fromFieldsV1(mine.fieldsV1);
  for (const path of changed) owned.add(path);
  mine.fieldsV1 = toFieldsV1(owned);
  mine.time = context.time;
  return withManagedFields(next, entries);
}

function badRequest(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

/**
 * Server-side apply of `applied` by `context.manager` onto `live` (`undefined`: the object does not exist
 * and the apply creates it). Returns the object to write, with its managedFields. Throws 409 Conflict
 * with a cause per conflicting field (unless `force`), or 400 for fields the schema does not declare.
 */
export function serverSideApply(
  liveObject: Record<string, unknown> | undefined,
  appliedObject: Record<string, unknown>,
  context: ManagerContext & { readonly force: boolean },
): Record<string, unknown> {
  const live = liveObject as JsonObject | undefined;
  const applied = appliedObject as JsonObject;
  const schema = definitionOfKind(context.apiVersion, context.kind);
  const unknown = unknownFields(tracked(applied, context.subresource), schema);
  if (unknown.length > 0) {
    throw badRequest(
      `failed to create typed patch object (${context.apiVersion}, Kind=${context.kind}): ${unknown
        .map((path) => `.${path.replace(/\[(\d+)\]/g, '[$1]')}: field not declared in schema`)
        .join(', ')}`,
    );
  }
  const base: JsonObject = live ?? {};
  const appliedFields = fieldsOf(applied, schema, context.subresource);
  const trackedLive = tracked(base, context.subresource);
  const merged = merge(trackedLive, tracked(applied, context.subresource), schema) as JsonObject;
  const entries = managedFieldsOf(live);
  const previous = entries.find((entry) => sameEntry(entry, context.manager, 'Apply', context.subresource));
  const others = entries.filter((entry) => entry !== previous);

  // A field conflicts when another manager owns it and this apply changes its value.
  const conflicts: { entry: ManagedFieldsEntry; path: string }[] = [];
  for (const entry of others) {
    if (entry.subresource !== context.subresource) continue;
    for (const path of fromFieldsV1(entry.fieldsV1)) {
      if (!appliedFields.has(path)) continue;
      if (differs(trackedLive, merged, path)) conflicts.push({ entry, path });
    }
  }
  if (conflicts.length > 0 && !context.force) throw conflictError(conflicts);
  for (const { entry, path } of conflicts) {
    const owned = fromFieldsV1(entry.fieldsV1);
    owned.delete(path);
    entry.fieldsV1 = toFieldsV1(owned);
  }

  // Fields this manager applied before and no longer does go, unless someone else owns them (deepest
  // first, so an element goes after the fields inside it).
  if (previous !== undefined) {
    const ownedByOthers = new Set(others.flatMap((entry) => [...fromFieldsV1(entry.fieldsV1)]));
    const dropped = [...fromFieldsV1(previous.fieldsV1)]
      .filter((path) => !appliedFields.has(path) && !ownedByOthers.has(path))
      .sort((a, b) => b.split(SEPARATOR).length - a.split(SEPARATOR).length);
    for (const path of dropped) removeAt(merged, path);
  }

  const entry: ManagedFieldsEntry = {
    manager: context.manager,
    operation: 'Apply',
    apiVersion: context.apiVersion,
    time: context.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(appliedFields),
    ...(context.subresource === undefined ? {} : { subresource: context.subresource }),
  };
  const nextEntries =
    previous === undefined ? [...entries, entry] : entries.map((each) => (each === previous ? entry : each));

  let object: JsonObject;
  if (context.subresource === 'status') {
    object = { ...base, ...merged };
  } else {
    // The server-owned metadata (and the name of a create) with the tracked metadata the merge made;
    // the status stays as it is (the pod strategy resets it on the main resource).
    const liveMetadata = isObject(base.metadata) ? base.metadata : {};
    const appliedMetadata = isObject(applied.metadata) ? applied.metadata : {};
    const owned = Object.fromEntries(
      Object.entries(liveMetadata).filter(([key]) => STRIPPED_METADATA.includes(key)),
    ) as JsonObject;
    for (const key of ['name', 'namespace'] as const) {
      if (owned[key] === undefined && appliedMetadata[key] !== undefined)
        owned[key] = appliedMetadata[key] as Json;
    }
    const { metadata: mergedMetadata, ...mergedRest } = merged;
    object = {
      ...mergedRest,
      metadata: { ...owned, ...(isObject(mergedMetadata) ? mergedMetadata : {}) },
      ...(base.status === undefined ? {} : { status: base.status }),
    };
  }
  return withManagedFields({ ...object, apiVersion: context.apiVersion, kind: context.kind }, nextEntries);
}

function conflictError(conflicts: { entry: ManagedFieldsEntry; path: string }[]): StatusFailure {
  const count = conflicts.length;
  const managers = [...new Set(conflicts.map(({ entry }) => describeManager(entry)))];
  let summary: string;
  if (count === 1) summary = `conflict with ${managers[0]}: ${pathString(conflicts[0]?.path ?? '')}`;
  else if (managers.length === 1)
    summary = `conflicts with ${managers[0]}:\n${conflicts.map(({ path }) => `- ${pathString(path)}`).join('\n')}`;
  else
    summary = `conflicts with ${managers.length} managers:\n${conflicts
      .map(({ entry, path }) => `- ${pathString(path)} (${describeManager(entry)})`)
      .join('\n')}`;
  const message = `Apply failed with ${count} conflict${count === 1 ? '' : 's'}: ${summary}`;
  return new StatusFailure(
    failureStatus(
      409,
      message,
      {
        causes: conflicts.map(({ entry, path }) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with ${describeManager(entry)}`,
          field: pathString(path),
        })),
      },
      'Conflict',
    ),
    'apply conflict',
  );
}

/**
 * The manager of a request: `fieldManager`, else (for non-apply writes) the product of the User-Agent
 * (`kubectl/v1.32.0 (linux/amd64)` → `kubectl`), as the apiserver's `prefixFromUserAgent`. An apply
 * without one is the apiserver's 422; a name over 128 characters 422 as well.
 */
export function managerOf(query: URLSearchParams, userAgent: string | undefined, apply: boolean): string {
  const given = query.get('fieldManager');
  const invalid = (detail: string) => {
    const message = `PatchOptions.meta.k8s.io "" is invalid: fieldManager: ${detail}`;
    return new StatusFailure(
      failureStatus(
        422,
        message,
        {
          kind: 'PatchOptions',
          group: 'meta.k8s.io',
          causes: [{ reason: 'FieldValueRequired', field: 'fieldManager', message: detail }],
        },
        'Invalid',
      ),
      message,
    );
  };
  if (given !== null && given !== '') {
    if (given.length > 128) throw invalid(`Too long: may not be more than 128 bytes`);
    return given;
  }
  if (apply) throw invalid('Required value: is required for apply patch');
  return (userAgent ?? '').split('/')[0]?.slice(0, 128) || 'unknown';
}
