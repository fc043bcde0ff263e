import type { IncomingMessage } from 'node:http';
import { failureStatus } from '../status.js';
import { bodyFormatOf, unsupportedMediaType, type WireFormat } from './negotiation.js';
import { StatusFailure } from './status-failure.js';

/** The apiserver's cap on a request body: 3 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The media types of a patch, as the apiserver names them (`apply`: server-side apply). */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Checks the Content-Type of a create or update: JSON (or none, read as JSON), YAML or protobuf. */
export function requireObjectBody(request: IncomingMessage): WireFormat {
  return bodyFormatOf(request);
}

/** The patch type named by the Content-Type of a PATCH; others are a 415. */
export function patchTypeOf(request: IncomingMessage): PatchType {
  const type = mediaType(request);
  const patchType = PATCH_TYPES[type];
  if (patchType === undefined) throw unsupportedMediaType(type, Object.keys(PATCH_TYPES));
  return patchType;
}

/**
 * Reads the whole body, up to `maxBytes` (413 RequestEntityTooLarge past it, without reading the
 * rest). Rejects with the signal's reason if the client goes away first.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Stop reading: the response goes out and the connection closes, as the apiserver does.
        request.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      if (!request.complete) reject(new Error('client closed the connection before sending the body'));
    };
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

function tooLarge(maxBytes: number): StatusFailure {
  return new StatusFailure(
    failureStatus(
      413,
      `the request body is larger than the limit of ${maxBytes} bytes`,
      {},
      'RequestEntityTooLarge',
    ),
    'body too large',
    { closeConnection: true },
  );
}

/** Parses a JSON body; anything else is the apiserver's 400 BadRequest. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') {
    throw new StatusFailure(failureStatus(400, 'the request body is empty', {}, 'BadRequest'), 'empty body');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new StatusFailure(
      failureStatus(400, `the request body is not valid JSON: ${detail}`, {}, 'BadRequest'),
      'malformed JSON',
    );
  }
}

/** Parses a JSON body that must be an object (a Kubernetes object or DeleteOptions). */
export function parseJsonObject(body: Buffer, what: string): Record<string, unknown> {
  const value = parseJson(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StatusFailure(
      failureStatus(400, `the request body must be a JSON object (${what})`, {}, 'BadRequest'),
      'not an object',
    );
  }
  return value as Record<string, unknown>;
}
