import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, podObject, recordingLogger, ScriptedTransport, turns } from './test-transport.js';

// The GET of a pod that a joining wait and eventsForPod make: 404 means "no such pod", anything final
// is the operation's error, and retries say which request they retry.

function setup() {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const transport = new ScriptedTransport();
  transport.objects.pods = [podObject('web', 'u1', '5')];
  const storage = createPodStorage(transport, { clock, logger, random: noJitter });
  return { clock, logger, transport, storage };
}

describe('the read of a pod', () => {
  it('fails a wait that joins the namespace watch when it is refused for good', async () => {
    const { transport, storage } = setup();
    const changes = storage.watchPodChanges('default');
    const next = changes.next();
    await turns();
    const forbidden = new KubernetesError(403, 'Forbidden', 'may not get pods');
    transport.onGet = () => {
      throw forbidden;
    };
    await expect(storage.waitForPhase('web', 'default', 600_000, { untilNot: ['Pending'] })).rejects.toBe(
      forbidden,
    );
    await changes.return?.();
    await next;
  });

  it('fails eventsForPod when it is refused for good', async () => {
    const { transport, storage } = setup();
    const forbidden = new KubernetesError(403, 'Forbidden', 'may not get pods');
    transport.onGet = () => {
      throw forbidden;
    };
    await expect(storage.eventsForPod('web', 'default', 600_000).next()).rejects.toBe(forbidden);
  });

  it('is retried after a 503, saying which request it retries', async () => {
    const { clock, logger, transport, storage } = setup();
    let failed = false;
    transport.onGet = () => {
      if (failed) return podObject('web', 'u1', '5');
      failed = true;
      throw new KubernetesError(503, 'ServiceUnavailable', 'later');
    };
    const next = storage.eventsForPod('web', 'default', 600_000).next();
    await advance(clock, 1_000);
    expect(transport.callsOf('get')).toHaveLength(2);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.fields.request)).toEqual([
      'get pod default/web',
    ]);
    await storage.close();
    await next.catch(() => {});
  });
});
