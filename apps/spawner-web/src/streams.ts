// The two server-sent event streams: one pod's progress, and the pods table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, type ManagedPodStorage, PodPhase, PodTimeoutError, phaseOf } from '@podstorage/core';
import type { Backend } from './backend.js';
import { describeError } from './http.js';
import { type PodRow, podRow } from './pod-spec.js';
import { ProgressTracker } from './progress.js';
import { type EventStream, openEventStream } from './sse.js';

// Cluster-time budget of the long-lived operations behind a stream; when it runs out the stream ends
// and the browser reconnects to a fresh snapshot.
export const STREAM_BUDGET_MS = 6 * 60 * 60 * 1_000;
// Real-time bound of a single request to the cluster made for a page request.
export const REQUEST_TIMEOUT_MS = 30_000;
const ALL_PHASES: readonly PodPhase[] = Object.values(PodPhase);

/** What the streams need of the server. */
export interface StreamContext {
  readonly backend: Backend;
  readonly storage: ManagedPodStorage;
  readonly namespace: string;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  /** Aborted when the server shuts down. */
  readonly shutdown: AbortSignal;
  /** Fires `created` (a {@link PodRow} as detail) for each pod started here. */
  readonly created: EventTarget;
  /** Runs a task in the background; the server awaits it on close. */
  track(task: Promise<void>): void;
  /** Every pod in the namespace, as table rows. */
  list(signal: AbortSignal): Promise<Map<string, PodRow>>;
}

/**
 * GET /api/pods/:name/watch: one pod's progress. `snapshot` first (the pod as read), then `message`
 * for each event message (`eventsForPod`), `phase` for each phase change (`waitForPhase`, one
 * transition at a time), and `gone` when the pod is deleted, which ends the stream.
 */
export async function watchPod(
  context: StreamContext,
  name: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { backend, storage, namespace } = context;
  const pod = await backend.transport.get('pods', namespace, name, {
    signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), context.shutdown]),
  });
  const uid = pod.metadata?.uid;
  const stream = openEventStream(request, response, {
    heartbeatMs: context.heartbeatMs,
    shutdown: context.shutdown,
  });
  const tracker = new ProgressTracker(pod);
  stream.send('snapshot', { pod: podRow(pod), progress: tracker.current() });
  const messages = async () => {
    for await (const message of storage.eventsForPod(name, namespace, STREAM_BUDGET_MS, {
      ...(uid === undefined ? {} : { uid }),
      signal: stream.signal,
    })) {
      stream.send('message', { message, progress: tracker.message(message) });
    }
  };
  const phases = async () => {
    let phase = phaseOf(pod);
    for (;;) {
      const next = await storage.waitForPhase(name, namespace, STREAM_BUDGET_MS, {
        untilNot: [phase],
        signal: stream.signal,
      });
      if (next === null) {
        stream.send('gone', { name, uid: uid ?? null });
        return;
      }
      phase = next;
      stream.send('phase', { phase, progress: tracker.phase(phase) });
    }
  };
  context.track(feed(context, stream, 'pod stream', name, [messages, phases]));
}

/**
 * GET /api/watch: the pods table. `snapshot` first (a list), then `pod` for every pod modified
 * (`watchPodChanges`) or started here, and `removed` when a pod is gone (a `waitForPhase` per pod,
 * which returns `null` on deletion: `watchPodChanges` reports modifications only).
 */
export async function watchTable(
  context: StreamContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { storage, namespace } = context;
  const rows = await context.list(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  const stream = openEventStream(request, response, {
    heartbeatMs: context.heartbeatMs,
    shutdown: context.shutdown,
  });
  stream.send('snapshot', { pods: [...rows.values()] });
  const followed = new Set<string>();
  const removals = new Set<Promise<void>>();
  // A removal watch that fails (not by the stream closing) fails the stream; the end of the stream ends it.
  let failRemovals: (error: unknown) => void = () => {};
  const removalsFailed = new Promise<void>((resolve, reject) => {
    failRemovals = reject;
    stream.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const update = (row: PodRow) => {
    rows.set(row.name, row);
    stream.send('pod', row);
    follow(row);
  };
  // Reports the pod's removal: a waitForPhase that no phase ends returns only when the pod is gone.
  const follow = (row: PodRow) => {
    const key = `${row.name}/${row.uid}`;
    if (followed.has(key)) return;
    followed.add(key);
    const removal = (async () => {
      for (;;) {
        try {
          await storage.waitForPhase(row.name, namespace, STREAM_BUDGET_MS, {
            untilNot: ALL_PHASES,
            signal: stream.signal,
          });
          break;
        } catch (error) {
          if (!PodTimeoutError.isInstance(error)) throw error;
        }
      }
      followed.delete(key);
      if (rows.get(row.name)?.uid === row.uid) {
        rows.delete(row.name);
        stream.send('removed', { name: row.name, uid: row.uid });
      }
    })().catch((error: unknown) => {
      if (!stream.signal.aborted) failRemovals(error);
    });
    removals.add(removal);
    void removal.finally(() => removals.delete(removal));
  };
  for (const row of rows.values()) follow(row);
  const onCreated = (event: Event) => update((event as CustomEvent<PodRow>).detail);
  context.created.addEventListener('created', onCreated);
  const changes = async () => {
    try {
      for await (const { pod } of storage.watchPodChanges(namespace, { signal: stream.signal })) {
        update(podRow(pod));
      }
    } finally {
      context.created.removeEventListener('created', onCreated);
    }
  };
  const removalWatches = async () => {
    await removalsFailed;
    await Promise.allSettled([...removals]);
  };
  context.track(feed(context, stream, 'table stream', undefined, [changes, removalWatches]));
}

/**
 * Runs the feeders of one stream until the first ends or fails, then ends the stream (which aborts
 * the others and their watches). A failure the browser did not cause is sent as a `failure` event
 * (`error` is EventSource's own).
 */
async function feed(
  context: StreamContext,
  stream: EventStream,
  what: string,
  pod: string | undefined,
  feeders: readonly (() => Promise<void>)[],
): Promise<void> {
  const running = feeders.map((feeder) => feeder());
  try {
    await Promise.race(running);
  } catch (error) {
    if (!stream.signal.aborted) {
      const [, message] = describeError(error);
      context.logger.warn({ pod, error: message }, `${what} failed`);
      stream.send('failure', { error: message });
    }
  } finally {
    stream.end();
    await Promise.allSettled(running);
  }
}
