import { describe, expect, it } from 'vitest';
import { InvalidInputError, KubernetesError, PodStorageError, PodTimeoutError } from './errors.js';

const times = { elapsedMs: 10, startedAt: new Date(0), failedAt: new Date(10) };

describe('errors say whether retrying may help', () => {
  it('a PodStorageError is final unless it says otherwise', () => {
    expect(new PodStorageError('x').retryable).toBe(false);
    expect(new PodStorageError('x', { retryable: true }).retryable).toBe(true);
  });

  it.each([
    [410, true],
    [429, true],
    [499, false],
    [500, true],
    [503, true],
    [409, false],
  ])('a KubernetesError with code %i is retryable: %s', (code, retryable) => {
    expect(new KubernetesError(code, 'R', 'm').retryable).toBe(retryable);
  });

  it('a PodTimeoutError is retryable: another try may have more time', () => {
    expect(new PodTimeoutError('wait', times).retryable).toBe(true);
  });
});

describe('errors keep their cause', () => {
  it('as given, and have no cause property when given none', () => {
    const cause = new Error('socket hang up');
    expect(new PodStorageError('x', { cause }).cause).toBe(cause);
    expect(new KubernetesError(500, 'InternalError', 'm', { cause }).cause).toBe(cause);
    expect(new PodTimeoutError('wait', times, { cause }).cause).toBe(cause);
    expect(Object.hasOwn(new PodStorageError('x'), 'cause')).toBe(false);
  });
});

describe('errors are named for their class', () => {
  it.each([
    ['PodStorageError', new PodStorageError('x')],
    ['KubernetesError', new KubernetesError(404, 'NotFound', 'm')],
    ['PodTimeoutError', new PodTimeoutError('wait', times)],
    ['InvalidInputError', new InvalidInputError('namespace', 'X', 'bad')],
  ])('%s', (name, error) => {
    expect(error.name).toBe(name);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });
});
