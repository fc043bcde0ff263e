import protobuf from 'protobufjs';
import { failureStatus } from '../status.js';
import { definitionOf } from './kubernetes-schema.js';
import protoDescriptor from './schemas/kubernetes-proto.json' with { type: 'json' };
import { StatusFailure } from './status-failure.js';

// The Kubernetes protobuf wire format (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the magic
// `k8s\0`, then a runtime.Unknown whose typeMeta names the kind, whose raw holds the object's own
// message, and whose contentEncoding and contentType are empty. The messages are the types' own
// generated.proto definitions (vendored as protobufjs JSON, see schemas/README.md). Go's generated
// marshallers write every non-pointer field, so a decoded object carries empty strings a JSON client would
// have left out: they are dropped unless the OpenAPI schema says the field is required.

/** The bytes every Kubernetes protobuf body starts with. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The protobuf media type. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const root = protobuf.Root.fromJSON(protoDescriptor as protobuf.INamespace);
root.resolveAll();

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const UNKNOWN = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
const WATCH_EVENT = root.lookupType(`${META}.WatchEvent`);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function badProtobuf(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

/** The message type of a kind in an API version (`v1` Pod, `events.k8s.io/v1` Event, `v1` Status). */
export function messageTypeOf(apiVersion: string, kind: string): protobuf.Type | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const packages: string[] = [];
  if (group === '') packages.push(`k8s.io.api.core.${version}`, META);
  else if (group === 'meta.k8s.io') packages.push(META);
  else packages.push(`k8s.io.api.${group?.replace(/\.k8s\.io$/, '')}.${version}`, META);
  for (const name of packages) {
    const found = root.lookup(`${name}.${kind}`);
    if (found instanceof protobuf.Type) return found;
  }
  return undefined;
}

// Go's metav1.Time and MicroTime are seconds and nanos on the wire, RFC 3339 strings in JSON.
function timeToJson(message: Record<string, unknown>, micro: boolean): Json {
  const seconds = toNumber(message.seconds);
  const nanos = toNumber(message.nanos);
  if (seconds === 0 && nanos === 0) return null; // Go's zero time: absent in JSON
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

function timeFromJson(value: Json): Record<string, number> | undefined {
  if (typeof value !== 'string') return undefined;
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) throw badProtobuf(`cannot encode time ${JSON.stringify(value)}`);
  const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
  return {
    seconds: Math.floor(millis / 1000),
    nanos: Number(fraction.padEnd(9, '0').slice(0, 9)),
  };
}

const DURATION_UNITS: [string, number][] = [
  ['h', 3_600_000_000_000],
  ['m', 60_000_000_000],
  ['s', 1_000_000_000],
];

function durationToJson(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  let rest = Math.abs(nanoseconds);
  let text = nanoseconds < 0 ? '-' : '';
  for (const [unit, size] of DURATION_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0 || (text !== '' && text !== '-')) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

function durationFromJson(value: Json): number {
  if (typeof value !== 'string') throw badProtobuf(`cannot encode duration ${JSON.stringify(value)}`);
  const units: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };
  let total = 0;
  for (const [, count, unit] of value.matchAll(/([\d.]+)(h|ms|m|s|us|µs|ns)/g))
    total += Number(count) * (units[unit ?? 's'] ?? 0);
  return Math.round(value.startsWith('-') ? -total : total);
}

function toNumber(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

// Messages that Go encodes in JSON as something other than an object, by their full protobuf name.
const SPECIAL = new Set([
  `.${META}.Time`,
  `.${META}.MicroTime`,
  `.${META}.Duration`,
  `.${META}.FieldsV1`,
  `.${META}.Verbs`,
  '.k8s.io.api.authorization.v1.ExtraValue',
  '.k8s.io.apimachinery.pkg.api.resource.Quantity',
  '.k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  '.k8s.io.apimachinery.pkg.runtime.RawExtension',
]);

function specialToJson(type: protobuf.Type, message: Record<string, unknown>): Json | undefined {
  switch (type.fullName) {
    case `.${META}.Time`:
      return timeToJson(message, false);
    case `.${META}.MicroTime`:
      return timeToJson(message, true);
    case `.${META}.Duration`:
      return durationToJson(toNumber(message.duration));
    case `.${META}.FieldsV1`:
    case '.k8s.io.apimachinery.pkg.runtime.RawExtension': {
      const raw = (message.Raw ?? message.raw) as Uint8Array | undefined;
      if (raw === undefined || raw.length === 0) return null;
      const bytes = Buffer.from(raw);
      if (bytes.subarray(0, 4).equals(PROTOBUF_MAGIC)) return decodeProtobuf(bytes) as Json;
      return JSON.parse(bytes.toString('utf8')) as Json;
    }
    case `.${META}.Verbs`:
    case '.k8s.io.api.authorization.v1.ExtraValue':
      return (message.items as string[] | undefined) ?? [];
    case '.k8s.io.apimachinery.pkg.api.resource.Quantity':
      return (message.string as string | undefined) ?? '0';
    case '.k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return toNumber(message.type) === 1
        ? ((message.strVal as string | undefined) ?? '')
        : toNumber(message.intVal);
    default:
      return undefined;
  }
}

function specialFromJson(type: protobuf.Type, value: Json): Record<string, unknown> | undefined {
  switch (type.fullName) {
    case `.${META}.Time`:
    case `.${META}.MicroTime`:
      return timeFromJson(value);
    case `.${META}.Duration`:
      return { duration: durationFromJson(value) };
    case `.${META}.FieldsV1`:
      return { Raw: Buffer.from(JSON.stringify(value)) };
    case '.k8s.io.apimachinery.pkg.runtime.RawExtension':
      return { raw: Buffer.from(JSON.stringify(value)) };
    case `.${META}.Verbs`:
    case '.k8s.io.api.authorization.v1.ExtraValue':
      return { items: Array.isArray(value) ? value : [] };
    case '.k8s.io.apimachinery.pkg.api.resource.Quantity':
      return { string: String(value) };
    case '.k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return typeof value === 'number' ? { type: 0, intVal: value } : { type: 1, strVal: String(value) };
    default:
      return undefined;
  }
}

/** The OpenAPI definition name of a protobuf type (`.k8s.io.api.core.v1.Pod` → `io.k8s.api.core.v1.Pod`). */
function definitionName(type: protobuf.Type): string {
  return `io.k8s${type.fullName.slice('.k8s.io'.length)}`;
}

function valueToJson(field: protobuf.Field, value: unknown): Json | undefined {
  if (field.resolvedType instanceof protobuf.Type) {
    return messageToJson(field.resolvedType, value as Record<string, unknown>);
  }
  if (field.resolvedType instanceof protobuf.Enum) return value as number;
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(field.type)) return toNumber(value);
  return value as Json;
}

/**
 * Whether a field is a Go struct embedded with `json:",inline"` (Volume's volumeSource, Probe's handler):
 * a message field the JSON schema of its type does not have, whose own fields appear in its place.
 */
function isInline(type: protobuf.Type, field: protobuf.Field): boolean {
  const properties = definitionOf(definitionName(type))?.properties;
  return (
    properties !== undefined &&
    !(field.name in properties) &&
    field.resolvedType instanceof protobuf.Type &&
    !field.repeated &&
    !field.map
  );
}

function messageToJson(type: protobuf.Type, message: Record<string, unknown>): Json {
  if (SPECIAL.has(type.fullName)) return specialToJson(type, message) ?? null;
  const required = new Set(definitionOf(definitionName(type))?.required ?? []);
  const result: JsonObject = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(message, field.name)) continue;
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (isInline(type, field)) {
      Object.assign(
        result,
        messageToJson(field.resolvedType as protobuf.Type, value as Record<string, unknown>),
      );
    } else if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) continue;
      const map: JsonObject = {};
      for (const [key, entry] of entries) map[key] = valueToJson(field, entry) ?? null;
      result[field.name] = map;
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      result[field.name] = items.map((item) => valueToJson(field, item) ?? null);
    } else {
      const converted = valueToJson(field, value);
      if (converted === undefined || converted === null) continue;
      if (converted === '' && !required.has(field.name)) continue;
      result[field.name] = converted;
    }
  }
  return result;
}

function valueFromJson(field: protobuf.Field, value: Json): unknown {
  if (field.resolvedType instanceof protobuf.Type) return messageFromJson(field.resolvedType, value);
  if (field.type === 'bytes' && typeof value === 'string') return Buffer.from(value, 'base64');
  return value;
}

function messageFromJson(type: protobuf.Type, value: Json): Record<string, unknown> | undefined {
  if (SPECIAL.has(type.fullName)) return specialFromJson(type, value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const result: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (isInline(type, field)) {
      result[field.name] = messageFromJson(field.resolvedType as protobuf.Type, value);
      continue;
    }
    const given = value[field.name];
    if (given === undefined || given === null) continue;
    if (field.map && typeof given === 'object' && !Array.isArray(given)) {
      result[field.name] = Object.fromEntries(
        Object.entries(given).map(([key, entry]) => [key, valueFromJson(field, entry)]),
      );
    } else if (field.repeated && Array.isArray(given)) {
      result[field.name] = given.map((item) => valueFromJson(field, item));
    } else {
      result[field.name] = valueFromJson(field, given);
    }
  }
  return result;
}

function encodeMessage(type: protobuf.Type, object: unknown): Uint8Array {
  const plain = messageFromJson(type, object as Json) ?? {};
  return type.encode(type.fromObject(plain)).finish();
}

/**
 * Decodes a Kubernetes protobuf body (magic, runtime.Unknown, the kind's message) into the JSON form of
 * the object, with its apiVersion and kind. A body that is not one, or names a kind this server has no
 * message for, is a 400 BadRequest.
 */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(PROTOBUF_MAGIC)) {
    throw badProtobuf('the protobuf body does not start with the Kubernetes magic number k8s\\x00');
  }
  let unknown: Record<string, unknown>;
  try {
    unknown = UNKNOWN.decode(body.subarray(4)) as unknown as Record<string, unknown>;
  } catch (error) {
    throw badProtobuf(`the protobuf body is malformed: ${error instanceof Error ? error.message : error}`);
  }
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  const type = messageTypeOf(apiVersion, kind);
  if (type === undefined) {
    throw badProtobuf(`no kind "${kind}" is registered for version "${apiVersion}" in protobuf`);
  }
  let message: Record<string, unknown>;
  try {
    message = type.decode((unknown.raw as Uint8Array | undefined) ?? new Uint8Array()) as unknown as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw badProtobuf(
      `the ${kind} in the protobuf body is malformed: ${error instanceof Error ? error.message : error}`,
    );
  }
  return { apiVersion, kind, ...(messageToJson(type, message) as JsonObject) };
}

/**
 * Encodes an object (with apiVersion and kind) in the Kubernetes protobuf envelope. `undefined` when
 * there is no message for its kind (the caller answers JSON, or 406).
 */
export function encodeProtobuf(object: Record<string, unknown>): Buffer | undefined {
  const apiVersion = String(object.apiVersion ?? '');
  const kind = String(object.kind ?? '');
  const type = messageTypeOf(apiVersion, kind);
  if (type === undefined) return undefined;
  const raw = encodeMessage(type, object);
  const envelope = UNKNOWN.encode(UNKNOWN.fromObject({ typeMeta: { apiVersion, kind }, raw })).finish();
  return Buffer.concat([PROTOBUF_MAGIC, envelope]);
}

/**
 * One frame of a protobuf watch (`application/vnd.kubernetes.protobuf;stream=watch`): a 4-byte
 * big-endian length, then a meta/v1 WatchEvent without envelope whose object is the enveloped object, as
 * the apiserver's length-delimited framer and raw serializer write it.
 */
export function encodeWatchFrame(type: string, object: Record<string, unknown>): Buffer {
  const inner = encodeProtobuf(object);
  if (inner === undefined) throw new Error(`no protobuf message for ${String(object.kind)}`);
  const event = WATCH_EVENT.encode(WATCH_EVENT.fromObject({ type, object: { raw: inner } })).finish();
  const length = Buffer.alloc(4);
  length.writeUInt32BE(event.length);
  return Buffer.concat([length, event]);
}

/** Reads the frames of a protobuf watch (for tests and clients): type and the decoded object of each. */
export function decodeWatchFrames(data: Buffer): { type: string; object: Record<string, unknown> }[] {
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    const frame = data.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    const event = WATCH_EVENT.decode(frame) as unknown as { type: string; object?: { raw?: Uint8Array } };
    events.push({ type: event.type, object: decodeProtobuf(Buffer.from(event.object?.raw ?? [])) });
  }
  return events;
}
