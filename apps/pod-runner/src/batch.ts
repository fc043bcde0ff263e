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
  /**
   * The last phase seen: the final one when `error` is undefined; for a pod the runner could not see to
   * its end (interrupted, timed out), the phase it was last seen in. `null`: never seen (not created, or
   * gone before it was read).
   */
  readonly phase: PodPhase | null;
  /** What stopped the runner for this pod: a timeout, a refusal, cancellation. */
  readonly error?: unknown;
  /** The run was cancelled (Ctrl-C, SIGTERM, its output closed) before this pod finished. */
  readonly interrupted: boolean;
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
  /** A line a container printed (with `logs`), `time` its RFC 3339 timestamp from the kubelet. */
  log(pod: string, container: string, text: string, time: string | undefined): void;
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
  /**
   * Stream every container's output (init containers first, then containers, as `kubectl logs -f
   * --all-containers`), each instance of a restarted container in turn, until the pod ends.
   */
  readonly logs?: boolean;
}

// Bound on each single request the runner makes itself (create, clean-up delete).
const REQUEST_TIMEOUT_MS = 30_000;
// Once a pod has finished, how long its log streams may take to deliver their last lines.
const LOG_DRAIN_MS = 10_000;

/**
 * The newest state of each pod the batch's `watchPodChanges` saw, and a way to wait for a change: log
 * followers learn from it that a container was restarted (its `restartCount` grew).
 */
class PodStates {
  readonly #latest = new Map<string, Pod>();
  readonly #waiters = new Set<() => void>();

  update(name: string, pod: Pod): void {
    this.#latest.set(name, pod);
    for (const wake of [...this.#waiters]) wake();
  }

  get(name: string): Pod | undefined {
    return this.#latest.get(name);
  }

  /** Resolves once `test` holds for the pod's newest state; resolves (without it) when `signal` fires. */
  async until(name: string, test: (pod: Pod | undefined) => boolean, signal: AbortSignal): Promise<void> {
    if (test(this.get(name)) || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        if (!test(this.get(name)) && !signal.aborted) return;
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener('abort', wake);
    });
  }
}

/**
 * The containers of a pod in the order they run (kubectl --all-containers): init containers, then the
 * others. `once` marks an ordinary init container: it runs to success before the next one starts, so its
 * lines come first; a sidecar (an init container with `restartPolicy: Always`) runs beside the others.
 */
function containersInOrder(pod: Pod): { name: string; once: boolean }[] {
  return [
    ...(pod.spec?.initContainers ?? []).map((each) => ({
      name: each.name,
      once: each.restartPolicy !== 'Always',
    })),
    ...(pod.spec?.containers ?? []).map((each) => ({ name: each.name, once: false })),
  ];
}

function statusOf(pod: Pod | undefined, container: string) {
  const statuses = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  return statuses.find((status) => status.name === container);
}

function restartCount(pod: Pod | undefined, container: string): number {
  return statusOf(pod, container)?.restartCount ?? 0;
}

/** Whether the container has run (runs, ran, or was restarted): its log can be read. */
function hasStarted(pod: Pod | undefined, container: string): boolean {
  const status = statusOf(pod, container);
  return (
    status?.state?.running !== undefined ||
    status?.state?.terminated !== undefined ||
    (status?.restartCount ?? 0) > 0
  );
}

/**
 * The namespace of the run does not exist: found by the first create, before any pod exists, so the
 * runner refuses it as bad input. Real API servers answer a list in a missing namespace with an empty
 * list, and a namespace-scoped user may not read namespaces, so the first create is the check (as
 * kubectl, which reports `namespaces "x" not found` from its create).
 */
export class NamespaceNotFoundError extends Error {
  override name = 'NamespaceNotFoundError';
  constructor(readonly namespace: string) {
    super(`namespace ${namespace} does not exist`);
  }
}

function isMissingNamespace(error: unknown): boolean {
  return (
    KubernetesError.isInstance(error) && error.code === 404 && error.status?.details?.kind === 'namespaces'
  );
}

/**
 * Runs pods to completion, all at once. For each: creates it, streams its events (`eventsForPod`),
 * waits for it to start (`waitForPhase`) and deletes it once finished (`deleteAfterCompletion`), all
 * under one deadline per pod. A background `watchPodChanges` reports every phase change. Pods the
 * runner created but could not see to the end (cancelled, timed out, failed) are deleted before it
 * returns, so it leaves nothing behind. The first pod is created alone, the others once it exists:
 * a missing namespace rejects with {@link NamespaceNotFoundError} with nothing created.
 */
export async function runBatch(context: BatchContext, pods: readonly Pod[]): Promise<PodOutcome[]> {
  const { storage, namespace, reporter } = context;
  const stopWatching = new AbortController();
  const signal = context.signal
    ? AbortSignal.any([context.signal, stopWatching.signal])
    : stopWatching.signal;
  const phases = new Map<string, PodPhase>();
  const states = new PodStates();
  const changes = (async () => {
    try {
      for await (const { pod, phase } of storage.watchPodChanges(namespace, { signal })) {
        const name = pod.metadata?.name ?? '?';
        states.update(name, pod);
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
  // Settles when the first pod's create has: resolves true to let the others create theirs.
  let firstCreated: (go: boolean) => void = () => {};
  const gate = new Promise<boolean>((resolve) => {
    firstCreated = resolve;
  });
  try {
    const outcomes = await Promise.all(
      pods.map((pod, index) =>
        runPod(context, pod, phases, states, leftovers, index === 0 ? firstCreated : gate),
      ),
    );
    if (outcomes[0] !== undefined && isMissingNamespace(outcomes[0].error)) {
      throw new NamespaceNotFoundError(namespace);
    }
    return outcomes;
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
  states: PodStates,
  leftovers: Map<string, string | undefined>,
  /** For the first pod, called with whether its create worked; for the others, awaited before creating. */
  gate: ((created: boolean) => void) | Promise<boolean>,
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
  let logging: Promise<void> | undefined;
  // Set once the pod has finished: log followers stop waiting for a restart.
  const podEnded = new AbortController();
  let created: Pod | undefined;
  const outcome = (phase: PodPhase | null, error?: unknown): PodOutcome => ({
    name,
    phase,
    error,
    interrupted: error !== undefined && signal?.aborted === true,
    durationMs: clock.now() - startedAt,
    events,
  });
  let result: PodOutcome;
  try {
    if (gate instanceof Promise && !(await gate)) {
      // The namespace is missing: runBatch refuses the whole run, and this pod was never created.
      return outcome(null, new NamespaceNotFoundError(namespace));
    }
    const request = deadline.partial(REQUEST_TIMEOUT_MS);
    let stored: Pod;
    try {
      stored = await context.transport
        .create('pods', namespace, pod, { signal: anySignal(request.signal, signal) })
        .finally(() => request.dispose());
      if (!(gate instanceof Promise)) gate(true);
    } catch (error) {
      // Only a missing namespace stops the others: any other refusal is this pod's alone.
      if (!(gate instanceof Promise)) gate(!isMissingNamespace(error));
      throw error;
    }
    created = stored;
    name = stored.metadata?.name ?? name;
    leftovers.set(name, stored.metadata?.uid);
    phases.set(name, Phase.Pending);
    reporter.created(name, stored.spec?.containers[0]?.image ?? '?');

    streaming = (async () => {
      try {
        for await (const message of storage.eventsForPod(name, namespace, deadline, {
          signal: anySignal(stopEvents.signal, signal),
          uid: stored.metadata?.uid,
        })) {
          events += 1;
          reporter.event(name, message);
        }
      } catch (error) {
        if (!stopEvents.signal.aborted && !signal?.aborted)
          reporter.note(`${name}: events stopped: ${messageOf(error)}`);
      }
    })();

    if (context.logs) {
      const logSignal = anySignal(stopEvents.signal, signal);
      // Each ordinary init container is followed to its end before the containers after it, so their
      // lines come in the order the kubelet ran them however late each stream's first line arrives.
      let before: Promise<void> = Promise.resolve();
      const followers = containersInOrder(stored).map(({ name: container, once }) => {
        const follower = before.then(() =>
          followContainer(context, states, name, container, once, deadline, logSignal, podEnded.signal),
        );
        if (once) before = follower;
        return follower;
      });
      logging = Promise.all(followers).then(() => {});
    }

    const started = await storage.waitForPhase(name, namespace, deadline, {
      untilNot: [Phase.Pending],
      signal,
    });
    if (started === null) {
      leftovers.delete(name);
      result = outcome(null, new Error('the pod disappeared before it started'));
    } else {
      if (logging !== undefined) {
        // Read the logs to their end before the pod (and with it its logs) is deleted.
        const finished = await storage.waitForPhase(name, namespace, deadline, {
          untilNot: [Phase.Pending, Phase.Running, Phase.Unknown],
          signal,
        });
        podEnded.abort();
        if (finished !== null) await drain(logging, deadline, signal);
      }
      const phase = await storage.deleteAfterCompletion(name, namespace, deadline, { signal });
      leftovers.delete(name);
      if (phase !== null) phases.set(name, phase);
      result = outcome(phase);
    }
  } catch (error) {
    // The last phase seen, for a pod that was created: the watch's, else Pending (just created).
    result = outcome(created === undefined ? null : (phases.get(name) ?? Phase.Pending), error);
  } finally {
    podEnded.abort();
    stopEvents.abort();
    await streaming;
    await logging;
    deadline.dispose();
  }
  // A missing namespace is the run's bad input (runBatch throws), not a pod's end to report.
  if (!(created === undefined && isMissingNamespace(result.error))) reporter.finished(result);
  return result;
}

/**
 * Streams one container's output to the reporter: its current instance, then each new one the kubelet
 * starts after a restart (a grown `restartCount`), until the pod has ended or `signal` fires; a container
 * that runs `once` (an ordinary init container) is done when an instance has succeeded.
 */
async function followContainer(
  context: BatchContext,
  states: PodStates,
  name: string,
  container: string,
  once: boolean,
  deadline: Timeout,
  signal: AbortSignal,
  podEnded: AbortSignal,
): Promise<void> {
  const { storage, namespace, reporter } = context;
  try {
    // Wait for the container to start (the pod watch says so at once), rather than have logsForPod
    // poll with a growing back-off through a long image pull and show the first lines late.
    await states.until(name, (pod) => hasStarted(pod, container), AbortSignal.any([signal, podEnded]));
    if (signal.aborted) return;
    for (;;) {
      for await (const line of storage.logsForPod(name, namespace, deadline, { container, signal })) {
        reporter.log(name, container, line.text, line.time);
      }
      // A follow ends when the instance does (lines of a quick restart were given by its resume): the
      // pod, read now rather than from a watch that may lag, says which instance that was.
      const request = deadline.partial(REQUEST_TIMEOUT_MS);
      let current: Pod;
      try {
        current = await context.transport.get('pods', namespace, name, {
          signal: anySignal(request.signal, signal),
        });
      } finally {
        request.dispose();
      }
      if (once && statusOf(current, container)?.state?.terminated?.exitCode === 0) return;
      const shown = restartCount(current, container);
      const stop = AbortSignal.any([signal, podEnded]);
      await states.until(name, (pod) => restartCount(pod, container) > shown, stop);
      if (stop.aborted) return;
    }
  } catch (error) {
    const gone = KubernetesError.isInstance(error) && error.code === 404;
    if (!signal.aborted && !gone) reporter.note(`${name}/${container}: logs stopped: ${messageOf(error)}`);
  }
}

/** Waits for the log streams of a finished pod to end on their own, for at most {@link LOG_DRAIN_MS}. */
async function drain(
  logging: Promise<void>,
  deadline: Timeout,
  signal: AbortSignal | undefined,
): Promise<void> {
  const bound = deadline.partial(LOG_DRAIN_MS);
  const stop = anySignal(bound.signal, signal);
  try {
    await Promise.race([
      logging,
      new Promise<void>((resolve) => {
        if (stop.aborted) resolve();
        stop.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
  } finally {
    bound.dispose();
  }
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
