import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { KubernetesError, type Status } from '@podstorage/core';
import { failureStatus } from '../status.js';

/** The Status for anything a handler throws: a `KubernetesError`'s own Status, else a 500 InternalError. */
export function statusOf(error: unknown): Status {
  if (KubernetesError.isInstance(error)) {
    return (
      error.status ??
      failureStatus(
        error.code,
        error.serverMessage,
        error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds },
        error.reason,
      )
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return failureStatus(500, `Internal error occurred: ${message}`, {}, 'InternalError');
}

/** The headers a Status response carries: JSON, and `Retry-After` when the Status asks clients to wait. */
export function statusHeaders(status: Status, length: number): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': length,
    'Cache-Control': 'no-cache, private',
  };
  const retryAfter = status.details?.retryAfterSeconds;
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  return headers;
}

/** Sends a JSON body with the given code. */
export function sendJson(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  response.end(text);
}

/** Sends a failure Status with its own code (and `Retry-After` when it carries `retryAfterSeconds`). */
export function sendStatus(response: ServerResponse, status: Status): void {
  const text = JSON.stringify(status);
  response.writeHead(status.code ?? 500, statusHeaders(status, Buffer.byteLength(text)));
  response.end(text);
}

/**
 * Answers an upgrade request that will not be upgraded with a plain HTTP response written straight to
 * the socket (there is no `ServerResponse` for upgrades), then closes the connection.
 */
export function sendStatusOnSocket(socket: Duplex, status: Status): void {
  const code = status.code ?? 500;
  const text = JSON.stringify(status);
  const headers = { ...statusHeaders(status, Buffer.byteLength(text)), Connection: 'close' };
  const head = [
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Unknown'}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  if (socket.writable) socket.end(`${head}\r\n\r\n${text}`);
  else socket.destroy();
}

/** The apiserver's answer for a path it does not serve. */
export function pathNotFound(): Status {
  return failureStatus(404, 'the server could not find the requested resource', {}, 'NotFound');
}

/** The apiserver's answer for a verb a resource does not support. */
export function methodNotAllowed(request: IncomingMessage): Status {
  return failureStatus(
    405,
    `the server does not allow this method on the requested resource (${request.method})`,
    {},
    'MethodNotAllowed',
  );
}

/**
 * A pod subresource the fake does not serve (exec, attach, portforward, ...): 405 with a message that
 * says so, in the shape of the apiserver's `NewMethodNotSupported`, instead of a bare 404.
 */
export function subresourceNotSupported(subresource: string, why: string): Status {
  return failureStatus(
    405,
    `pods/${subresource} is not supported by the podstorage fake cluster: ${why}`,
    { kind: 'pods' },
    'MethodNotAllowed',
  );
}
