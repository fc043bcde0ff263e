import { describe, expect, it } from 'vitest';
import { isTooLargeResourceVersion, KubernetesError } from './errors.js';
import type { Status } from './kubernetes.js';

const tooLargeCause = { reason: 'ResourceVersionTooLarge', message: 'Too large resource version' };

function answer(status: Status): KubernetesError {
  return KubernetesError.fromStatus({ kind: 'Status', status: 'Failure', ...status });
}

// The apiserver's answer to a resourceVersion newer than it has: the cure is a relist (issue 9, defect 3).
describe('isTooLargeResourceVersion', () => {
  it('recognises the 504 by its cause, whatever the message says', () => {
    expect(
      isTooLargeResourceVersion(answer({ code: 504, message: 'x', details: { causes: [tooLargeCause] } })),
    ).toBe(true);
  });

  it('recognises the 504 by its message when the server sent no causes', () => {
    expect(
      isTooLargeResourceVersion(answer({ code: 504, message: 'Too large resource version: 9, current: 2' })),
    ).toBe(true);
    expect(isTooLargeResourceVersion(answer({ code: 504, message: 'x', details: {} }))).toBe(false);
  });

  it('is false for any other 504, cause or code', () => {
    expect(isTooLargeResourceVersion(answer({ code: 504, message: 'request timed out' }))).toBe(false);
    expect(
      isTooLargeResourceVersion(
        answer({ code: 504, message: 'x', details: { causes: [{ reason: 'FieldValueInvalid' }] } }),
      ),
    ).toBe(false);
    expect(
      isTooLargeResourceVersion(
        answer({ code: 500, message: 'Too large resource version', details: { causes: [tooLargeCause] } }),
      ),
    ).toBe(false);
  });

  it('is false for what is not a KubernetesError, even shaped like one', () => {
    expect(isTooLargeResourceVersion({ code: 504, serverMessage: 'Too large resource version' })).toBe(false);
    expect(isTooLargeResourceVersion(undefined)).toBe(false);
  });
});
