// The two server-sent event streams: one pod's progress, and the pods table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Logger,
  type ManagedPodStorage,
  type Pod,
  PodPhase,
  PodTimeoutError,
  phaseOf,
  systemClock,
} from '@podstorage/core';
import type { Backend } from './backend.js';
import { type EventLine, eventLine } from './event-lines.js';
import { describeError, HttpError } from './http.js';
import type { PodFeed } from './pod-feed.js';
import { type ContainerView, containerView, type PodRow, podRow } from './pod-spec.js';
import { type ProgressBook, sameProgress } from './progress-book.js';
import { type EventStream, openEventStream } from './sse.js';

// Cluster-time budget of the long-lived operations behind a stream; when it runs out the stream ends
// and the browser reconnects to a fresh snapshot.
export const STREAM_BUDGET_MS = 6 * 60 * 60 * 1_000;
// Real-time bound of a single request to the cluster made for a page request.
export const REQUEST_TIMEOUT_MS = 30_000;
const ALL_PHASES: readonly PodPhase[] = Object.values(PodPhase);

/** Real milliseconds between two updates of one recurring event's line: 12 000 repeats are a few lines. */
export const REPEAT_INTERVAL_MS = 250;

/** What the streams need of the server. */
export interface StreamContext {
  readonly backend: Backend;
  readonly storage: ManagedPodStorage;
  readonly namespace: string;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  /** The one source of every pod's progress. */
  readonly book: ProgressBook;
  /** The newest state of each pod (one watch of the namespace): restarts, back-offs, deletions. */
  readonly feed: PodFeed;
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
 * GET /api/pods/:name/watch?uid=: one pod's progress. `snapshot` first (the pod as read now, so a
 * reconnect never shows a stale phase), then `event` for each event line (a recurring event again,
 * with its count), `progress` whenever the pod's progress changes (from whatever stream learnt it),
 * `phase` for each phase change (`waitForPhase`, one transition at a time), and `gone` when the pod
 * is deleted, which ends the stream. With `uid`, a pod of that name but another uid is a 404: the
 * pod the page followed is gone.
 */
export async function watchPod(
  context: StreamContext,
  name: string,
  expectedUid: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { backend, storage, namespace, book } = context;
  const pod = await readFollowedPod(backend, namespace, name, expectedUid, context.shutdown);
  const uid = pod.metadata?.uid ?? '';
  const stream = openEventStream(request, response, {
    heartbeatMs: context.heartbeatMs,
    shutdown: context.shutdown,
  });
  const now = backend.clock ?? systemClock;
  let sent = book.pod(pod);
  let shown = podRow(pod, sent, now.date());
  stream.send('snapshot', {
    pod: shown,
    progress: sent,
    resumed: stream.resumedAfter !== undefined,
  });
  // The pod's container as it changes (a restart, a back-off, the last exit): `pod` with the row.
  const statusOf = (row: PodRow) =>
    JSON.stringify([row.status, row.ready, row.restartCount, row.container, row.terminating]);
  const showStatus = (next: Pod) => {
    const row = podRow(next, book.pod(next), now.date());
    if (statusOf(row) === statusOf(shown)) return;
    shown = row;
    stream.send('pod', { pod: row });
  };
  context.feed.listen(uid, showStatus, stream.signal);
  const newer = context.feed.latest(uid);
  if (newer !== undefined && newer !== pod) showStatus(newer);
  book.listen((change) => {
    if (change.uid !== uid || sameProgress(change.progress, sent)) return;
    sent = change.progress;
    stream.send('progress', { progress: sent });
  }, stream.signal);
  const lines = throttleLines(stream);
  const events = async () => {
    for await (const event of storage.eventObjectsForPod(name, namespace, STREAM_BUDGET_MS, {
      ...(uid === '' ? {} : { uid }),
      signal: stream.signal,
    })) {
      const line = eventLine(event, now.date());
      book.message(uid, name, line.message);
      lines.send(line);
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
        lines.flush();
        // A book that already forgot the pod (a list that no longer had it) would start it afresh:
        // the stream then says deleted from the progress it last sent.
        if (book.current(uid) === undefined) {
          sent = { ...sent, ending: 'deleted' };
          stream.send('progress', { progress: sent });
        } else {
          book.gone(uid, name);
        }
        stream.send('gone', { name, uid, at: now.date().toISOString() });
        return;
      }
      phase = next;
      book.phase(uid, name, phase);
      stream.send('phase', { phase });
    }
  };
  context.track(runFeeders(context, stream, 'pod stream', name, [events, phases]));
}

/**
 * GET /api/pods/:name/logs?uid=: the container's log, as `kubectl logs -f` shows it
 * (`storage.logsForPod`, which waits for the container to start and resumes a broken stream), and on
 * through its restarts: each instance is followed on its own (`restartCount`), and between two the
 * stream says what happened. `reset` first (the page clears what it shows: a reconnected stream reads
 * the current instance again), then `line` `{ text, time }` per line; `waiting` `{ container }` when the
 * instance ended and the kubelet will start another (its back-off, a {@link ContainerView});
 * `restart` `{ container }` when the next instance started (its lines follow); `end` `{ container }`
 * once the container ended for good (the pod finished, is being deleted, or is gone). 404 where the
 * backend cannot read logs (its transport has no `readPodLog`).
 */
export async function watchLogs(
  context: StreamContext,
  name: string,
  expectedUid: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { backend, storage, namespace, feed } = context;
  if (typeof backend.transport.readPodLog !== 'function') {
    throw new HttpError(404, `container logs are not available on the ${backend.name} backend`);
  }
  const read = (signal: AbortSignal) =>
    readFollowedPod(backend, namespace, name, undefined, AbortSignal.any([context.shutdown, signal]));
  const pod = await readFollowedPod(backend, namespace, name, expectedUid, context.shutdown);
  const uid = pod.metadata?.uid ?? '';
  const stream = openEventStream(request, response, {
    heartbeatMs: context.heartbeatMs,
    shutdown: context.shutdown,
  });
  // Gone (whatever stream saw it first): no instance follows.
  const gone = new AbortController();
  context.book.listen((change) => {
    if (change.uid === uid && change.progress.ending === 'deleted') gone.abort();
  }, stream.signal);
  const waiting = AbortSignal.any([stream.signal, gone.signal]);
  stream.send('reset', {});
  const lines = async () => {
    let current: Pod | null = pod;
    // The instance shown: the one running now (as `kubectl logs -f`), or the first to start.
    let instance = containerView(pod)?.restartCount ?? 0;
    follow: for (;;) {
      for await (const line of storage.logsForPod(name, namespace, STREAM_BUDGET_MS, {
        signal: stream.signal,
        restartCount: instance,
      })) {
        stream.send('line', line);
      }
      // The follow ended: the pod, read now, says whether another instance follows.
      current = await readOrNull(read, stream.signal);
      // What the last `waiting` said: sent again when the wait changes (an exit, then CrashLoopBackOff).
      let told = '';
      for (;;) {
        if (current === null || !willRestart(current)) {
          stream.send('end', { container: current === null ? null : containerView(current) });
          return;
        }
        const view = containerView(current);
        if ((view?.restartCount ?? 0) > instance) break;
        // Still this instance, running: the follow ran out of its budget, not the container.
        if (view?.state === 'running') continue follow;
        const wait = `${view?.state}/${view?.reason}`;
        if (wait !== told) {
          stream.send('waiting', { container: view });
          told = wait;
        }
        const next = await feed.until(
          uid,
          current,
          (candidate) => {
            const seen = containerView(candidate);
            return (
              !willRestart(candidate) ||
              (seen?.restartCount ?? 0) > instance ||
              `${seen?.state}/${seen?.reason}` !== told
            );
          },
          waiting,
        );
        if (stream.signal.aborted) return;
        current = next ?? null;
      }
      const view = containerView(current);
      instance = view?.restartCount ?? instance + 1;
      stream.send('restart', { container: view });
    }
  };
  context.track(runFeeders(context, stream, 'log stream', name, [lines]));
}

/** Whether the kubelet may still start another instance of the pod's container. */
function willRestart(pod: Pod): boolean {
  const phase = phaseOf(pod);
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (pod.metadata?.deletionTimestamp) return false;
  const view = containerView(pod);
  if (view === null) return true;
  // restartPolicy (default Always): Never never restarts; OnFailure only a failed instance.
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (view.state === 'running' || view.state === 'waiting') return true;
  if (policy === 'Never') return false;
  return policy === 'Always' || (view.lastTermination?.exitCode ?? 0) !== 0;
}

/**
 * Reads pod `name` now, bounded by REQUEST_TIMEOUT_MS and `signal`. With `expectedUid`, a pod of that name
 * but another uid is a 404: the pod the page followed is gone.
 */
export async function readFollowedPod(
  backend: Backend,
  namespace: string,
  name: string,
  expectedUid: string | undefined,
  signal: AbortSignal,
): Promise<Pod> {
  const pod = await backend.transport.get('pods', namespace, name, {
    signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), signal]),
  });
  if (expectedUid !== undefined && (pod.metadata?.uid ?? '') !== expectedUid) {
    throw new HttpError(
      404,
      `pod ${name} (uid ${expectedUid}) not found: the pod of that name now is another one`,
    );
  }
  return pod;
}

/** The pod as read now; `null` when it is gone. */
async function readOrNull(
  read: (signal: AbortSignal) => Promise<Pod>,
  signal: AbortSignal,
): Promise<Pod | null> {
  try {
    return await read(signal);
  } catch (error) {
    if (describeError(error)[0] === 404) return null;
    throw error;
  }
}

/**
 * Sends event lines on `stream`, a recurring event's line at most once per {@link REPEAT_INTERVAL_MS}
 * (the newest count wins): a FailedScheduling repeated 12 000 times is a handful of updates of one
 * line, not 12 000 frames for the page to draw. A new event is sent at once.
 */
function throttleLines(stream: EventStream): { send(line: EventLine): void; flush(): void } {
  const sentAt = new Map<string, number>();
  const held = new Map<string, EventLine>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const now = performance.now();
    for (const line of held.values()) {
      sentAt.set(line.key, now);
      stream.send('event', line);
    }
    held.clear();
  };
  stream.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return {
    send(line) {
      const now = performance.now();
      const last = sentAt.get(line.key);
      if (last === undefined || now - last >= REPEAT_INTERVAL_MS) {
        held.delete(line.key);
        sentAt.set(line.key, now);
        stream.send('event', line);
        return;
      }
      held.set(line.key, line);
      timer ??= setTimeout(flush, REPEAT_INTERVAL_MS - (now - last));
    },
    flush,
  };
}

/**
 * GET /api/watch: the pods table. `snapshot` first (a list), then `pod` for every pod modified
 * (`watchPodChanges`), started here, or whose progress changed, and `removed` when a pod is gone (a
 * `waitForPhase` per pod, which returns `null` on deletion: `watchPodChanges` reports modifications only).
 */
export async function watchTable(
  context: StreamContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { storage, namespace, book } = context;
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
  // The progress another stream learnt (an event of the followed pod) reaches its row at once.
  let updating = false;
  book.listen((change) => {
    const row = rows.get(change.name);
    if (
      updating ||
      row === undefined ||
      row.uid !== change.uid ||
      sameProgress(row.progress, change.progress)
    ) {
      return;
    }
    update({ ...row, progress: change.progress });
  }, stream.signal);
  const fromPod = (pod: Pod) => {
    updating = true;
    try {
      update(podRow(pod, book.pod(pod), (context.backend.clock ?? systemClock).date()));
    } finally {
      updating = false;
    }
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
        book.gone(row.uid, row.name);
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
        fromPod(pod);
      }
    } finally {
      context.created.removeEventListener('created', onCreated);
    }
  };
  const removalWatches = async () => {
    await removalsFailed;
    await Promise.allSettled([...removals]);
  };
  context.track(runFeeders(context, stream, 'table stream', undefined, [changes, removalWatches]));
}

/**
 * Runs the feeders of one stream until the first ends or fails, then ends the stream (which aborts
 * the others and their watches). A failure the browser did not cause is sent as a `failure` event
 * (`error` is EventSource's own).
 */
async function runFeeders(
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
