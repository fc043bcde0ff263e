// Routing helpers: how the spawner answers HTTP requests (JSON, errors, method checks, bodies).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, KubernetesError } from '@podstorage/core';

/** The largest request body the spawner reads. */
export const MAX_BODY_BYTES = 16 * 1024;

/** An error answered to the page as `{ error }` with an HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** More fields of the JSON answer, beside `error`. */
  readonly body: Record<string, unknown>;
  constructor(
    status: number,
    message: string,
    headers: Record<string, string> = {},
    body: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/** Throws a 405 naming the allowed methods unless `method` is one of them. */
export function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, `method ${method} not allowed here; use ${methods.join(' or ')}`, {
      Allow: methods.join(', '),
    });
  }
}

/** Reads a JSON object body (at most {@link MAX_BODY_BYTES}); an empty body is `{}`. */
export async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = request.headers['content-type'] ?? '';
  // Requiring JSON also means a cross-site form cannot start pods: browsers preflight JSON requests.
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, `send the body as application/json, not ${JSON.stringify(type)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Answers `body` as JSON with `status`. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(text);
}

/** The HTTP status, message, headers and further body fields an error is answered with. */
export function describeError(
  error: unknown,
): [number, string, Record<string, string>, Record<string, unknown>] {
  if (error instanceof HttpError) return [error.status, error.message, error.headers, error.body];
  if (InvalidInputError.isInstance(error)) return [400, error.message, {}, {}];
  if (KubernetesError.isInstance(error)) {
    // The cluster's answer about the request (404, 409, 422, ...) is the page's answer too; the
    // cluster failing is a bad gateway from the page's point of view.
    const status = error.code >= 400 && error.code < 500 && error.code !== 401 ? error.code : 502;
    return [status, error.message, {}, {}];
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return [503, `the cluster did not answer in time: ${error.message}`, {}, {}];
  }
  return [500, error instanceof Error ? error.message : String(error), {}, {}];
}
