import { type ManagedPodStorage, PodPhase as Phase, type Pod, type PodPhase } from '@podstorage/core';

/** One pod of a batch and how long the runner gives it. */
export interface BatchPod {
  readonly pod: Pod;
  /** Milliseconds for the whole pod: start, run, finish. */
  readonly timeoutMs: number;
}

/** How a pod ended. */
export interface PodOutcome {
  readonly name: string;
  /** The final phase, `null` if the pod disappeared, or the error that stopped the runner. */
  readonly phase: PodPhase | null;
  readonly error?: unknown;
  readonly durationMs: number;
  readonly events: number;
}

/** Where the runner reports what happens; plain lines by default. */
export interface BatchReporter {
  event(pod: string, message: string): void;
  phase(pod: string, from: PodPhase | undefined, to: PodPhase): void;
  step(pod: string, message: string): void;
}

/** What the runner needs from the world: the storage, a way to create pods, and a clock reading. */
export interface BatchContext {
  readonly storage: ManagedPodStorage;
  readonly namespace: string;
  createPod(pod: Pod): Promise<Pod>;
  now(): number;
  readonly reporter: BatchReporter;
  readonly signal?: AbortSignal;
}

/**
 * Runs pods to completion, each with the three per-pod operations at work: its events streamed
 * (`eventsForPod`), its start awaited (`waitForPhase`), and its deletion once finished
 * (`deleteAfterCompletion`). A `watchPodChanges` in the background reports every phase change.
 */
export async function runBatch(context: BatchContext, pods: readonly BatchPod[]): Promise<PodOutcome[]> {
  const { storage, namespace, reporter } = context;
  const watching = new AbortController();
  const signal = context.signal ? AbortSignal.any([context.signal, watching.signal]) : watching.signal;
  const phases = new Map<string, PodPhase>();
  const changes = (async () => {
    try {
      for await (const { pod, phase } of storage.watchPodChanges(namespace, { signal })) {
        const name = pod.metadata?.name ?? '?';
        const before = phases.get(name);
        if (before === phase) continue;
        phases.set(name, phase);
        reporter.phase(name, before, phase);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  })();
  try {
    return await Promise.all(pods.map((item) => runPod(context, item, phases, signal)));
  } finally {
    watching.abort();
    await changes;
  }
}

async function runPod(
  context: BatchContext,
  { pod, timeoutMs }: BatchPod,
  phases: Map<string, PodPhase>,
  signal: AbortSignal,
): Promise<PodOutcome> {
  const { storage, namespace, reporter } = context;
  const started = context.now();
  const created = await context.createPod(pod);
  const name = created.metadata?.name ?? '?';
  phases.set(name, Phase.Pending);
  reporter.step(name, `created (image ${created.spec?.containers[0]?.image ?? '?'})`);

  const stopEvents = new AbortController();
  let events = 0;
  const streaming = (async () => {
    try {
      for await (const message of storage.eventsForPod(name, namespace, timeoutMs, {
        signal: AbortSignal.any([signal, stopEvents.signal]),
      })) {
        events += 1;
        reporter.event(name, message);
      }
    } catch (error) {
      if (!stopEvents.signal.aborted && !signal.aborted) throw error;
    }
  })();

  try {
    const running = await storage.waitForPhase(name, namespace, timeoutMs, {
      untilNot: [Phase.Pending],
      signal,
    });
    reporter.step(name, running === null ? 'disappeared before starting' : `left Pending: ${running}`);
    const phase = await storage.deleteAfterCompletion(name, namespace, timeoutMs, { signal });
    reporter.step(name, phase === null ? 'was already gone' : `finished ${phase}, deleted`);
    return { name, phase, durationMs: context.now() - started, events };
  } catch (error) {
    reporter.step(name, `failed: ${error instanceof Error ? error.message : String(error)}`);
    return { name, phase: null, error, durationMs: context.now() - started, events };
  } finally {
    stopEvents.abort();
    await streaming;
  }
}
