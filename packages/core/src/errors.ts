import type { Status } from './kubernetes.js';

const POD_STORAGE_ERROR = Symbol.for('podstorage.PodStorageError');
const KUBERNETES_ERROR = Symbol.for('podstorage.KubernetesError');
const POD_TIMEOUT_ERROR = Symbol.for('podstorage.PodTimeoutError');
const INVALID_INPUT_ERROR = Symbol.for('podstorage.InvalidInputError');

function hasMarker(value: unknown, marker: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/**
 * The base of every error podstorage throws. `isInstance` works across copies of the package (two
 * versions installed side by side), where `instanceof` would not.
 */
export class PodStorageError extends Error {
  /** Whether trying the same thing again may succeed. */
  readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PodStorageError';
    this.retryable = options?.retryable ?? false;
    Object.defineProperty(this, POD_STORAGE_ERROR, { value: true });
  }

  /** True for any podstorage error, from this or another copy of the package. */
  static isInstance(value: unknown): value is PodStorageError {
    return hasMarker(value, POD_STORAGE_ERROR);
  }
}

/** What a {@link KubernetesError} was about: the object and, when known, the request. */
export interface KubernetesErrorContext {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** A short description of the request, such as `watch pods`. Never contains credentials. */
  readonly operation?: string;
}

/**
 * An error answered by the Kubernetes API server (or the transport on its behalf), carrying the
 * server's Status: the HTTP code, the machine-readable reason and the server's own message.
 */
export class KubernetesError extends PodStorageError {
  /** The HTTP status code, such as 404 or 410. */
  readonly code: number;
  /** The Status reason, such as `NotFound`, `Expired`, `Conflict`, `TooManyRequests`. */
  readonly reason: string;
  /** The server's message, as it sent it. */
  readonly serverMessage: string;
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  /** The object name, from the request or the Status details. */
  readonly objectName: string | undefined;
  /** Seconds the server asked clients to wait before retrying (429, some 5xx), if it said. */
  readonly retryAfterSeconds: number | undefined;
  /** The Status object, when the server sent one. */
  readonly status: Status | undefined;

  constructor(
    code: number,
    reason: string,
    serverMessage: string,
    options: KubernetesErrorContext & { status?: Status; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    const where = [options.kind, [options.namespace, options.name].filter(Boolean).join('/')]
      .filter(Boolean)
      .join(' ');
    const prefix = options.operation ? `${options.operation}: ` : '';
    super(`${prefix}${code} ${reason}${where ? ` (${where})` : ''}: ${serverMessage || '(no message)'}`, {
      cause: options.cause,
      retryable: code === 429 || code === 410 || code >= 500,
    });
    this.name = 'KubernetesError';
    this.code = code;
    this.reason = reason;
    this.serverMessage = serverMessage;
    this.kind = options.kind;
    this.namespace = options.namespace;
    this.objectName = options.name;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.status = options.status;
    Object.defineProperty(this, KUBERNETES_ERROR, { value: true });
  }

  /**
   * Builds the error from a Status object as the API server sends it. `retryAfterSeconds` from a
   * `Retry-After` header wins over the one in `details`, as the header is what servers set first.
   */
  static fromStatus(
    status: Status,
    context: KubernetesErrorContext & { retryAfterSeconds?: number; cause?: unknown } = {},
  ): KubernetesError {
    const code = status.code ?? 500;
    return new KubernetesError(code, status.reason || reasonForCode(code), status.message ?? '', {
      ...context,
      kind: context.kind ?? status.details?.kind,
      name: context.name ?? status.details?.name,
      status,
      retryAfterSeconds: context.retryAfterSeconds ?? status.details?.retryAfterSeconds,
    });
  }

  /** True for any Kubernetes error, from this or another copy of the package. */
  static override isInstance(value: unknown): value is KubernetesError {
    return hasMarker(value, KUBERNETES_ERROR);
  }
}

/** The Status reason Kubernetes uses for an HTTP code, for servers and transports that send none. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return 'Unknown';
  }
}

/** Thrown by `waitForPhase` and `deleteAfterCompletion` when their timeout expires first. */
export class PodTimeoutError extends PodStorageError {
  /** The operation that timed out, as given to its `Timeout`. */
  readonly operation: string;
  /** Milliseconds from start to failure, on the storage's monotonic clock. */
  readonly elapsedMs: number;
  /** Wall-clock time the operation started. */
  readonly startedAt: Date;
  /** Wall-clock time it gave up. */
  readonly failedAt: Date;
  /** The last phase seen, if the pod was seen at all. */
  readonly lastPhase: string | undefined;

  constructor(
    operation: string,
    times: { elapsedMs: number; startedAt: Date; failedAt: Date },
    options: { lastPhase?: string; cause?: unknown } = {},
  ) {
    const seen = options.lastPhase ? ` (last phase seen: ${options.lastPhase})` : '';
    super(`${operation} timed out after ${Math.round(times.elapsedMs)} ms${seen}`, {
      cause: options.cause,
      retryable: true,
    });
    this.name = 'PodTimeoutError';
    this.operation = operation;
    this.elapsedMs = times.elapsedMs;
    this.startedAt = times.startedAt;
    this.failedAt = times.failedAt;
    this.lastPhase = options.lastPhase;
    Object.defineProperty(this, POD_TIMEOUT_ERROR, { value: true });
  }

  /** True for any pod timeout error, from this or another copy of the package. */
  static override isInstance(value: unknown): value is PodTimeoutError {
    return hasMarker(value, POD_TIMEOUT_ERROR);
  }
}

/** Thrown before any request is sent when an argument is invalid; the message names the bad value. */
export class InvalidInputError extends PodStorageError {
  /** Which argument was bad, such as `namespace`. */
  readonly argument: string;
  /** The value as given. */
  readonly value: unknown;

  constructor(argument: string, value: unknown, problem: string) {
    super(`Invalid ${argument} ${describeInput(value)}: ${problem}`);
    this.name = 'InvalidInputError';
    this.argument = argument;
    this.value = value;
    Object.defineProperty(this, INVALID_INPUT_ERROR, { value: true });
  }

  /** True for any invalid input error, from this or another copy of the package. */
  static override isInstance(value: unknown): value is InvalidInputError {
    return hasMarker(value, INVALID_INPUT_ERROR);
  }
}

const NUMBER_MARKER = '@@podstorage:number:';
const NUMBER_IN_JSON = /"@@podstorage:number:([^"]*)"/g;

/**
 * A bad value as the message shows it: JSON where JSON can say it, but numbers JSON cannot carry
 * (NaN, Infinity) by name, where `JSON.stringify` would write `null` and hide the problem.
 */
function describeInput(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol')
    return String(value);
  if (value === undefined || typeof value === 'function') return String(value);
  try {
    const json = JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'number' && !Number.isFinite(item) ? `${NUMBER_MARKER}${item}` : item,
    );
    return json.replace(NUMBER_IN_JSON, '$1');
  } catch {
    return String(value);
  }
}

/**
 * True for the API server's answer to a resourceVersion newer than it has (an etcd restore, a lagging
 * HA apiserver, a restarted fake): `504 Timeout` whose cause is `ResourceVersionTooLarge`
 * (apiserver `storage.NewTooLargeResourceVersionError`). The cure is a fresh list, as client-go's
 * reflector does.
 */
export function isTooLargeResourceVersion(error: unknown): boolean {
  if (!KubernetesError.isInstance(error) || error.code !== 504) return false;
  const causes = error.status?.details?.causes ?? [];
  return (
    causes.some((cause) => cause.reason === 'ResourceVersionTooLarge') ||
    /too large resource version/i.test(error.serverMessage)
  );
}

/** True when `error` is the result of an aborted signal (DOMException AbortError or TimeoutError). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' ||
      (error as { name?: unknown }).name === 'TimeoutError')
  );
}
