import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { InvalidInputError } from './errors.js';
import { createPodStorage } from './pod-storage.js';
import type { PodTransport } from './transport.js';

const unusedTransport = {} as PodTransport;

// Issue 9, defect 16: a negative or NaN backoff was accepted (a hot loop), and NaN showed as null.
describe('settings are validated before anything runs', () => {
  it.each([
    ['initialMs', -1],
    ['initialMs', 0],
    ['initialMs', Number.NaN],
    ['maxMs', Number.NaN],
    ['maxMs', Number.POSITIVE_INFINITY],
    ['resetAfterMs', -5],
  ])('backoff.%s = %d is refused, naming the value', (option, value) => {
    const create = () => createPodStorage(unusedTransport, { backoff: { [option]: value } });
    expect(create).toThrow(InvalidInputError);
    expect(create).toThrow(`Invalid backoff.${option} ${String(value)}:`);
  });

  it('a cap below the first wait is refused', () => {
    expect(() => new Backoff({ initialMs: 1_000, maxMs: 10 }, Math.random)).toThrow(
      /maxMs must not be smaller/,
    );
  });

  it('NaN and Infinity are shown by name, also inside objects', () => {
    expect(() => createPodStorage(unusedTransport, { requestTimeoutMs: Number.NaN })).toThrow(
      'Invalid requestTimeoutMs NaN: must be a positive number',
    );
    expect(() =>
      createPodStorage(unusedTransport, { watchTimeoutSeconds: { min: Number.NaN, max: 5 } }),
    ).toThrow('Invalid watchTimeoutSeconds {"min":NaN,"max":5}');
    expect(() =>
      createPodStorage(unusedTransport, { watchTimeoutSeconds: { min: 1, max: Number.POSITIVE_INFINITY } }),
    ).toThrow('{"min":1,"max":Infinity}');
  });

  it('strings still read as JSON', () => {
    expect(new InvalidInputError('namespace', 'Bad_NS', 'is not a DNS label').message).toBe(
      'Invalid namespace "Bad_NS": is not a DNS label',
    );
  });
});
