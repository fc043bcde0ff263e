import { Backoff } from './backoff.js';
import { delay } from './clock.js';
import { KubernetesError, PodStorageError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { classifyFailure, type RetrySettings, requestWithRetries, retryAfterOf } from './retry-policy.js';
import type { Timeout } from './timeout.js';
import type { PodLogOptions } from './transport.js';

/** One line of a container's log. */
export interface PodLogLine {
  /** The line, without its newline (and without the timestamp the server prefixed it with). */
  readonly text: string;
  /** When the container wrote it (RFC 3339 with nanoseconds, as the kubelet stamps it). */
  readonly time: string | undefined;
}

/** Options of {@link followPodLogs}. */
export interface FollowPodLogsOptions {
  /** The container; needed when the pod has more than one (else the server answers 400). */
  readonly container?: string;
  /** Keep reading as the container writes, until it ends (`kubectl logs -f`). Default true. */
  readonly follow?: boolean;
  /** The previous instance of a restarted container (`--previous`). */
  readonly previous?: boolean;
  /** Only the last lines (`--tail`). */
  readonly tailLines?: number;
  /** Only lines newer than this many seconds (`--since`). */
  readonly sinceSeconds?: number;
  /** At most this many bytes of log (`--limit-bytes`). */
  readonly limitBytes?: number;
  /**
   * Follow only the instance of the container that has this `restartCount`: the follow ends once the
   * container has been restarted past it, instead of resuming into the next instance (whose lines
   * would then run on from this one's with nothing between them). For a caller that shows each
   * instance on its own, such as a page that marks every restart. Default: whatever instance runs.
   */
  readonly restartCount?: number;
}

/** Messages the kubelet (through the apiserver) answers with while a container cannot be read yet. */
const NOT_STARTED =
  /is waiting to start|ContainerCreating|PodInitializing|not found in pod|no such container/i;

/** RFC 3339 times of any precision made comparable as strings: the fraction padded to 9 digits. */
function sortableTime(time: string): string {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (match === null) return time;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}${match[3]}`;
}

/** Splits `2026-12-01T10:00:00.123456789Z text` into its time and text. */
function splitTimestamp(line: string): PodLogLine {
  const space = line.indexOf(' ');
  const head = space === -1 ? line : line.slice(0, space);
  if (!/^\d{4}-\d\d-\d\dT/.test(head)) return { text: line, time: undefined };
  return { text: space === -1 ? '' : line.slice(space + 1), time: head };
}

/** Where the container is in its life, by the pod's status. */
type ContainerState = 'waiting' | 'running' | 'ended';

function containerState(
  pod: Pod,
  container: string | undefined,
  restartCount: number | undefined,
): ContainerState {
  if (pod.metadata?.deletionTimestamp !== undefined && pod.status?.phase !== 'Pending') return 'ended';
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const status = container === undefined ? statuses[0] : statuses.find((each) => each.name === container);
  // The instance asked for has ended once the kubelet counted a restart past it.
  if (restartCount !== undefined && (status?.restartCount ?? 0) > restartCount) return 'ended';
  if (status?.state?.running !== undefined) return 'running';
  if (status?.state?.terminated !== undefined) return 'ended';
  // Waiting after a run (CrashLoopBackOff): the instance a follow read has ended.
  if ((status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined) return 'ended';
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' ? 'ended' : 'waiting';
}

/**
 * The lines of a container's log, as `kubectl logs` reads them: existing lines first, then (with
 * `follow`) new ones until the container ends. Unlike one `pods/log` request it survives what happens on
 * the way: a container that has not started yet is waited for; a follow stream that breaks or ends
 * while the container still runs is resumed from the last line's timestamp (the lines of that instant
 * already given are not given again); network errors, 429 and 5xx are retried with the engine's
 * backoff. Ends quietly when the pod is gone or `deadline` expires; other errors (403, a container name
 * the pod does not have) are thrown.
 */
export async function* followPodLogs(
  settings: RetrySettings,
  namespace: string,
  name: string,
  deadline: Timeout,
  signal: AbortSignal,
  options: FollowPodLogsOptions = {},
): AsyncGenerator<PodLogLine, void, undefined> {
  const transport = settings.transport;
  if (transport.readPodLog === undefined) {
    throw new PodStorageError('this transport cannot read container logs (it has no readPodLog)');
  }
  const follow = options.follow ?? true;
  const backoff = new Backoff(settings.backoff, settings.random);
  const ended = AbortSignal.any([signal, deadline.signal]);
  // Where to resume: the last line's time, and how many lines of that very time were given.
  let lastTime: string | undefined;
  let givenAtLastTime = 0;
  // A 400 answered for a container seen ended is retried once (it may have started and ended since).
  let retriedAfterEnd = false;
  for (;;) {
    if (ended.aborted) return;
    const request: PodLogOptions = {
      signal: ended,
      follow,
      timestamps: true,
      ...(options.container === undefined ? {} : { container: options.container }),
      ...(options.previous ? { previous: true } : {}),
      ...(options.limitBytes === undefined ? {} : { limitBytes: options.limitBytes }),
      ...(lastTime === undefined
        ? {
            ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
            ...(options.sinceSeconds === undefined ? {} : { sinceSeconds: options.sinceSeconds }),
          }
        : { sinceTime: lastTime }),
    };
    let failure: unknown;
    try {
      const chunks = await transport.readPodLog(namespace, name, request);
      let partial = '';
      let skipping = givenAtLastTime;
      const take = (raw: string): PodLogLine | undefined => {
        const line = splitTimestamp(raw);
        if (lastTime !== undefined && line.time !== undefined) {
          const order = sortableTime(line.time).localeCompare(sortableTime(lastTime));
          // A resumed read starts at the second of sinceTime: drop what was already given.
          if (order < 0) return undefined;
          if (order === 0 && skipping > 0) {
            skipping -= 1;
            return undefined;
          }
        }
        if (line.time !== undefined) {
          if (line.time === lastTime) givenAtLastTime += 1;
          else {
            lastTime = line.time;
            givenAtLastTime = 1;
            skipping = 0;
          }
        }
        return line;
      };
      for await (const chunk of chunks) {
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const raw of lines) {
          const line = take(raw);
          if (line === undefined) continue;
          // Only new lines count as progress: a stream that repeats what was given backs off.
          backoff.reset();
          yield line;
        }
      }
      if (partial !== '') {
        const line = take(partial);
        if (line !== undefined) yield line;
      }
      if (!follow) return;
    } catch (error) {
      if (ended.aborted) return;
      failure = error;
    }
    // After a refusal or the end of a follow stream, the pod says what to do next.
    let state: ContainerState | 'gone';
    try {
      state = await readContainerState();
    } catch (error) {
      if (ended.aborted) return;
      throw error;
    }
    if (state === 'gone') return;
    if (failure !== undefined) {
      // The kubelet refuses a container that has not started (400 "is waiting to start"); client-node
      // keeps only the code of a refusal, so the pod's status decides, not the message.
      // The pod is read after the refusal: a container may have started (or even ended) in between,
      // so a 400 is retried while it runs, and once more after it ended.
      const refused = KubernetesError.isInstance(failure) && failure.code === 400;
      const notStarted =
        refused &&
        (NOT_STARTED.test(KubernetesError.isInstance(failure) ? failure.message : '') ||
          state === 'waiting' ||
          state === 'running' ||
          !retriedAfterEnd);
      if (refused && state === 'ended') retriedAfterEnd = true;
      if (!notStarted && classifyFailure(failure) !== 'retry') throw failure;
      settings.logger.debug(
        { pod: `${namespace}/${name}`, err: failure },
        'container log not readable yet: retrying',
      );
    } else if (state === 'ended') {
      // The follow ended because the container did.
      return;
    }
    // Else the container runs (a broken stream: resume) or has not started: an apiserver answers a pod
    // not yet on a node with an empty body (pkg/registry/core/pod/strategy.go LogLocation), so wait and read again.
    try {
      await delay(settings.clock, Math.min(backoff.next(retryAfterOf(failure)), deadline.left() + 1), ended);
    } catch {
      return;
    }
  }

  /** The container's state, or `gone` for a pod that no longer exists (reads retried as the engine's). */
  async function readContainerState(): Promise<ContainerState | 'gone'> {
    try {
      const pod = await requestWithRetries(
        `get pod ${namespace}/${name}`,
        settings,
        deadline,
        ended,
        (attempt) => transport.get('pods', namespace, name, { signal: attempt }),
      );
      return containerState(pod, options.container, options.restartCount);
    } catch (error) {
      if (KubernetesError.isInstance(error) && error.code === 404) return 'gone';
      throw error;
    }
  }
}
