import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { PodChange } from './phases.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

function setup() {
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('web', 'u1', '5')];
  const storage = createPodStorage(transport, { clock: new ManualClock(), random: noJitter });
  return { transport, storage };
}

const describeChange = (change: PodChange) =>
  `${change.pod.metadata?.name} ${change.pod.metadata?.uid}@${change.pod.metadata?.resourceVersion} ${change.phase}`;

describe('watchPodChanges', () => {
  it('keeps the newest change of each incarnation for a slow consumer: a new pod under the name does not hide the old one', async () => {
    const { transport, storage } = setup();
    const changes = storage.watchPodChanges('default');
    const first = changes.next();
    await turns();
    transport.stream.send('MODIFIED', podObject('web', 'u1', '11', 'Running'));
    await turns();
    expect(describeChange((await first).value as PodChange)).toBe('web u1@11 Running');
    // The consumer is busy: the pod changes, is replaced by a new one, which changes too.
    transport.stream.send('MODIFIED', podObject('web', 'u1', '12', 'Succeeded'));
    transport.stream.send('DELETED', podObject('web', 'u1', '13', 'Succeeded'));
    transport.stream.send('ADDED', podObject('web', 'u2', '14'));
    transport.stream.send('MODIFIED', podObject('web', 'u2', '15', 'Running'));
    await turns();
    const seen = [(await changes.next()).value, (await changes.next()).value] as PodChange[];
    expect(seen.map(describeChange)).toEqual(['web u1@12 Succeeded', 'web u2@15 Running']);
    await changes.return?.();
  });

  it('return() while a next() is pending resolves that next() as done', async () => {
    const { storage } = setup();
    const changes = storage.watchPodChanges('default');
    const pending = changes.next();
    await turns();
    await changes.return?.();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('fails with the error that ended its watch', async () => {
    const { transport, storage } = setup();
    const forbidden = new KubernetesError(403, 'Forbidden', 'may not watch pods');
    transport.onWatch = () => {
      throw forbidden;
    };
    await expect(storage.watchPodChanges('default').next()).rejects.toBe(forbidden);
  });
});
