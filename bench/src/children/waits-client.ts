// One many-waits candidate in its own process: arms `waits` waits for pods of the namespace to leave
// Pending (`arm` resolves once every wait is armed); `resolved` answers when one wait has resolved (the
// latency probes, one change at a time); `finish` resolves when all have resolved, with the time each
// resolved (monotonic ms, comparable with the server's flip times), the total time (arming and the
// burst, not the probes) and this process's peak RSS and CPU time. An https URL is HTTP/2 over TLS for
// podstorage (undici offers h2 by ALPN) and HTTP/1.1 over TLS for client-node.
import type { V1Pod } from '@kubernetes/client-node';
import { createPodStorage, type ManagedPodStorage, type PodPhase } from '@podstorage/core';
import { createUndiciTransport, type UndiciTransport } from '@podstorage/undici';
import { Agent, request } from 'undici';
import type { WaitCandidate } from '../candidates.ts';
import { kubeconfigFor, podName } from '../pods.ts';
import { collectGarbage, cpuMs, monotonicMs, peakRssMiB, serveCalls } from '../processes.ts';

interface ArmOptions {
  readonly candidate: WaitCandidate;
  readonly url: string;
  readonly namespace: string;
  readonly waits: number;
}

/** What `finish` reports. */
export interface WaitsResult {
  readonly totalMs: number;
  readonly armMs: number;
  readonly resolvedAt: number[];
  readonly peakRssMiB: number;
  readonly cpuMs: number;
}

const TIMEOUT_MS = 300_000;

let started = 0;
let armedAt = 0;
let cpuStart: NodeJS.CpuUsage | undefined;
let all: Promise<unknown> = Promise.resolve();
let resolvedAt: number[] = [];
/** Time spent in latency probes (one change at a time), left out of the total. */
let probesMs = 0;
/** Callers of `resolved` waiting for a wait, by pod index. */
const resolvedWaiters = new Map<number, () => void>();

/** Records that the wait for pod `index` resolved, now. */
function markResolved(index: number): void {
  resolvedAt[index] = monotonicMs();
  resolvedWaiters.get(index)?.();
  resolvedWaiters.delete(index);
}
let cleanup: () => Promise<void> = async () => {};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `condition` has held at two polls in a row (10 ms apart), or fails after `boundMs`. */
async function settled(what: string, condition: () => boolean, boundMs = TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + boundMs;
  let held = 0;
  while (held < 2) {
    if (performance.now() > deadline) throw new Error(`bench: ${what} did not happen within ${boundMs} ms`);
    await pause(10);
    held = condition() ? held + 1 : 0;
  }
}

/** podstorage as its README shows: one storage, `waitForPhase` per pod. */
async function armPodStorage(options: ArmOptions): Promise<void> {
  const transport: UndiciTransport = createUndiciTransport({ kubeconfig: kubeconfigFor(options.url) });
  const storage: ManagedPodStorage = createPodStorage(transport);
  const waits: Promise<PodPhase | null>[] = [];
  for (let index = 0; index < options.waits; index++) {
    waits.push(
      storage
        .waitForPhase(podName(index), options.namespace, TIMEOUT_MS, { untilNot: ['Pending'] })
        .then((phase) => {
          markResolved(index);
          if (phase !== 'Running') throw new Error(`${podName(index)} ended ${phase}, expected Running`);
          return phase;
        }),
    );
  }
  all = Promise.all(waits);
  all.catch(() => {});
  cleanup = async () => {
    await storage.close();
    await transport.close();
  };
  // Armed: the shared watch runs and no read or list is in flight any more.
  await settled('arming the waits', () => {
    const stats = transport.stats();
    return storage.counters().watchesActive > 0 && stats.requests === stats.watches;
  });
}

/** client-node, for the candidates that use it: loaded by `prepare`, so only their RSS carries it. */
let clientNode: typeof import('@kubernetes/client-node') | undefined;

/**
 * Before the clock starts, the same for every candidate: its modules are loaded and the heap is
 * collected. So neither an import nor what a fresh process built while starting is charged to the
 * waits: the first minor collection after arming copies every object still young, and a process that
 * has just loaded its modules holds megabytes of them (a 10–20 ms pause in the first probes).
 */
async function prepare(candidate: WaitCandidate): Promise<void> {
  if (candidate.startsWith('client-node informer')) clientNode = await import('@kubernetes/client-node');
  collectGarbage('the many-waits client');
}

/** What a user writes instead: one client-node informer on the namespace, feeding their own promises. */
async function armInformer(options: ArmOptions): Promise<void> {
  if (clientNode === undefined) throw new Error('bench: client-node was not loaded');
  const { CoreV1Api, KubeConfig, makeInformer } = clientNode;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfigFor(options.url));
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const waiting = new Map<string, { index: number; resolve(): void }>();
  const waits: Promise<void>[] = [];
  for (let index = 0; index < options.waits; index++) {
    waits.push(new Promise<void>((resolve) => waiting.set(podName(index), { index, resolve })));
  }
  const check = (pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const wait = waiting.get(name);
    if (wait === undefined || (pod.status?.phase ?? 'Pending') === 'Pending') return;
    waiting.delete(name);
    markResolved(wait.index);
    wait.resolve();
  };
  const informer = makeInformer(kubeConfig, `/api/v1/namespaces/${options.namespace}/pods`, () =>
    api.listNamespacedPod({ namespace: options.namespace }),
  );
  informer.on('add', check);
  informer.on('update', check);
  let stopped = false;
  informer.on('error', (error: unknown) => {
    if (!stopped) process.stderr.write(`bench: informer error: ${String(error)}\n`);
  });
  await informer.start();
  for (const pod of informer.list()) check(pod);
  all = Promise.all(waits);
  cleanup = async () => {
    stopped = true;
    await informer.stop();
  };
}

/**
 * The one-watch-per-wait design (the seed's): each wait opens its own field-selected watch of its pod,
 * over raw undici (no connection limit: a watch holds its connection), and parses its own lines.
 */
async function armPerWait(options: ArmOptions): Promise<void> {
  const agent = new Agent({ connections: null, pipelining: 0 });
  const controller = new AbortController();
  const opened: Promise<void>[] = [];
  const waits: Promise<void>[] = [];
  for (let index = 0; index < options.waits; index++) {
    const selector = encodeURIComponent(`metadata.name=${podName(index)}`);
    const path = `/api/v1/namespaces/${options.namespace}/pods?watch=true&fieldSelector=${selector}`;
    const response = request(`${options.url}${path}`, { dispatcher: agent, signal: controller.signal });
    opened.push(response.then(() => {}));
    waits.push(
      response.then(async ({ body, statusCode }) => {
        if (statusCode !== 200) throw new Error(`watch of ${podName(index)} answered ${statusCode}`);
        let partial = '';
        for await (const chunk of body as AsyncIterable<Buffer>) {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (line === '') continue;
            const event = JSON.parse(line) as { object?: V1Pod };
            if ((event.object?.status?.phase ?? 'Pending') !== 'Pending') {
              markResolved(index);
              body.destroy();
              return;
            }
          }
        }
        throw new Error(`watch of ${podName(index)} ended before the pod left Pending`);
      }),
    );
  }
  all = Promise.all(waits);
  all.catch(() => {});
  cleanup = async () => {
    controller.abort();
    await agent.destroy();
  };
  await Promise.all(opened);
}

serveCalls({
  arm: async (options: ArmOptions) => {
    resolvedAt = new Array(options.waits).fill(Number.NaN);
    probesMs = 0;
    await prepare(options.candidate);
    cpuStart = process.cpuUsage();
    started = monotonicMs();
    if (options.candidate.startsWith('podstorage')) await armPodStorage(options);
    else if (options.candidate.startsWith('client-node informer')) await armInformer(options);
    else await armPerWait(options);
    armedAt = monotonicMs();
    return armedAt - started;
  },
  /** Resolves with the time the wait for pod `index` resolved, once it has. */
  resolved: (options: { index: number }): Promise<number> => {
    const at = resolvedAt[options.index] as number;
    if (!Number.isNaN(at)) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench: the wait for ${podName(options.index)} did not resolve`)),
        TIMEOUT_MS,
      );
      resolvedWaiters.set(options.index, () => {
        clearTimeout(timer);
        resolve(resolvedAt[options.index] as number);
      });
    });
  },
  /** The latency probes are over: their time is not part of the total. */
  probesDone: () => {
    probesMs = monotonicMs() - armedAt;
    return probesMs;
  },
  finish: async (): Promise<WaitsResult> => {
    await all;
    const last = Math.max(...resolvedAt);
    const result = {
      totalMs: last - started - probesMs,
      armMs: armedAt - started,
      resolvedAt,
      peakRssMiB: peakRssMiB(),
      cpuMs: cpuMs(cpuStart),
    };
    await cleanup();
    return result;
  },
});
