import { describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  isAbortError,
  KubernetesError,
  PodStorageError,
  PodTimeoutError,
} from './errors.js';

// Another installed copy of the package marks its errors with the same registered symbols; that is
// what lets isInstance recognise them where instanceof cannot.
const fromAnotherCopy = (marker: string) => ({ [Symbol.for(marker)]: true });

describe('isInstance recognises errors from another copy of the package', () => {
  it.each([
    ['podstorage.PodStorageError', PodStorageError],
    ['podstorage.KubernetesError', KubernetesError],
    ['podstorage.PodTimeoutError', PodTimeoutError],
    ['podstorage.InvalidInputError', InvalidInputError],
  ])('by the marker %s', (marker, type) => {
    expect(type.isInstance(fromAnotherCopy(marker))).toBe(true);
    expect(type.isInstance({})).toBe(false);
  });

  it('and tells the classes apart', () => {
    expect(PodTimeoutError.isInstance(fromAnotherCopy('podstorage.PodStorageError'))).toBe(false);
    expect(
      InvalidInputError.isInstance(
        new PodTimeoutError('wait', { elapsedMs: 0, startedAt: new Date(), failedAt: new Date() }),
      ),
    ).toBe(false);
  });
});

describe('isAbortError', () => {
  it('is false, without throwing, for what is not an object', () => {
    expect(isAbortError(undefined)).toBe(false);
    expect(isAbortError(null)).toBe(false);
    expect(isAbortError('AbortError')).toBe(false);
  });

  it('recognises an abort by its name, from any realm or library', () => {
    expect(isAbortError({ name: 'AbortError' })).toBe(true);
    expect(isAbortError({ name: 'TimeoutError' })).toBe(true);
  });
});
