import { describe, expect, it } from 'vitest';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// A wait is about the pod it first saw (its uid): another pod that takes the name means "gone", even
// when the wait only learns of it from a read (issue 9, defect 4).

async function replacedWhileTheWatchLags(operation: 'waitForPhase' | 'deleteAfterCompletion') {
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('job', 'u1', '3')];
  const storage = createPodStorage(transport, { clock: new ManualClock(), random: noJitter });
  // The namespace-wide watch runs, so the wait joins it and reads its pod.
  const changes = storage.watchPodChanges('default');
  const next = changes.next();
  await turns();
  // The watch lags: the pod moved on twice since its view.
  transport.objects.pods = [podObject('job', 'u1', '5')];
  const waiting =
    operation === 'waitForPhase'
      ? storage.waitForPhase('job', 'default', 600_000, { untilNot: ['Pending'] })
      : storage.deleteAfterCompletion('job', 'default', 600_000);
  await turns();
  // One read to join (the lagging view handed over on joining is older than it: no second read).
  expect(transport.callsOf('get')).toHaveLength(1);
  // Then the pod is replaced by a finished one of the same name, and the lagging watch reports an
  // older change of the first pod: the wait reads again, and finds the other pod.
  transport.objects.pods = [podObject('job', 'u2', '9', 'Succeeded')];
  transport.stream.send('MODIFIED', podObject('job', 'u1', '4'));
  await turns();
  expect(transport.callsOf('get')).toHaveLength(2);
  const outcome = await waiting;
  await changes.return?.();
  await next;
  await storage.close();
  return { outcome, transport };
}

describe('a wait that learns from a read that another pod took the name', () => {
  it('waitForPhase resolves null, not the phase of the other pod', async () => {
    const { outcome } = await replacedWhileTheWatchLags('waitForPhase');
    expect(outcome).toBeNull();
  });

  it('deleteAfterCompletion resolves null and deletes nothing', async () => {
    const { outcome, transport } = await replacedWhileTheWatchLags('deleteAfterCompletion');
    expect(outcome).toBeNull();
    expect(transport.callsOf('delete')).toEqual([]);
  });
});
