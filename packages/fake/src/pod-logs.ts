import type { Pod } from '@podstorage/core';
import { badRequest } from './status.js';

/** The options of `GET pods/{name}/log`, as `PodLogOptions` (k8s.io/api/core/v1) has them. */
export interface PodLogQuery {
  /** Required when the pod has more than one container (init containers included). */
  readonly container?: string;
  /** Keep streaming new lines until the container ends. */
  readonly follow?: boolean;
  /** The previous (terminated) instance of a restarted container. */
  readonly previous?: boolean;
  /** Only lines at or after this many seconds ago. */
  readonly sinceSeconds?: number;
  /** Only lines at or after this RFC 3339 time. */
  readonly sinceTime?: string;
  /** Prefix each line with its RFC 3339 time (nanoseconds, as the kubelet writes it). */
  readonly timestamps?: boolean;
  /** Only the last this many lines. */
  readonly tailLines?: number;
  /** Stop after this many bytes. */
  readonly limitBytes?: number;
}

/** One line a container printed. */
interface LogLine {
  /** Clock time of the line, in ms since the epoch. */
  readonly at: number;
  readonly text: string;
}

/** One run of a container: what it printed, whether it has ended, who follows it. */
export class ContainerInstance {
  readonly lines: LogLine[] = [];
  #ended = false;
  readonly #followers = new Set<() => void>();

  get ended(): boolean {
    return this.#ended;
  }

  print(at: number, text: string): void {
    if (this.#ended) return;
    this.lines.push({ at, text });
    this.#wake();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake();
  }

  /** Calls `wake` on every new line and at the end, until the returned function is called. */
  follow(wake: () => void): () => void {
    this.#followers.add(wake);
    return () => this.#followers.delete(wake);
  }

  #wake(): void {
    for (const wake of [...this.#followers]) wake();
  }
}

/** What one pod's containers printed, per container, newest run last. */
export class PodLogs {
  readonly #containers = new Map<string, ContainerInstance[]>();

  /** Starts a new run of `container` (the previous one, if any, becomes `previous`). */
  startInstance(container: string): ContainerInstance {
    const runs = this.#containers.get(container) ?? [];
    runs.at(-1)?.end();
    const instance = new ContainerInstance();
    runs.push(instance);
    // The kubelet keeps the current and the previous container; older ones are garbage-collected.
    if (runs.length > 2) runs.shift();
    this.#containers.set(container, runs);
    return instance;
  }

  current(container: string): ContainerInstance | undefined {
    return this.#containers.get(container)?.at(-1);
  }

  previous(container: string): ContainerInstance | undefined {
    const runs = this.#containers.get(container) ?? [];
    return runs.length >= 2 ? runs[runs.length - 2] : undefined;
  }

  /** Ends every run (the pod is gone): followers finish. */
  endAll(): void {
    for (const runs of this.#containers.values()) for (const run of runs) run.end();
  }
}

/** `2006-01-02T15:04:05.000000000Z`: the kubelet's RFC3339NanoFixed (pkg/kubelet/kuberuntime/logs/logs.go). */
export function logTimestamp(at: number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/**
 * Which container and run a log request reads, with the apiserver's and kubelet's errors:
 * - pkg/registry/core/pod/strategy.go LogLocation: "a container name must be specified for pod %s,
 *   choose one of: %s" (400) and "container %s is not valid for pod %s" (400);
 * - pkg/kubelet/kubelet_pods.go validateContainerLogStatus: `previous terminated container %q in pod
 *   %q not found`, `container %q in pod %q is waiting to start: %s` (both 400 through the apiserver).
 * `undefined` instance: nothing to read yet (an unscheduled pod answers an empty body).
 */
export function logTarget(
  pod: Pod,
  logs: PodLogs | undefined,
  query: PodLogQuery,
): { container: string; instance: ContainerInstance | undefined } {
  const name = pod.metadata?.name ?? '';
  const app = (pod.spec?.containers ?? []).map((container) => container.name);
  const init = (pod.spec?.initContainers ?? []).map((container) => container.name);
  let container = query.container;
  if (container === undefined || container === '') {
    if (app.length + init.length === 1) container = (app[0] ?? init[0]) as string;
    else {
      const initPart = init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : '';
      throw badRequest(
        `a container name must be specified for pod ${name}, choose one of: [${app.join(' ')}]${initPart}`,
      );
    }
  }
  if (!app.includes(container) && !init.includes(container))
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  if (!pod.spec?.nodeName) return { container, instance: undefined };
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const status = statuses.find((candidate) => candidate.name === container);
  if (query.previous) {
    const previous = logs?.previous(container);
    if (previous === undefined)
      throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    return { container, instance: previous };
  }
  const instance = logs?.current(container);
  if (instance === undefined) {
    const reason = status?.state?.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
  }
  return { container, instance };
}

/** Checks a log query's numbers as the apiserver's validation does (pkg/apis/core/validation ValidatePodLogOptions). */
export function checkLogQuery(query: PodLogQuery, podName: string): void {
  const fail = (field: string, value: unknown, message: string) => {
    throw Object.assign(
      badRequest(`PodLogOptions "${podName}" is invalid: ${field}: Invalid value: ${value}: ${message}`),
      {},
    );
  };
  if (query.tailLines !== undefined && query.tailLines < 0)
    fail('tailLines', query.tailLines, 'must be greater than or equal to 0');
  if (query.limitBytes !== undefined && query.limitBytes < 1)
    fail('limitBytes', query.limitBytes, 'must be greater than 0');
  if (query.sinceSeconds !== undefined && query.sinceSeconds < 1)
    fail('sinceSeconds', query.sinceSeconds, 'must be greater than 0');
  if (query.sinceSeconds !== undefined && query.sinceTime !== undefined)
    throw badRequest(
      `PodLogOptions "${podName}" is invalid: : Forbidden: at most one of \`sinceTime\` or \`sinceSeconds\` may be specified`,
    );
  if (query.sinceTime !== undefined && Number.isNaN(Date.parse(query.sinceTime)))
    fail('sinceTime', JSON.stringify(query.sinceTime), 'must be an RFC 3339 time');
}

/** The lines of `instance` a query selects (since, tail), formatted, before `limitBytes`. */
function selected(instance: ContainerInstance, query: PodLogQuery, now: number): string[] {
  const since =
    query.sinceSeconds !== undefined
      ? now - query.sinceSeconds * 1_000
      : query.sinceTime !== undefined
        ? Date.parse(query.sinceTime)
        : Number.NEGATIVE_INFINITY;
  let lines = instance.lines.filter((line) => line.at >= since);
  if (query.tailLines !== undefined) lines = query.tailLines === 0 ? [] : lines.slice(-query.tailLines);
  return lines.map((line) => format(line, query));
}

function format(line: LogLine, query: PodLogQuery): string {
  return `${query.timestamps ? `${logTimestamp(line.at)} ` : ''}${line.text}\n`;
}

/** Cuts text to `limit` bytes (UTF-8), as the kubelet's LimitWriter does. */
function cut(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= limit ? text : bytes.subarray(0, limit).toString('utf8');
}

/** The whole log a non-following request answers. */
export function readLog(instance: ContainerInstance | undefined, query: PodLogQuery, now: number): string {
  if (instance === undefined) return '';
  const text = selected(instance, query, now).join('');
  return query.limitBytes === undefined ? text : cut(text, query.limitBytes);
}

/**
 * A following request: what is there now (after since/tail), then every new line, ending when the
 * container's run ends, `limitBytes` is reached, or `signal` aborts.
 */
export async function* followLog(
  instance: ContainerInstance | undefined,
  query: PodLogQuery,
  now: number,
  signal: AbortSignal,
): AsyncGenerator<string> {
  if (instance === undefined) return;
  let budget = query.limitBytes ?? Number.POSITIVE_INFINITY;
  const emit = (text: string): string => {
    const piece = cut(text, budget);
    budget -= Buffer.byteLength(piece);
    return piece;
  };
  let next = instance.lines.length;
  const first = selected(instance, query, now).join('');
  if (first) yield emit(first);
  let wake: (() => void) | undefined;
  const stop = instance.follow(() => wake?.());
  const aborted = () => wake?.();
  signal.addEventListener('abort', aborted, { once: true });
  try {
    while (budget > 0 && !signal.aborted) {
      if (next < instance.lines.length) {
        const text = instance.lines
          .slice(next)
          .map((line) => format(line, query))
          .join('');
        next = instance.lines.length;
        yield emit(text);
        continue;
      }
      if (instance.ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    stop();
    signal.removeEventListener('abort', aborted);
  }
}
