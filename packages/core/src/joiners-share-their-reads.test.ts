import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { noJitter, podObject, ScriptedTransport, turns } from './test-transport.js';

// Issue 11: every wait that joined an already-synced shared watch sent its own GET (10,000 waits, 10,000
// GETs). Joiners arriving together now share one read (a paged list of the namespace when they are
// many), and still follow the pod the server has now, not the one the lagging watch holds.

const names = (count: number, prefix = 'pod') =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

function tracked<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; reason?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (reason) => Object.assign(state, { settled: true, reason }),
  );
  return state;
}

/** A storage whose namespace-wide pod watch is running and synced, holding `pods`. */
async function syncedNamespaceWatch(pods: Pod[], pageSize = 500) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  transport.objects.pods = pods;
  const storage = createPodStorage(transport, { clock, random: noJitter, pageSize });
  // watchPodChanges holds the namespace-wide watch open: every wait after it is a late joiner.
  const changes = storage.watchPodChanges('default');
  void changes.next().catch(() => {});
  await turns();
  expect(transport.streams).toHaveLength(1);
  transport.calls.length = 0;
  return { clock, transport, storage, changes };
}

describe('waits started in one burst', () => {
  it('are all fresh to the first list of their shared watch, sent after they joined: no read at all', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport();
    const pods = names(500).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    transport.objects.pods = pods;
    const storage = createPodStorage(transport, { clock, random: noJitter });
    const waits = pods.map((pod) =>
      tracked(storage.waitForPhase(pod.metadata?.name ?? '', 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    // One list of the namespace and nothing else: the waits choose their watch once the loop that
    // started them is over, so even the first ones count all 500 (before: two field-selected watches
    // below the sharing threshold, then the namespace's, three connections over HTTP/1.1).
    expect(transport.callsOf('get')).toHaveLength(0);
    expect(transport.callsOf('list')).toHaveLength(1);
    expect(
      transport.callsOf('watch').map((call) => (call.options as { fieldSelector?: object }).fieldSelector),
    ).toEqual([undefined]);
    expect(waits.some((wait) => wait.settled)).toBe(false);
    await storage.close();
  });
});

describe('waits joining a synced shared watch together', () => {
  it('share one list of the namespace instead of a GET each', async () => {
    const pods = names(200).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    const { transport, storage } = await syncedNamespaceWatch(pods, 50);
    const waits = pods.map((pod) =>
      tracked(storage.waitForPhase(pod.metadata?.name ?? '', 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    // Before: 200 GETs. Now: one paged list (200 pods in pages of 50), and no GET.
    expect(transport.callsOf('get')).toHaveLength(0);
    expect(transport.callsOf('list').length).toBeLessThanOrEqual(4);
    expect(storage.counters().reads).toBe(0);
    // The list read what the watch holds: the watch is trusted, no further read is needed.
    pods.forEach((pod, index) => {
      transport.stream.send(
        'MODIFIED',
        podObject(pod.metadata?.name ?? '', `u${index}`, String(1_000 + index), 'Running'),
      );
    });
    await turns();
    expect(waits.every((wait) => wait.value === 'Running')).toBe(true);
    expect(transport.callsOf('get')).toHaveLength(0);
    expect(transport.callsOf('list').length).toBeLessThanOrEqual(4);
    await storage.close();
  });

  it('that are few send a GET each, one per pod however many waits it has', async () => {
    const pods = names(20).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    const { transport, storage } = await syncedNamespaceWatch(pods);
    const waits = ['pod-1', 'pod-1', 'pod-1', 'pod-2', 'pod-3'].map((name) =>
      tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.callsOf('get').map((call) => call.name)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(transport.callsOf('list')).toHaveLength(0);
    expect(storage.counters().reads).toBe(3);
    expect(waits.every((wait) => !wait.settled)).toBe(true);
    await storage.close();
  });

  it('follow the new pod when it was deleted and re-created under the same name just before they came', async () => {
    const pods = names(30).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    pods.push(podObject('web', 'old', '5', 'Pending'));
    const { transport, storage } = await syncedNamespaceWatch(pods);
    // The server: web was deleted and created again (new uid); the watch has not seen either yet.
    transport.objects.pods = [...pods.slice(0, -1), podObject('web', 'new', '300', 'Pending')];
    const forWeb = Array.from({ length: 50 }, () =>
      tracked(storage.waitForPhase('web', 'default', 600_000, { untilNot: ['Pending'] })),
    );
    const others = names(30).map((name) =>
      tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.callsOf('get')).toHaveLength(0);
    expect(transport.callsOf('list')).toHaveLength(1);
    // The lagging watch now reports the old pod running, then its deletion: old news for every wait.
    const stream = transport.stream;
    stream.send('MODIFIED', podObject('web', 'old', '200', 'Running'));
    await turns();
    stream.send('DELETED', podObject('web', 'old', '250', 'Running'));
    stream.send('ADDED', podObject('web', 'new', '300', 'Pending'));
    await turns();
    expect(forWeb.some((wait) => wait.settled)).toBe(false);
    stream.send('MODIFIED', podObject('web', 'new', '301', 'Succeeded'));
    await turns();
    expect(forWeb.map((wait) => wait.value)).toEqual(forWeb.map(() => 'Succeeded'));
    expect(others.some((wait) => wait.settled)).toBe(false);
    // The reports of the old pod sent the 50 web waits to read again: one GET of web each time.
    expect(transport.callsOf('get').map((call) => call.name)).toEqual(['web', 'web']);
    expect(transport.callsOf('list')).toHaveLength(1);
    await storage.close();
  });

  it('do not join a list sent before they came: they wait for the next one, which sees what they knew', async () => {
    const pods = names(40).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    const { transport, storage } = await syncedNamespaceWatch(pods);
    let answerFirst: (() => void) | undefined;
    transport.onList = (call) => {
      const items = [...transport.objects.pods];
      const answer = { metadata: { resourceVersion: '500' }, items };
      if (transport.callsOf('list').indexOf(call) === 0) {
        return new Promise((resolve) => {
          answerFirst = () => resolve(answer);
        });
      }
      return answer;
    };
    const first = names(20).map((name) =>
      tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.callsOf('list')).toHaveLength(1);
    // pod-30 finished after the first list was sent; its waits, started now, must see that.
    transport.objects.pods = transport.objects.pods.map((pod) =>
      pod.metadata?.name === 'pod-30' ? podObject('pod-30', 'u30', '600', 'Succeeded') : pod,
    );
    const second = names(20)
      .map((_, index) => `pod-${20 + index}`)
      .map((name) => tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })));
    await turns();
    expect(transport.callsOf('list')).toHaveLength(1);
    answerFirst?.();
    await turns();
    expect(transport.callsOf('list')).toHaveLength(2);
    expect(second[10]?.value).toBe('Succeeded');
    expect(first.some((wait) => wait.settled)).toBe(false);
    expect(transport.callsOf('get')).toHaveLength(0);
    await storage.close();
  });

  it('each give up on their own signal, and the shared read goes on for the others', async () => {
    const pods = names(20).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    const { transport, storage } = await syncedNamespaceWatch(pods);
    let answer: (() => void) | undefined;
    transport.onList = () =>
      new Promise((resolve) => {
        answer = () => resolve({ metadata: { resourceVersion: '500' }, items: [...transport.objects.pods] });
      });
    const controller = new AbortController();
    const cancelled = tracked(
      storage.waitForPhase('pod-0', 'default', 600_000, { untilNot: ['Pending'], signal: controller.signal }),
    );
    const others = names(19)
      .map((_, index) => `pod-${index + 1}`)
      .map((name) => tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })));
    await turns();
    const listSignal = transport.callsOf('list')[0]?.options.signal;
    controller.abort(new Error('no longer needed'));
    await turns();
    expect(cancelled.reason).toEqual(new Error('no longer needed'));
    expect(listSignal?.aborted).toBe(false);
    answer?.();
    await turns();
    expect(others.some((wait) => wait.settled)).toBe(false);
    await storage.close();
  });

  it('read one by one where listing pods is forbidden but getting them is not', async () => {
    const pods = names(20).map((name, index) => podObject(name, `u${index}`, String(100 + index)));
    const { transport, storage } = await syncedNamespaceWatch(pods);
    // RBAC that grants get on pods, and list and watch only to the watch already running.
    transport.onList = () => {
      throw new KubernetesError(403, 'Forbidden', 'pods is forbidden: cannot list resource "pods"');
    };
    const waits = pods.map((pod) =>
      tracked(storage.waitForPhase(pod.metadata?.name ?? '', 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.callsOf('list')).toHaveLength(1);
    expect(transport.callsOf('get')).toHaveLength(20);
    expect(waits.some((wait) => wait.settled)).toBe(false);
    // The next burst in that namespace goes straight to GETs.
    const more = ['pod-1', 'pod-2', 'pod-3', 'pod-4', 'pod-5', 'pod-6', 'pod-7', 'pod-8', 'pod-9'].map(
      (name) => tracked(storage.waitForPhase(name, 'default', 600_000, { untilNot: ['Pending'] })),
    );
    await turns();
    expect(transport.callsOf('list')).toHaveLength(1);
    expect(transport.callsOf('get')).toHaveLength(29);
    expect(more.some((wait) => wait.settled)).toBe(false);
    await storage.close();
  });
});
