import { describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  isAbortError,
  KubernetesError,
  PodStorageError,
  PodTimeoutError,
} from './errors.js';

describe('errors', () => {
  it('KubernetesError.fromStatus keeps code, reason, message, details and retry hints', () => {
    const error = KubernetesError.fromStatus(
      {
        kind: 'Status',
        status: 'Failure',
        code: 429,
        reason: 'TooManyRequests',
        message: 'slow down',
        details: { name: 'web', kind: 'pods', retryAfterSeconds: 7 },
      },
      { operation: 'list pods', namespace: 'default' },
    );
    expect(error.code).toBe(429);
    expect(error.reason).toBe('TooManyRequests');
    expect(error.serverMessage).toBe('slow down');
    expect(error.objectName).toBe('web');
    expect(error.kind).toBe('pods');
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('list pods: 429 TooManyRequests (pods default/web): slow down');
  });

  it('fills in the reason for a Status without one and treats 4xx as final', () => {
    const error = KubernetesError.fromStatus({ code: 404, message: 'pods "x" not found' });
    expect(error.reason).toBe('NotFound');
    expect(error.retryable).toBe(false);
  });

  it('isInstance works across copies of the package, by marker, not by prototype', () => {
    const error = new KubernetesError(410, 'Expired', 'too old');
    const copy = Object.assign(Object.create(null), { [Symbol.for('podstorage.KubernetesError')]: true });
    expect(KubernetesError.isInstance(error)).toBe(true);
    expect(PodStorageError.isInstance(error)).toBe(true);
    expect(PodTimeoutError.isInstance(error)).toBe(false);
    expect(KubernetesError.isInstance(copy)).toBe(true);
    expect(KubernetesError.isInstance(new Error('x'))).toBe(false);
    expect(KubernetesError.isInstance(null)).toBe(false);
  });

  it('PodTimeoutError carries the operation, elapsed time and start/fail times', () => {
    const startedAt = new Date('2026-01-01T00:00:00Z');
    const failedAt = new Date('2026-01-01T00:00:05Z');
    const error = new PodTimeoutError(
      'waitForPhase pod a/b',
      { elapsedMs: 5_000, startedAt, failedAt },
      { lastPhase: 'Pending' },
    );
    expect(error.message).toBe('waitForPhase pod a/b timed out after 5000 ms (last phase seen: Pending)');
    expect(error.startedAt).toBe(startedAt);
    expect(error.failedAt).toBe(failedAt);
    expect(PodTimeoutError.isInstance(error)).toBe(true);
  });

  it('InvalidInputError names the argument and the value', () => {
    const error = new InvalidInputError('namespace', 'Bad_NS', 'must be an RFC 1123 label');
    expect(error.message).toBe('Invalid namespace "Bad_NS": must be an RFC 1123 label');
    expect(InvalidInputError.isInstance(error)).toBe(true);
  });

  it('isAbortError recognises aborts and timeouts only', () => {
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new DOMException('x', 'TimeoutError'))).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
  });
});
