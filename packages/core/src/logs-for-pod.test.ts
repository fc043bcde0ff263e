// logsForPod against a scripted pods/log endpoint on the manual clock. What a real one does (kubelet
// server/server.go getContainerLogs, kuberuntime logs): 400 while the container waits to start,
// `sinceTime` at second precision (lines of that second come again), a follow stream that ends when
// the container ends.
import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import type { PodLogLine } from './pod-logs.js';
import { createPodStorage } from './pod-storage.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, turns } from './test-transport.js';
import type { PodLogOptions, PodTransport } from './transport.js';

type Step =
  | { readonly fail: unknown }
  | { readonly chunks: readonly string[]; readonly ending: 'end' | 'break' | 'hang' };

/** A transport whose log answers follow `steps`, one per request, and whose pod is `pod()`. */
function logTransport(steps: Step[], pod: () => Pod | undefined) {
  const requests: PodLogOptions[] = [];
  const notFound = () =>
    KubernetesError.fromStatus({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'pods "p" not found',
    });
  const transport: PodTransport = {
    get: async () => {
      const current = pod();
      if (current === undefined) throw notFound();
      return current as never;
    },
    list: async () => {
      throw new Error('not used');
    },
    watch: async () => {
      throw new Error('not used');
    },
    delete: async () => {},
    readPodLog: async (_namespace, _name, options) => {
      requests.push(options);
      const step = steps.shift() ?? { chunks: [], ending: 'end' };
      if ('fail' in step) throw step.fail;
      return (async function* () {
        for (const chunk of step.chunks) yield chunk;
        if (step.ending === 'break') throw new TypeError('terminated: other side closed');
        if (step.ending === 'hang') {
          await new Promise((_, reject) =>
            options.signal.addEventListener('abort', () => reject(options.signal.reason)),
          );
        }
      })();
    },
  };
  return { transport, requests };
}

const running: Pod = {
  metadata: { name: 'p', namespace: 'default', uid: 'u1' },
  status: { phase: 'Running', containerStatuses: [{ name: 'main', state: { running: {} } } as never] },
};
const finished: Pod = {
  metadata: { name: 'p', namespace: 'default', uid: 'u1' },
  status: {
    phase: 'Succeeded',
    containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 0 } } } as never],
  },
};

/** Collects every line of one iteration while the clock is advanced. */
async function collect(iterator: AsyncIterableIterator<PodLogLine>, clock: ManualClock, ms = 5_000) {
  const lines: string[] = [];
  const done = (async () => {
    for await (const line of iterator) lines.push(line.text);
  })();
  let finishedIterating = false;
  void done.then(() => {
    finishedIterating = true;
  });
  for (let moved = 0; moved < ms && !finishedIterating; moved += 100) await advance(clock, 100);
  await done;
  return lines;
}

const T = (second: number, nanos = '000000001') => `2026-12-01T10:00:0${second}.${nanos}Z`;

describe('logsForPod', () => {
  it('waits for a container that is not started yet, then gives its lines, and ends with the container', async () => {
    const clock = new ManualClock();
    const waiting = KubernetesError.fromStatus({
      kind: 'Status',
      code: 400,
      reason: 'BadRequest',
      message: 'container "main" in pod "p" is waiting to start: ContainerCreating',
    });
    const { transport, requests } = logTransport(
      [
        { fail: waiting },
        { fail: waiting },
        { chunks: [`${T(1)} hel`, `lo\n${T(2)} world\n`], ending: 'end' },
      ],
      () => finished,
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const lines = await collect(storage.logsForPod('p', 'default', 60_000, { container: 'main' }), clock);
    expect(lines).toEqual(['hello', 'world']);
    expect(requests).toHaveLength(3);
    expect(requests.every((request) => request.timestamps === true && request.container === 'main')).toBe(
      true,
    );
  });

  it('waits for a pod not on a node yet, whose follow the apiserver answers with an empty body', async () => {
    // pkg/registry/core/pod/strategy.go LogLocation: no nodeName, no location, an empty 200.
    const clock = new ManualClock();
    const pending: Pod = {
      metadata: { name: 'p', namespace: 'default', uid: 'u1' },
      status: { phase: 'Pending' },
    };
    let pod = pending;
    const { transport, requests } = logTransport(
      [
        { chunks: [], ending: 'end' },
        { chunks: [], ending: 'end' },
        { chunks: [`${T(1)} started\n`], ending: 'end' },
      ],
      () => {
        // The pod is scheduled and its container runs by the third request, then ends.
        if (requests.length >= 2) pod = requests.length >= 3 ? finished : running;
        return pod;
      },
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const lines = await collect(storage.logsForPod('p', 'default', 60_000), clock);
    expect(lines).toEqual(['started']);
    expect(requests).toHaveLength(3);
  });

  it('a follow ends with its instance when the container waits to be restarted (CrashLoopBackOff)', async () => {
    const clock = new ManualClock();
    const crashLooping: Pod = {
      metadata: { name: 'p', namespace: 'default', uid: 'u1' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'main',
            restartCount: 1,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1 } },
          } as never,
        ],
      },
    };
    const { transport, requests } = logTransport(
      [{ chunks: [`${T(1)} attempt\n`], ending: 'end' }],
      () => crashLooping,
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const lines = await collect(storage.logsForPod('p', 'default', 60_000), clock);
    expect(lines).toEqual(['attempt']);
    expect(requests).toHaveLength(1);
  });

  it('with restartCount, a follow ends with that instance even when the next one already runs', async () => {
    // A kubelet may restart a container at once after its first exit (kuberuntime_manager.go doBackOff
    // has no back-off entry yet): the pod read after the follow shows the next instance running.
    const clock = new ManualClock();
    const restarted = (restartCount: number): Pod => ({
      metadata: { name: 'p', namespace: 'default', uid: 'u1' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'main',
            restartCount,
            state: { running: {} },
            lastState: { terminated: { exitCode: 3 } },
          } as never,
        ],
      },
    });
    const steps = (): Step[] => [
      { chunks: [`${T(1)} first instance\n`], ending: 'end' },
      { chunks: [`${T(2)} second instance\n`], ending: 'end' },
    ];
    // Without the option the follow resumes into the second instance, with nothing between them.
    const merged = logTransport(steps(), () => (merged.requests.length >= 2 ? finished : restarted(1)));
    await using storage = createPodStorage(merged.transport, { clock, random: noJitter });
    expect(await collect(storage.logsForPod('p', 'default', 60_000), clock)).toEqual([
      'first instance',
      'second instance',
    ]);
    // With it, the follow of instance 0 ends when the pod shows restartCount 1.
    const one = logTransport(steps(), () => restarted(1));
    await using storage2 = createPodStorage(one.transport, { clock, random: noJitter });
    expect(await collect(storage2.logsForPod('p', 'default', 60_000, { restartCount: 0 }), clock)).toEqual([
      'first instance',
    ]);
    expect(one.requests).toHaveLength(1);
    // The instance now running is followed as usual (a broken stream is resumed within it).
    const current = logTransport(
      [
        { chunks: [`${T(2)} second\n`], ending: 'break' },
        { chunks: [`${T(2)} second\n${T(3)} more\n`], ending: 'end' },
      ],
      () => (current.requests.length >= 2 ? restarted(2) : restarted(1)),
    );
    await using storage3 = createPodStorage(current.transport, { clock, random: noJitter });
    expect(await collect(storage3.logsForPod('p', 'default', 60_000, { restartCount: 1 }), clock)).toEqual([
      'second',
      'more',
    ]);
    expect(current.requests).toHaveLength(2);
  });

  it('resumes a broken follow from the last line, without repeating the lines of that instant', async () => {
    const clock = new ManualClock();
    const { transport, requests } = logTransport(
      [
        { chunks: [`${T(1)} a\n${T(2, '5')} b\n${T(2, '5')} b-again\n`], ending: 'break' },
        // sinceTime has second precision: the server sends that whole second again.
        {
          chunks: [
            `${T(2, '1')} before\n${T(2, '5')} b\n${T(2, '5')} b-again\n${T(2, '5')} b-third\n${T(3)} c\n`,
          ],
          ending: 'end',
        },
      ],
      () => finished,
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const lines = await collect(storage.logsForPod('p', 'default', 60_000), clock);
    expect(lines).toEqual(['a', 'b', 'b-again', 'b-third', 'c']);
    expect(requests[1]?.sinceTime).toBe(T(2, '5'));
    expect(requests[1]?.tailLines).toBeUndefined();
  });

  it('a follow that ends while the container still runs is resumed; it ends once the container has', async () => {
    const clock = new ManualClock();
    let pod = running;
    const { transport, requests } = logTransport(
      [
        { chunks: [`${T(1)} one\n`], ending: 'end' },
        { chunks: [`${T(1)} one\n${T(2)} two\n`], ending: 'end' },
      ],
      () => pod,
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const iterator = storage.logsForPod('p', 'default', 60_000);
    const lines: string[] = [];
    expect((await iterator.next()).value?.text).toBe('one');
    const rest = (async () => {
      for await (const line of iterator) lines.push(line.text);
    })();
    await advance(clock, 1_000);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(lines).toEqual(['two']);
    pod = finished;
    await advance(clock, 1_000);
    await rest;
    expect(lines).toEqual(['two']);
  });

  it('a 400 without a message (client-node) is retried when the container started since; after it ended, once', async () => {
    const clock = new ManualClock();
    const bare = KubernetesError.fromStatus({ kind: 'Status', code: 400, reason: 'BadRequest', message: '' });
    // Refused while waiting; by the time the pod is read the container already runs.
    const started = logTransport([{ fail: bare }, { chunks: [`${T(1)} up\n`], ending: 'end' }], () =>
      started.requests.length >= 2 ? finished : running,
    );
    await using storage = createPodStorage(started.transport, { clock, random: noJitter });
    expect(await collect(storage.logsForPod('p', 'default', 60_000), clock)).toEqual(['up']);

    // A container that has ended and is still refused: one retry, then the refusal is thrown.
    const ended = logTransport([{ fail: bare }, { fail: bare }, { fail: bare }], () => finished);
    await using endedStorage = createPodStorage(ended.transport, { clock, random: noJitter });
    const outcome = endedStorage
      .logsForPod('p', 'default', 60_000)
      .next()
      .then(
        () => 'ended',
        (error: unknown) => error,
      );
    for (let moved = 0; moved < 5_000; moved += 100) await advance(clock, 100);
    expect(await outcome).toMatchObject({ code: 400 });
    expect(ended.requests).toHaveLength(2);
  });

  it('ends quietly when the pod is gone or the timeout expires; a refusal is thrown', async () => {
    const clock = new ManualClock();
    const gone = logTransport(
      [
        {
          fail: KubernetesError.fromStatus({
            kind: 'Status',
            code: 404,
            reason: 'NotFound',
            message: 'pods "p" not found',
          }),
        },
      ],
      () => undefined,
    );
    await using storage = createPodStorage(gone.transport, { clock, random: noJitter });
    expect(await collect(storage.logsForPod('p', 'default', 60_000), clock)).toEqual([]);

    const quiet = logTransport([{ chunks: [`${T(1)} only\n`], ending: 'hang' }], () => running);
    await using quietStorage = createPodStorage(quiet.transport, { clock, random: noJitter });
    expect(await collect(quietStorage.logsForPod('p', 'default', 2_000), clock, 10_000)).toEqual(['only']);

    const forbidden = logTransport(
      [
        {
          fail: KubernetesError.fromStatus({
            kind: 'Status',
            code: 403,
            reason: 'Forbidden',
            message: 'pods "p" is forbidden',
          }),
        },
      ],
      () => running,
    );
    await using refused = createPodStorage(forbidden.transport, { clock, random: noJitter });
    await expect(refused.logsForPod('p', 'default', 60_000).next()).rejects.toMatchObject({ code: 403 });
  });

  it('return() closes the stream at once, and a bad name sends nothing', async () => {
    const clock = new ManualClock();
    const { transport, requests } = logTransport(
      [{ chunks: [`${T(1)} first\n`], ending: 'hang' }],
      () => running,
    );
    await using storage = createPodStorage(transport, { clock, random: noJitter });
    const iterator = storage.logsForPod('p', 'default', 60_000);
    expect((await iterator.next()).value?.text).toBe('first');
    const pending = iterator.next();
    await turns();
    await iterator.return?.();
    expect(requests[0]?.signal.aborted).toBe(true);
    expect((await pending).done).toBe(true);
    expect(() => storage.logsForPod('Bad_Name', 'default', 1_000)).toThrow(/Bad_Name/);
    expect(requests).toHaveLength(1);
  });
});
