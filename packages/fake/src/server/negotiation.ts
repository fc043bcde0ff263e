import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { failureStatus } from '../status.js';
import { decodeProtobuf, encodeProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf-codec.js';
import { StatusFailure } from './status-failure.js';

// Content negotiation as the apiserver's (k8s.io/apiserver/pkg/endpoints/handlers/negotiation): the
// Accept header's media ranges in the client's order of preference (q-values first), the first the
// server can write wins; nothing acceptable is 406 NotAcceptable. Bodies are read by their Content-Type;
// an unknown one is 415.

/** A format the server reads and writes. */
export type WireFormat = 'json' | 'yaml' | 'protobuf';

const MEDIA_TYPES: Record<WireFormat, string> = {
  json: 'application/json',
  yaml: 'application/yaml',
  protobuf: PROTOBUF_MEDIA_TYPE,
};

const ACCEPTED = Object.values(MEDIA_TYPES);

/** The apiserver's compression filter gzips answers larger than this (responsewriters/writers.go). */
export const GZIP_THRESHOLD_BYTES = 128 * 1024;

interface MediaRange {
  readonly type: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: (MediaRange & { index: number })[] = [];
  header.split(',').forEach((part, index) => {
    const [type = '', ...parameterParts] = part.split(';').map((piece) => piece.trim());
    if (type === '') return;
    const parameters: Record<string, string> = {};
    for (const parameter of parameterParts) {
      const [name = '', value = ''] = parameter.split('=').map((piece) => piece.trim());
      if (name !== '') parameters[name.toLowerCase()] = value.replace(/^"|"$/g, '');
    }
    const q = parameters.q === undefined ? 1 : Number(parameters.q);
    ranges.push({ type: type.toLowerCase(), parameters, q: Number.isFinite(q) ? q : 0, index });
  });
  return ranges.filter((range) => range.q > 0).sort((a, b) => b.q - a.q || a.index - b.index);
}

/** 406 NotAcceptable, worded as the apiserver's `NewNotAcceptableError`. */
export function notAcceptable(accepted: readonly string[] = ACCEPTED): StatusFailure {
  const message = `only the following media types are accepted: ${accepted.join(', ')}`;
  return new StatusFailure(failureStatus(406, message, {}, 'NotAcceptable'), message);
}

/** What a request's Accept header chose. */
export interface Negotiated {
  readonly format: WireFormat;
  /** The `as`, `g`, `v` parameters of the chosen range (`as=Table;g=meta.k8s.io;v=v1`), if any. */
  readonly as: { readonly kind: string; readonly group: string; readonly version: string } | undefined;
}

/**
 * The format to answer in. `watch`: a watch stream, which has no YAML form. Throws the 406 Status when
 * the client accepts nothing the server writes (`text/html`).
 */
export function negotiate(
  request: IncomingMessage | { headers: IncomingMessage['headers'] },
  watch = false,
): Negotiated {
  const header = request.headers.accept;
  if (header === undefined || header.trim() === '') return { format: 'json', as: undefined };
  const formats: WireFormat[] = watch ? ['json', 'protobuf'] : ['json', 'yaml', 'protobuf'];
  for (const range of parseAccept(header)) {
    const as =
      range.parameters.as === undefined
        ? undefined
        : { kind: range.parameters.as, group: range.parameters.g ?? '', version: range.parameters.v ?? '' };
    if (range.type === '*/*' || range.type === 'application/*') return { format: 'json', as };
    const format = formats.find((candidate) => MEDIA_TYPES[candidate] === range.type);
    if (format !== undefined) return { format, as };
  }
  throw notAcceptable(formats.map((format) => MEDIA_TYPES[format]));
}

/** The Content-Type of a body in a format (a watch says `;stream=watch`, as the apiserver). */
export function mediaTypeOf(format: WireFormat, watch = false): string {
  return watch ? `${MEDIA_TYPES[format]};stream=watch` : MEDIA_TYPES[format];
}

/** Serialises an object in a format; an object with no protobuf message falls back to JSON. */
export function encodeObject(format: WireFormat, body: unknown): { bytes: Buffer; contentType: string } {
  if (format === 'protobuf') {
    const bytes = encodeProtobuf(body as Record<string, unknown>);
    if (bytes !== undefined) return { bytes, contentType: PROTOBUF_MEDIA_TYPE };
  }
  if (format === 'yaml') {
    return { bytes: Buffer.from(stringifyYaml(body)), contentType: MEDIA_TYPES.yaml };
  }
  return { bytes: Buffer.from(JSON.stringify(body)), contentType: MEDIA_TYPES.json };
}

function acceptsGzip(request: IncomingMessage | undefined): boolean {
  const header = request?.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Sends an object in the negotiated format, gzipped when it is larger than 128 KiB and the client
 * accepts gzip, as the apiserver's deferred response writer does. `headers` are added (a `Warning`).
 */
export function sendObject(
  response: ServerResponse,
  code: number,
  body: unknown,
  format: WireFormat,
  headers: Readonly<Record<string, string | string[]>> = {},
): void {
  const encoded = encodeObject(format, body);
  let bytes = encoded.bytes;
  // setHeader rather than writeHead's object, so the request log can read them back.
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', encoded.contentType);
  response.setHeader('Cache-Control', 'no-cache, private');
  if (bytes.length > GZIP_THRESHOLD_BYTES && acceptsGzip(response.req)) {
    bytes = gzipSync(bytes);
    response.setHeader('Content-Encoding', 'gzip');
    response.setHeader('Vary', 'Accept-Encoding');
  }
  response.setHeader('Content-Length', bytes.length);
  response.writeHead(code);
  response.end(bytes);
}

function contentTypeOf(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** 415 UnsupportedMediaType, worded as the apiserver's. */
export function unsupportedMediaType(type: string, supported: readonly string[]): StatusFailure {
  return new StatusFailure(
    failureStatus(
      415,
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
      {},
      'UnsupportedMediaType',
    ),
    type,
  );
}

/** The body formats of a create, update or DeleteOptions body. */
export const OBJECT_BODY_TYPES = ACCEPTED;

/** The format of a create or update body by its Content-Type (none means JSON); 415 otherwise. */
export function bodyFormatOf(request: IncomingMessage): WireFormat {
  const type = contentTypeOf(request);
  if (type === '' || type === MEDIA_TYPES.json) return 'json';
  if (type === MEDIA_TYPES.yaml) return 'yaml';
  if (type === PROTOBUF_MEDIA_TYPE) return 'protobuf';
  throw unsupportedMediaType(type, OBJECT_BODY_TYPES);
}

function badRequest(message: string): StatusFailure {
  return new StatusFailure(failureStatus(400, message, {}, 'BadRequest'), message);
}

/**
 * Reads YAML as the apiserver does (sigs.k8s.io/yaml over go-yaml: YAML 1.1 scalars, one document), into
 * the JSON value it stands for.
 */
export function parseYamlBody(body: Buffer): unknown {
  try {
    return parseYaml(body.toString('utf8'), { version: '1.1', uniqueKeys: true });
  } catch (error) {
    throw badRequest(
      `the request body is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    );
  }
}

/**
 * A create or update body in any accepted format, as the JSON bytes the handlers read. A protobuf body
 * becomes the JSON of its object (its apiVersion and kind from the envelope).
 */
export function bodyAsJson(format: WireFormat, body: Buffer): Buffer {
  if (format === 'json') return body;
  const value = format === 'yaml' ? parseYamlBody(body) : decodeProtobuf(body);
  return Buffer.from(JSON.stringify(value ?? null));
}
