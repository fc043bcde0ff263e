import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { validateNamespace, validatePodName } from './validation.js';

describe('validation', () => {
  it.each(['default', 'kube-system', 'a', 'a1-b2', 'x'.repeat(63)])('accepts namespace %s', (namespace) => {
    expect(() => validateNamespace(namespace)).not.toThrow();
  });

  it.each(['', 'Default', 'a.b', '-a', 'a-', 'a_b', 'x'.repeat(64), 'a/b', '../etc', 3, undefined])(
    'rejects namespace %j with an error naming it',
    (namespace) => {
      expect(() => validateNamespace(namespace)).toThrow(InvalidInputError);
      expect(() => validateNamespace(namespace)).toThrow(`Invalid namespace ${JSON.stringify(namespace)}`);
    },
  );

  it.each(['web', 'web-0', 'a.b.c', 'x'.repeat(253)])('accepts pod name %s', (name) => {
    expect(() => validatePodName(name)).not.toThrow();
  });

  it.each(['', 'Web', 'a..b', '.a', 'a.', 'a b', 'a/b', 'x'.repeat(254), 'a?x=1', null])(
    'rejects pod name %j with an error naming it',
    (name) => {
      expect(() => validatePodName(name)).toThrow(`Invalid pod name ${JSON.stringify(name)}`);
    },
  );
});
