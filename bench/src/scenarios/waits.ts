// Many waits: N concurrent waits for pods of one namespace to leave Pending, over undici against the
// fake API server in its own process (manual mode, a fresh server per measurement). Once every wait is
// armed, the server flips every pod to Running (a few per macrotask, timing each change); each wait's
// latency is its resolution time minus its pod's change time (one monotonic clock for both processes).
import { WAIT_CANDIDATES, type WaitCandidate } from '../candidates.ts';
import type { ServerCounts } from '../children/fake-server.ts';
import type { WaitsResult } from '../children/waits-client.ts';
import { startChild, withChild } from '../processes.ts';
import {
  alternate,
  fmt,
  type Goal,
  type MissingGoal,
  median,
  percentile,
  progress,
  ratio,
  type ScenarioReport,
  table,
} from '../report.ts';
import type { Settings } from '../settings.ts';

const FAKE_SERVER = new URL('../children/fake-server.ts', import.meta.url);
const WAITS_CLIENT = new URL('../children/waits-client.ts', import.meta.url);

/** Pods the server flips per macrotask: small, so a change is on the wire soon after it is made. */
const FLIP_BATCH = 10;

interface Measured {
  totalMs: number;
  p99Ms: number;
  peakRssMiB: number;
  cpuMs: number;
  requests: number;
  nonListRequests: number;
  connections: number;
  peakConnections: number;
}

/** One measurement: a fresh fake server with `waits` pods, one candidate in its own process. */
async function measure(candidate: WaitCandidate, waits: number): Promise<Measured> {
  return withChild(FAKE_SERVER, async (server) => {
    const { url, namespace } = await server.call<{ url: string; namespace: string }>('start', {
      pods: waits,
    });
    await server.call('resetCounts');
    const client = await startChild(WAITS_CLIENT);
    try {
      await client.call('arm', { candidate, url, namespace, waits });
      const [flippedAt, result] = await Promise.all([
        server.call<number[]>('flip', { batch: FLIP_BATCH }),
        client.call<WaitsResult>('finish'),
      ]);
      const counts = await server.call<ServerCounts>('counts');
      const latencies = result.resolvedAt.map((at, index) => at - (flippedAt[index] as number));
      return {
        totalMs: result.totalMs,
        p99Ms: percentile(latencies, 99),
        peakRssMiB: result.peakRssMiB,
        cpuMs: result.cpuMs,
        requests: counts.requests,
        nonListRequests: counts.requests - counts.lists,
        connections: counts.connections,
        peakConnections: counts.peakConnections,
      };
    } finally {
      await client.stop();
    }
  });
}

/** Runs the many-waits scenario at every size of `settings.waits`. */
export async function waitsScenario(settings: Settings): Promise<ScenarioReport> {
  const lines: string[] = [];
  const goals: (Goal | MissingGoal)[] = [];
  const figures: Record<string, unknown> = {};
  const nonListBySize = new Map<number, number>();
  for (const waits of settings.waits) {
    const candidates = WAIT_CANDIDATES.filter(
      (candidate) => candidate !== 'one watch per wait' || waits <= settings.perWaitMax,
    );
    const results = new Map<WaitCandidate, Measured[]>(candidates.map((name) => [name, []]));
    const failures = new Map<WaitCandidate, string>();
    for (let run = 0; run < settings.runs; run++) {
      for (const candidate of alternate(candidates, run)) {
        if (failures.has(candidate)) continue;
        const label = `waits ${fmt(waits)}, run ${run + 1}/${settings.runs}, ${candidate}`;
        try {
          const measured = await measure(candidate, waits);
          results.get(candidate)?.push(measured);
          progress(`${label}: ${fmt(measured.totalMs)} ms`);
        } catch (error) {
          failures.set(
            candidate,
            error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
          );
          progress(`${label}: failed (${failures.get(candidate)})`);
        }
      }
    }
    const summary = new Map<WaitCandidate, Measured>();
    for (const [name, list] of results) {
      if (list.length === 0) continue;
      const pick = (key: keyof Measured) => median(list.map((entry) => entry[key]));
      summary.set(name, {
        totalMs: pick('totalMs'),
        p99Ms: pick('p99Ms'),
        peakRssMiB: pick('peakRssMiB'),
        cpuMs: pick('cpuMs'),
        requests: pick('requests'),
        nonListRequests: pick('nonListRequests'),
        connections: pick('connections'),
        peakConnections: pick('peakConnections'),
      });
    }
    figures[String(waits)] = Object.fromEntries(summary);
    const informer = summary.get('client-node informer');
    const ours = summary.get('podstorage (undici)');
    lines.push(
      `${fmt(waits)} waits, median of ${settings.runs} run(s), a fresh server and client process each:`,
      ...table(
        [
          'candidate',
          'total ms',
          'vs informer',
          'p99 change→resolved ms',
          'peak RSS MiB',
          'vs informer',
          'client CPU ms',
          'requests',
          'non-list requests',
          'connections',
          'at once',
        ],
        WAIT_CANDIDATES.map((name) => {
          const entry = summary.get(name);
          if (entry === undefined) {
            const why = failures.get(name) ?? `skipped above BENCH_PER_WAIT_MAX=${settings.perWaitMax}`;
            return [name, `did not finish: ${why}`.slice(0, 60), '', '', '', '', '', '', '', '', ''];
          }
          return [
            name,
            fmt(entry.totalMs),
            ratio(entry.totalMs, informer?.totalMs ?? Number.NaN),
            fmt(entry.p99Ms, 2),
            fmt(entry.peakRssMiB),
            ratio(entry.peakRssMiB, informer?.peakRssMiB ?? Number.NaN),
            fmt(entry.cpuMs),
            fmt(entry.requests),
            fmt(entry.nonListRequests),
            fmt(entry.connections),
            fmt(entry.peakConnections),
          ];
        }),
      ),
      '',
    );
    if (ours === undefined || informer === undefined) {
      const reason = failures.get('podstorage (undici)') ?? failures.get('client-node informer') ?? 'not run';
      goals.push({ goal: `${fmt(waits)} waits`, reason });
      continue;
    }
    nonListBySize.set(waits, ours.nonListRequests);
    if (waits >= 10_000 || waits === Math.max(...settings.waits)) {
      goals.push(
        {
          goal: `${fmt(waits)} waits: total time ≤ informer's`,
          measured: ours.totalMs,
          unit: 'ms',
          target: informer.totalMs,
          targetNote: 'informer',
        },
        {
          goal: `${fmt(waits)} waits: peak RSS ≤ informer's`,
          measured: ours.peakRssMiB,
          unit: 'MiB',
          target: informer.peakRssMiB,
          targetNote: 'informer',
        },
        {
          goal: `${fmt(waits)} waits: connections open at once ≤ ~3`,
          measured: ours.peakConnections,
          unit: 'conn',
          target: 3,
        },
      );
    }
    goals.push({
      goal: `${fmt(waits)} waits: p99 phase change → resolved`,
      measured: ours.p99Ms,
      unit: 'ms',
      target: waits >= 10_000 ? 5 : 2,
    });
  }
  // Requests other than list pages must not grow with the number of waits.
  const sizes = [...nonListBySize.keys()].sort((a, b) => a - b);
  if (sizes.length >= 2) {
    const smallest = sizes[0] as number;
    const largest = sizes[sizes.length - 1] as number;
    goals.push({
      goal: `non-list requests do not grow: ${fmt(largest)} waits vs ${fmt(smallest)}`,
      measured: nonListBySize.get(largest) as number,
      unit: 'req',
      target: (nonListBySize.get(smallest) as number) + 2,
      targetNote: `${fmt(smallest)} waits + 2`,
    });
  }
  return { title: 'Many waits (fake API server)', lines, goals, figures };
}
