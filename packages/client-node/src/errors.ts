import { KubernetesError, type KubernetesErrorContext, reasonForCode, type Status } from '@podstorage/core';

/** An `ApiException` of the generated API: HTTP code, body (the Status as a JSON string) and headers. */
interface ApiExceptionLike {
  readonly code: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/** True for the client's `ApiException` (matched by shape: each major has its own class). */
export function isApiException(error: unknown): error is ApiExceptionLike {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'number' &&
    'body' in error &&
    'headers' in error
  );
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if it has one. */
export function retryAfterSeconds(
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): number | undefined {
  if (headers === undefined) return undefined;
  const header = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function parseStatus(body: unknown): Status | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const status = value as Status;
  return status.kind === 'Status' || typeof status.code === 'number' ? status : undefined;
}

function textOf(body: unknown): string {
  if (typeof body === 'string') return body.trim().slice(0, 500);
  if (Buffer.isBuffer(body)) return body.toString('utf8').trim().slice(0, 500);
  return '';
}

/**
 * The `KubernetesError` for an HTTP error response: from its Status when the body is one, else from the
 * HTTP code alone (a proxy's HTML page, an empty 401), with `Retry-After` from the headers either way.
 */
export function errorFromResponse(
  code: number,
  body: unknown,
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined,
  context: KubernetesErrorContext & { cause?: unknown; fallbackMessage?: string },
): KubernetesError {
  const { fallbackMessage, ...rest } = context;
  const retryAfter = retryAfterSeconds(headers);
  const status = parseStatus(body);
  if (status !== undefined) {
    return KubernetesError.fromStatus(
      { ...status, code: status.code ?? code },
      retryAfter === undefined ? rest : { ...rest, retryAfterSeconds: retryAfter },
    );
  }
  return new KubernetesError(code, reasonForCode(code), textOf(body) || fallbackMessage || '', {
    ...rest,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  });
}

/** Turns what a CoreV1Api call threw into core's error: `ApiException` → `KubernetesError`, others as they are. */
export function translateRequestError(error: unknown, context: KubernetesErrorContext): unknown {
  if (!isApiException(error)) return error;
  return errorFromResponse(error.code, error.body, error.headers, { ...context, cause: error });
}
