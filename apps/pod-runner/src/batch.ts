import {
  type Clock,
  KubernetesError,
  type ManagedPodStorage,
  PodPhase as Phase,
  type Pod,
  type PodPhase,
  type PodTransport,
  Timeout,
} from '@podstorage/core';

/** How a pod ended. */
export interface PodOutcome {
  readonly name: string;
  /** The final phase; `null` if the pod disappeared or the runner could not finish it. */
  readonly phase: PodPhase | null;
  /** What stopped the runner for this pod: a timeout, a refusal, cancellation. */
  readonly error?: unknown;
  readonly durationMs: number;
  /** Event messages seen for the pod. */
  readonly events: number;
}

/** Where the runner reports what happens: a live terminal view, log lines or JSON. */
export interface BatchReporter {
  created(pod: string, image: string): void;
  event(pod: string, message: string): void;
  /** A phase change seen by the background `watchPodChanges`. */
  phase(pod: string, from: PodPhase | undefined, to: PodPhase): void;
  finished(outcome: PodOutcome): void;
  note(message: string): void;
}

/** What the runner needs from the world. */
export interface BatchContext {
  readonly storage: ManagedPodStorage;
  readonly transport: PodTransport & { create: NonNullable<PodTransport['create']> };
  readonly namespace: string;
  readonly clock: Clock;
  readonly reporter: BatchReporter;
  /** Milliseconds for each pod, from creation to deletion. */
  readonly timeoutMs: number;
  /** Cancels the batch (Ctrl-C): pending work stops, and the pods it created are deleted. */
  readonly signal?: AbortSignal;
}

// Bound on each single request the runner makes itself (create, clean-up delete).
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Runs pods to completion, all at once. For each: creates it, streams its events (`eventsForPod`),
 * waits for it to start (`waitForPhase`) and deletes it once finished (`deleteAfterCompletion`), all
 * under one deadline per pod. A background `watchPodChanges` reports every phase change. Pods the
 * runner created but could not see to the end (cancelled, timed out, failed) are deleted before it
 * returns, so it leaves nothing behind.
 */
export async function runBatch(context: BatchContext, pods: readonly Pod[]): Promise<PodOutcome[]> {
  const { storage, namespace, reporter } = context;
  const stopWatching = new AbortController();
  const signal = context.signal
    ? AbortSignal.any([context.signal, stopWatching.signal])
    : stopWatching.signal;
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
      if (!signal.aborted) reporter.note(`pod changes stopped: ${messageOf(error)}`);
    }
  })();
  // The pods this run created and has not deleted yet, by name, with their uid.
  const leftovers = new Map<string, string | undefined>();
  try {
    return await Promise.all(pods.map((pod) => runPod(context, pod, phases, leftovers)));
  } finally {
    stopWatching.abort();
    await changes;
    await deleteLeftovers(context, leftovers);
  }
}

async function runPod(
  context: BatchContext,
  pod: Pod,
  phases: Map<string, PodPhase>,
  leftovers: Map<string, string | undefined>,
): Promise<PodOutcome> {
  const { storage, namespace, reporter, clock, signal } = context;
  const startedAt = clock.now();
  const deadline = new Timeout(
    `run pod ${namespace}/${pod.metadata?.name ?? pod.metadata?.generateName}`,
    context.timeoutMs,
    {
      clock,
    },
  );
  let name = pod.metadata?.name ?? `${pod.metadata?.generateName}?`;
  let events = 0;
  const stopEvents = new AbortController();
  let streaming: Promise<void> | undefined;
  const outcome = (phase: PodPhase | null, error?: unknown): PodOutcome => ({
    name,
    phase,
    error,
    durationMs: clock.now() - startedAt,
    events,
  });
  let result: PodOutcome;
  try {
    const request = deadline.partial(REQUEST_TIMEOUT_MS);
    const created = await context.transport
      .create('pods', namespace, pod, { signal: anySignal(request.signal, signal) })
      .finally(() => request.dispose());
    name = created.metadata?.name ?? name;
    leftovers.set(name, created.metadata?.uid);
    phases.set(name, Phase.Pending);
    reporter.created(name, created.spec?.containers[0]?.image ?? '?');

    streaming = (async () => {
      try {
        for await (const message of storage.eventsForPod(name, namespace, deadline, {
          signal: anySignal(stopEvents.signal, signal),
          uid: created.metadata?.uid,
        })) {
          events += 1;
          reporter.event(name, message);
        }
      } catch (error) {
        if (!stopEvents.signal.aborted && !signal?.aborted)
          reporter.note(`${name}: events stopped: ${messageOf(error)}`);
      }
    })();

    const started = await storage.waitForPhase(name, namespace, deadline, {
      untilNot: [Phase.Pending],
      signal,
    });
    if (started === null) {
      leftovers.delete(name);
      result = outcome(null, new Error('the pod disappeared before it started'));
    } else {
      const phase = await storage.deleteAfterCompletion(name, namespace, deadline, { signal });
      leftovers.delete(name);
      result = outcome(phase);
    }
  } catch (error) {
    result = outcome(null, error);
  } finally {
    stopEvents.abort();
    await streaming;
    deadline.dispose();
  }
  reporter.finished(result);
  return result;
}

async function deleteLeftovers(
  context: BatchContext,
  leftovers: Map<string, string | undefined>,
): Promise<void> {
  if (leftovers.size === 0) return;
  let deleted = 0;
  await Promise.all(
    [...leftovers].map(async ([name, uid]) => {
      const request = new Timeout(`delete pod ${context.namespace}/${name}`, REQUEST_TIMEOUT_MS, {
        clock: context.clock,
      });
      try {
        await context.transport.delete('pods', context.namespace, name, {
          preconditions: uid === undefined ? undefined : { uid },
          signal: request.signal,
        });
        deleted += 1;
      } catch (error) {
        // Gone already, or replaced by a pod that is not ours: nothing of ours is left.
        if (!(KubernetesError.isInstance(error) && (error.code === 404 || error.code === 409))) {
          context.reporter.note(`could not delete pod ${name}: ${messageOf(error)}`);
        }
      } finally {
        request.dispose();
      }
    }),
  );
  context.reporter.note(`deleted ${deleted} unfinished pod${deleted === 1 ? '' : 's'} this run created`);
}

function anySignal(first: AbortSignal, second: AbortSignal | undefined): AbortSignal {
  return second ? AbortSignal.any([first, second]) : first;
}

/** The message of an error, for one-line reports. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
