import {
  createPodStorage,
  type ManagedPodStorage,
  type Pod,
  type PodStorage,
  PodTimeoutError,
} from '@podstorage/core';
import { FakeCluster, LIFECYCLE_ANNOTATION } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { type BatchReporter, NamespaceNotFoundError, type PodOutcome, runBatch } from './batch.js';
import { demoPods } from './demo-pods.js';

function recordingReporter() {
  const lines: string[] = [];
  const reporter: BatchReporter = {
    created: (pod, image) => lines.push(`${pod} created ${image}`),
    event: (pod, message) => lines.push(`${pod} event ${message}`),
    phase: (pod, from, to) => lines.push(`${pod} phase ${from}->${to}`),
    finished: (outcome) => lines.push(`${outcome.name} finished ${outcome.phase}`),
    note: (message) => lines.push(`note ${message}`),
    log: (pod, container, text) => lines.push(`${pod}/${container} log ${text}`),
  };
  return { lines, reporter };
}

/** Runs a batch on a fresh fake cluster, driving its clock until done (bounded), or until `stopWhen`. */
async function runOnFake(
  pods: Pod[],
  options: {
    timeoutMs?: number;
    stopWhen?: (lines: string[]) => boolean;
    namespace?: string;
    cluster?: FakeCluster;
    logs?: boolean;
    /** Stands in for the storage the batch uses (the real one underneath), to shape its timing. */
    wrap?: (storage: ManagedPodStorage, cluster: FakeCluster) => ManagedPodStorage;
  } = {},
) {
  const cluster = options.cluster ?? new FakeCluster();
  const transport = cluster.transport();
  const storage = createPodStorage(transport, { clock: cluster.clock });
  const used = options.wrap?.(storage, cluster) ?? storage;
  const { lines, reporter } = recordingReporter();
  const interrupt = new AbortController();
  let outcomes: PodOutcome[] | undefined;
  let failure: unknown;
  const batch = runBatch(
    {
      storage: used,
      transport: transport as Parameters<typeof runBatch>[0]['transport'],
      namespace: options.namespace ?? 'default',
      clock: cluster.clock,
      reporter,
      timeoutMs: options.timeoutMs ?? 120_000,
      signal: interrupt.signal,
      logs: options.logs ?? false,
    },
    pods,
  ).then(
    (result) => {
      outcomes = result;
    },
    (error: unknown) => {
      failure = error;
      outcomes = [];
    },
  );
  for (let step = 0; outcomes === undefined && step < 3_000; step += 1) {
    if (options.stopWhen?.(lines) && !interrupt.signal.aborted) interrupt.abort(new Error('interrupted'));
    await cluster.clock.advance(100);
  }
  await batch;
  await storage.close();
  return { cluster, outcomes: outcomes ?? [], failure, lines, counters: storage.counters() };
}

const byName = (outcomes: PodOutcome[]) =>
  Object.fromEntries(outcomes.map((outcome) => [outcome.name, outcome]));

describe('runBatch', () => {
  it('runs every demo pod to its scripted end, streams its events and deletes it', async () => {
    const { cluster, outcomes, lines } = await runOnFake(demoPods());
    expect(Object.fromEntries(outcomes.map((outcome) => [outcome.name, outcome.phase]))).toEqual({
      'quick-success': 'Succeeded',
      'slow-image-pull': 'Succeeded',
      'failing-job': 'Failed',
      'flaky-retry': 'Succeeded',
    });
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined();
      expect(outcome.events).toBeGreaterThanOrEqual(5);
    }
    expect(lines).toContain('quick-success event Successfully assigned default/quick-success to fake-node-1');
    expect(lines).toContain('slow-image-pull event Pulling image "registry.example/ml/trainer:2.4"');
    // Two crashes: the kubelet restarts the first at once and backs off the second (kuberuntime_manager.go doBackOff).
    expect(lines.filter((line) => line.startsWith('flaky-retry event Back-off restarting'))).toHaveLength(1);
    expect(lines).toContain('failing-job phase Running->Failed');
    expect(lines).toContain('quick-success phase Pending->Running');
    expect(lines.some((line) => line.startsWith('note deleted'))).toBe(false);
    const left = cluster.listPods('default').items.filter((pod) => !pod.metadata?.deletionTimestamp);
    expect(left).toEqual([]);
  });

  it('leaves no watch open when it is done', async () => {
    const { cluster, counters } = await runOnFake(demoPods());
    expect(cluster.stats().activeWatches).toBe(0);
    expect(counters.watchesActive).toBe(0);
  });

  it('on cancellation stops waiting and deletes the pods it created, saying so', async () => {
    const pods = demoPods();
    const { cluster, outcomes, lines } = await runOnFake(pods, {
      stopWhen: (seen) => seen.includes('quick-success phase Running->Succeeded'),
    });
    const outcome = byName(outcomes);
    expect(outcome['quick-success']).toMatchObject({ phase: 'Succeeded', interrupted: false });
    expect(outcome['slow-image-pull']?.error).toBeInstanceOf(Error);
    // Interrupted pods report the last phase seen, not null: the pull is slow, so still Pending.
    expect(outcome['slow-image-pull']).toMatchObject({ phase: 'Pending', interrupted: true });
    expect(lines).toContain('note deleted 2 unfinished pods this run created');
    for (const name of ['slow-image-pull', 'flaky-retry']) {
      const pod = cluster.getPod('default', name);
      expect(pod === undefined || pod.metadata?.deletionTimestamp !== undefined, `${name} deleted`).toBe(
        true,
      );
    }
  });

  it('a pod that does not finish in time ends with PodTimeoutError and is deleted', async () => {
    const stuck: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'stuck',
        annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ unschedulable: true }) },
      },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
    };
    const { cluster, outcomes, lines } = await runOnFake([stuck], { timeoutMs: 5_000 });
    expect(PodTimeoutError.isInstance(outcomes[0]?.error)).toBe(true);
    expect(outcomes[0]).toMatchObject({ phase: 'Pending', interrupted: false });
    expect(lines.some((line) => line.startsWith('stuck event 0/1 nodes are available'))).toBe(true);
    expect(lines).toContain('note deleted 1 unfinished pod this run created');
    expect(cluster.getPod('default', 'stuck')).toBeUndefined();
  });

  it('a missing namespace rejects the run with NamespaceNotFoundError before any pod exists', async () => {
    const { cluster, failure, lines } = await runOnFake(demoPods(), { namespace: 'nowhere' });
    expect(failure).toBeInstanceOf(NamespaceNotFoundError);
    expect((failure as NamespaceNotFoundError).namespace).toBe('nowhere');
    // Nothing was created, so nothing was reported as created or finished.
    expect(lines.filter((line) => !line.startsWith('note'))).toEqual([]);
    expect(cluster.listPods(undefined).items).toEqual([]);
  });

  it('a first pod refused for its own reason (its name is taken) does not stop the others', async () => {
    const cluster = new FakeCluster();
    const [first, ...others] = demoPods();
    cluster.createPod({ ...(first as Pod), metadata: { name: first?.metadata?.name } });
    const { outcomes } = await runOnFake([first as Pod, ...others], { cluster });
    expect(outcomes.map((outcome) => [outcome.name, outcome.phase, outcome.error === undefined])).toEqual([
      ['quick-success', null, false],
      ['slow-image-pull', 'Succeeded', true],
      ['failing-job', 'Failed', true],
      ['flaky-retry', 'Succeeded', true],
    ]);
  });

  describe('with logs', () => {
    const logLines = (lines: string[]) => lines.filter((line) => line.includes(' log '));
    /** A pod `two-step` whose init container `setup` runs `setup`, then its container `main` runs `main`. */
    const twoStep = (setup: string, main: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'two-step' },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c', setup] }],
        containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', main] }],
      },
    });

    it('streams every container, init containers first, each line once, and ends with the pod', async () => {
      const pod = twoStep('echo preparing; sleep 1', 'echo one; echo two; sleep 2');
      const { cluster, outcomes, lines } = await runOnFake([pod], { logs: true });
      expect(outcomes[0]).toMatchObject({ phase: 'Succeeded' });
      expect(outcomes[0]?.error).toBeUndefined();
      expect(logLines(lines)).toEqual([
        'two-step/setup log preparing',
        'two-step/main log one',
        'two-step/main log two',
      ]);
      // The logs were read before the delete, and nothing is left following them.
      expect(lines.indexOf('two-step/main log two')).toBeLessThan(
        lines.indexOf('two-step finished Succeeded'),
      );
      expect(cluster.stats().activeWatches).toBe(0);
    });

    it("init containers' lines come first even when their stream is the slow one", async () => {
      // Streams are independent requests: the init container's may answer after the main container has
      // started and printed (a loaded client, a slow proxy). Its lines must still come first.
      const pod = twoStep('echo preparing', 'echo serving; sleep 5');
      const { outcomes, lines } = await runOnFake([pod], {
        logs: true,
        wrap: (storage, cluster) =>
          new Proxy(storage, {
            get(target, key) {
              if (key !== 'logsForPod') {
                const value: unknown = Reflect.get(target, key, target);
                return typeof value === 'function' ? value.bind(target) : value;
              }
              return (...args: Parameters<PodStorage['logsForPod']>) => {
                const real = target.logsForPod(...args);
                if (args[3]?.container !== 'setup') return real;
                return (async function* slowFirstLine() {
                  await new Promise<void>((resolve) => cluster.clock.setTimeout(resolve, 3_000));
                  yield* real;
                })();
              };
            },
          }),
      });
      expect(outcomes[0]).toMatchObject({ phase: 'Succeeded' });
      expect(logLines(lines)).toEqual(['two-step/setup log preparing', 'two-step/main log serving']);
    });

    it("follows a restarted container's every instance (OnFailure: two crashes, then success)", async () => {
      const flaky = demoPods().find((pod) => pod.metadata?.name === 'flaky-retry') as Pod;
      const { outcomes, lines } = await runOnFake([flaky], { logs: true });
      expect(outcomes[0]).toMatchObject({ phase: 'Succeeded' });
      expect(logLines(lines)).toEqual([
        'flaky-retry/main log attempt',
        'flaky-retry/main log attempt',
        'flaky-retry/main log attempt',
      ]);
    });

    it('without logs, reads none', async () => {
      const { cluster, lines } = await runOnFake(demoPods());
      expect(logLines(lines)).toEqual([]);
      expect(cluster.stats().requests).not.toHaveProperty('log');
    });

    it('on cancellation stops following and leaves nothing open', async () => {
      const { cluster, lines, counters } = await runOnFake(demoPods(), {
        logs: true,
        stopWhen: (seen) => seen.includes('quick-success/main log hello from podstorage'),
      });
      expect(lines).toContain('note deleted 4 unfinished pods this run created');
      expect(lines.filter((line) => line.includes('logs stopped'))).toEqual([]);
      expect(cluster.stats().activeWatches).toBe(0);
      expect(counters.watchesActive).toBe(0);
    });
  });
});
