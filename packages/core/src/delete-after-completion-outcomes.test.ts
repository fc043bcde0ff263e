import { describe, expect, it } from 'vitest';
import { KubernetesError, PodTimeoutError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, podObject, recordingLogger, ScriptedTransport, turns } from './test-transport.js';

// What deleteAfterCompletion does once the pod finished: one delete with the uid precondition, success
// when the pod is already gone or replaced, the server's error otherwise; and what it logs.

function setup() {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('job', 'u1', '5', 'Succeeded')];
  const storage = createPodStorage(transport, { clock, logger, random: noJitter });
  return { clock, logger, transport, storage };
}

describe('deleteAfterCompletion, once the pod finished', () => {
  it('deletes it with its uid as precondition and says so', async () => {
    const { logger, transport, storage } = setup();
    await expect(storage.deleteAfterCompletion('job', 'default', 60_000)).resolves.toBe('Succeeded');
    const [deletion] = transport.callsOf('delete');
    expect(deletion).toMatchObject({ name: 'job', options: { preconditions: { uid: 'u1' } } });
    expect(logger.lines.filter((line) => line.level === 'info')).toEqual([
      {
        level: 'info',
        fields: { namespace: 'default', pod: 'job', phase: 'Succeeded' },
        message: 'deleted finished pod',
      },
    ]);
  });

  it.each([404, 409])('takes %i on the delete as success: the pod it waited for is gone', async (code) => {
    const { logger, transport, storage } = setup();
    transport.onDelete = () => {
      throw new KubernetesError(code, code === 404 ? 'NotFound' : 'Conflict', 'not that pod');
    };
    await expect(storage.deleteAfterCompletion('job', 'default', 60_000)).resolves.toBe('Succeeded');
    expect(logger.lines.filter((line) => line.level === 'info')).toEqual([
      {
        level: 'info',
        fields: { namespace: 'default', pod: 'job', code },
        message: 'finished pod was already gone or replaced',
      },
    ]);
  });

  it('rejects with any other answer to the delete', async () => {
    const { transport, storage } = setup();
    const forbidden = new KubernetesError(403, 'Forbidden', 'may not delete');
    transport.onDelete = () => {
      throw forbidden;
    };
    await expect(storage.deleteAfterCompletion('job', 'default', 60_000)).rejects.toBe(forbidden);
  });

  it('retries a failed delete, saying which request it retries', async () => {
    const { clock, logger, transport, storage } = setup();
    let failed = false;
    transport.onDelete = () => {
      if (failed) return;
      failed = true;
      throw new KubernetesError(500, 'InternalError', 'boom');
    };
    const deleting = storage.deleteAfterCompletion('job', 'default', 60_000);
    await advance(clock, 1_000);
    await expect(deleting).resolves.toBe('Succeeded');
    expect(transport.callsOf('delete')).toHaveLength(2);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.fields.request)).toEqual([
      'delete pod default/job',
    ]);
  });

  it('rejects with a PodTimeoutError carrying the phase when the delete hangs until the deadline', async () => {
    const { clock, transport, storage } = setup();
    transport.onDelete = (call) =>
      new Promise((_, reject) => {
        call.options.signal.addEventListener('abort', () => reject(call.options.signal.reason), {
          once: true,
        });
      });
    const deleting = storage.deleteAfterCompletion('job', 'default', 20_000);
    deleting.catch(() => {});
    await advance(clock, 20_000, 1_000);
    let error: unknown;
    try {
      await deleting;
    } catch (caught) {
      error = caught;
    }
    expect(PodTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      operation: 'deleteAfterCompletion pod default/job',
      lastPhase: 'Succeeded',
    });
  });

  it('deletes a pod the server sent without metadata without a precondition', async () => {
    const { transport, storage } = setup();
    transport.objects.pods = [];
    // The shared watch of the namespace runs, so the wait reads its pod.
    const changes = storage.watchPodChanges('default');
    const next = changes.next();
    await turns();
    transport.onGet = () => ({ status: { phase: 'Failed' } }) as Pod;
    await expect(storage.deleteAfterCompletion('job', 'default', 60_000)).resolves.toBe('Failed');
    expect(transport.callsOf('delete')[0]?.options).toMatchObject({ preconditions: undefined });
    await changes.return?.();
    await next;
  });
});

describe('deleteAfterCompletion of a pod that is already gone', () => {
  it('resolves null with a warning naming it, and deletes nothing', async () => {
    const { logger, transport, storage } = setup();
    transport.objects.pods = [];
    await expect(storage.deleteAfterCompletion('job', 'default', 60_000)).resolves.toBeNull();
    expect(transport.callsOf('delete')).toEqual([]);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([
      {
        level: 'warn',
        fields: { namespace: 'default', pod: 'job' },
        message: 'pod was already gone: nothing to delete',
      },
    ]);
  });
});
