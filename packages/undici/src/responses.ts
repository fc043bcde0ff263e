import { KubernetesError, type KubernetesErrorContext, reasonForCode, type Status } from '@podstorage/core';

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); `undefined` if absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

const isStatus = (value: unknown): value is Status =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';

function printable(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * The error for a failed response: the Status the server sent, as core's `KubernetesError` with
 * `Retry-After` in `retryAfterSeconds`; a body that is no Status (a proxy's HTML page, plain text) still
 * becomes a `KubernetesError` with the HTTP code and a message saying what came back.
 */
export function errorFromResponse(
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  context: KubernetesErrorContext,
): KubernetesError {
  const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) {
    return KubernetesError.fromStatus(
      { ...parsed, code: parsed.code ?? statusCode },
      { ...context, ...retry },
    );
  }
  const contentType = headers['content-type'];
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  const shown = printable(body);
  const message = `the server answered HTTP ${statusCode} with ${
    shown === ''
      ? 'an empty body'
      : `a body that is not a Kubernetes Status (${type ?? 'no content type'}): ${shown}`
  }`;
  return new KubernetesError(statusCode, reasonForCode(statusCode), message, { ...context, ...retry });
}
