import { describe, expect, it } from 'vitest';
import { InvalidInputError, KubernetesError, PodTimeoutError } from './errors.js';

describe('error messages name only what is known', () => {
  it('a KubernetesError without context is the code, the reason and the server message', () => {
    expect(new KubernetesError(404, 'NotFound', 'pods "x" not found').message).toBe(
      '404 NotFound: pods "x" not found',
    );
  });

  it('leaves out a missing kind or namespace instead of printing a gap', () => {
    expect(new KubernetesError(404, 'NotFound', 'gone', { kind: 'pods', name: 'web' }).message).toBe(
      '404 NotFound (pods web): gone',
    );
    expect(new KubernetesError(404, 'NotFound', 'gone', { namespace: 'default', name: 'web' }).message).toBe(
      '404 NotFound (default/web): gone',
    );
  });

  it('says so when the server sent no message', () => {
    const error = KubernetesError.fromStatus({ code: 503 });
    expect(error.serverMessage).toBe('');
    expect(error.message).toBe('503 ServiceUnavailable: (no message)');
  });

  it('a PodTimeoutError without a last phase says nothing of one', () => {
    const times = { elapsedMs: 1_234.4, startedAt: new Date(0), failedAt: new Date(1_234) };
    expect(new PodTimeoutError('waitForPhase pod a/b', times).message).toBe(
      'waitForPhase pod a/b timed out after 1234 ms',
    );
  });
});

describe('KubernetesError.fromStatus fills in the reason Kubernetes uses for each code', () => {
  it.each([
    [400, 'BadRequest'],
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [404, 'NotFound'],
    [405, 'MethodNotAllowed'],
    [409, 'Conflict'],
    [410, 'Expired'],
    [413, 'RequestEntityTooLarge'],
    [415, 'UnsupportedMediaType'],
    [422, 'Invalid'],
    [429, 'TooManyRequests'],
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
    [504, 'Timeout'],
    [418, 'Unknown'],
  ])('%i: %s', (code, reason) => {
    expect(KubernetesError.fromStatus({ code, message: 'm' }).reason).toBe(reason);
  });
});

describe('an invalid value that JSON cannot show', () => {
  it('is shown as a string instead of failing the error', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(new InvalidInputError('options', circular, 'bad').message).toBe(
      'Invalid options [object Object]: bad',
    );
  });
});
