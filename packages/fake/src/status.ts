import { KubernetesError, reasonForCode, type Status } from '@podstorage/core';

/** One cause of an Invalid (422) or BadRequest Status, as in `details.causes`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** What a failure Status says in `details`, beyond the code, reason and message. */
export interface FailureDetails {
  name?: string;
  kind?: string;
  group?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** Builds a failure Status the way the API server does and wraps it in core's KubernetesError. */
export function statusError(
  code: number,
  message: string,
  details: FailureDetails = {},
  reason = reasonForCode(code),
): KubernetesError {
  return KubernetesError.fromStatus(failureStatus(code, message, details, reason));
}

/** A `kind: Status` failure object, with `details` only when there is something to put in it. */
export function failureStatus(
  code: number,
  message: string,
  details: FailureDetails = {},
  reason = reasonForCode(code),
): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  const cleaned = Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
  if (Object.keys(cleaned).length > 0) status.details = cleaned;
  return status;
}

/** `pods "web" not found` (404 NotFound). */
export function notFound(resource: string, name: string): KubernetesError {
  return statusError(404, `${resource} "${name}" not found`, { name, kind: resource });
}

/** `pods "web" already exists` (409 AlreadyExists). */
export function alreadyExists(resource: string, name: string): KubernetesError {
  return statusError(409, `${resource} "${name}" already exists`, { name, kind: resource }, 'AlreadyExists');
}

/** 409 Conflict, for failed preconditions and stale resourceVersions. */
export function conflict(resource: string, name: string, message: string): KubernetesError {
  return statusError(409, message, { name, kind: resource }, 'Conflict');
}

/** The optimistic-concurrency conflict the API server answers a stale update with. */
export function staleUpdate(resource: string, name: string): KubernetesError {
  return conflict(
    resource,
    name,
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/**
 * 422 Invalid as `errors.NewInvalid` builds it: `Pod "x" is invalid: field: problem` (several problems
 * in brackets, as an aggregate prints them), `details.kind` the kind (`Pod`), one cause per problem.
 */
export function invalid(kind: string, name: string, causes: StatusCause[]): KubernetesError {
  const each = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const summary = each.length === 1 ? each[0] : `[${each.join(', ')}]`;
  return statusError(422, `${kind} "${name}" is invalid: ${summary}`, { name, kind, causes });
}

/** 400 BadRequest with the server's message. */
export function badRequest(message: string): KubernetesError {
  return statusError(400, message);
}

/** 410 Expired with the given message (too old resourceVersion or continue token). */
export function expiredStatus(message: string): Status {
  return failureStatus(410, message, {}, 'Expired');
}

/**
 * 504 for a resourceVersion newer than the server has: the Status of the apiserver's
 * `storage.NewTooLargeResourceVersionError` (staging/src/k8s.io/apiserver/pkg/storage/errors.go), a
 * `NewTimeoutError` ("Timeout: " prefix) with one cause `ResourceVersionTooLarge`, and the retry-after
 * of the watch cache (`resourceVersionTooHighRetrySeconds = 1` in storage/cacher/watch_cache.go).
 */
export function tooLargeResourceVersion(requested: number, current: number): Status {
  return failureStatus(
    504,
    `Timeout: Too large resource version: ${requested}, current: ${current}`,
    {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
    'Timeout',
  );
}
