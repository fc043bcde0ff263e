import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { createPodStorage, type PodStorageOptions } from './pod-storage.js';
import { ScriptedTransport } from './test-transport.js';

// Settings and arguments are refused with an error that names them, before anything is sent.

describe('createPodStorage refuses settings that are not positive numbers, naming them', () => {
  it.each([
    ['requestTimeoutMs', 0],
    ['requestTimeoutMs', '30000'],
    ['finalReadTimeoutMs', 0],
    ['sharedWatchThreshold', 0],
    ['pageSize', -1],
    ['inactivityTimeoutMs', 0],
  ] as const)('%s = %j', (option, value) => {
    const create = () =>
      createPodStorage(new ScriptedTransport(), { [option]: value } as unknown as PodStorageOptions);
    expect(create).toThrow(InvalidInputError);
    expect(create).toThrow(`Invalid ${option} ${JSON.stringify(value)}: must be a positive number`);
  });

  it.each([
    { min: 0, max: 5 },
    { min: 5, max: 4 },
  ])('watchTimeoutSeconds %j', (watchTimeoutSeconds) => {
    expect(() => createPodStorage(new ScriptedTransport(), { watchTimeoutSeconds })).toThrow(
      `Invalid watchTimeoutSeconds ${JSON.stringify(watchTimeoutSeconds)}: needs 0 < min <= max`,
    );
  });

  it('takes a watch timeout range of one value', () => {
    expect(() =>
      createPodStorage(new ScriptedTransport(), { watchTimeoutSeconds: { min: 5, max: 5 } }),
    ).not.toThrow();
  });
});

describe('waitForPhase refuses what untilNot cannot be, before any request', () => {
  it.each([
    [[], 'Invalid untilNot []: must be a non-empty array of pod phases'],
    ['Running', 'Invalid untilNot "Running": must be a non-empty array of pod phases'],
    [['Running', 'Done'], 'Invalid untilNot ["Running","Done"]: "Done" is not a pod phase'],
  ])('untilNot %j', async (untilNot, message) => {
    const transport = new ScriptedTransport();
    const storage = createPodStorage(transport);
    const waiting = storage.waitForPhase('web', 'default', 1_000, { untilNot } as never);
    await expect(waiting).rejects.toBeInstanceOf(InvalidInputError);
    await expect(waiting).rejects.toThrow(message);
    expect(transport.calls).toEqual([]);
  });

  it('without options at all', async () => {
    const transport = new ScriptedTransport();
    const storage = createPodStorage(transport);
    const waiting = storage.waitForPhase('web', 'default', 1_000, undefined as never);
    await expect(waiting).rejects.toBeInstanceOf(InvalidInputError);
    await expect(waiting).rejects.toThrow(
      'Invalid untilNot undefined: must be a non-empty array of pod phases',
    );
    expect(transport.calls).toEqual([]);
  });
});

describe('operations refuse a timeout that is neither milliseconds nor a Timeout', () => {
  it('waitForPhase', async () => {
    const transport = new ScriptedTransport();
    const storage = createPodStorage(transport);
    const waiting = storage.waitForPhase('web', 'default', '5s' as never, { untilNot: ['Pending'] });
    await expect(waiting).rejects.toBeInstanceOf(InvalidInputError);
    await expect(waiting).rejects.toThrow(
      'Invalid timeout "5s": must be a number of milliseconds or a Timeout',
    );
    expect(transport.calls).toEqual([]);
  });
});
