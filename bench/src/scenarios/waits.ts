// Many waits: N concurrent waits for pods of one namespace to leave Pending, against the fake API server
// in its own process (manual mode, a fresh server per measurement), over plain HTTP and over TLS (where
// podstorage's undici negotiates HTTP/2). Once every wait is armed:
// - latency probes: the server flips one pod to Running, and the next only once that pod's wait has
//   resolved, `latencyProbes` times: change → resolved with every other wait still armed, without a
//   queue of other changes in front of it (the p99 goals);
// - the burst: the server flips every other pod (a few per macrotask, timing each change): total time
//   (arming plus the burst) and the latency under that load.
// A latency is the wait's resolution time minus its pod's change time (one monotonic clock for both
// processes).
import { TLS_WAIT_CANDIDATES, WAIT_CANDIDATES, type WaitCandidate } from '../candidates.ts';
import type { ServerCounts } from '../children/fake-server.ts';
import type { WaitsResult } from '../children/waits-client.ts';
import { cpuTimes, leastStolen, stealPercent } from '../host.ts';
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
  /** Of the total: until every wait was armed. */
  armMs: number;
  /** How long the server took to make the burst's changes (it writes each to the watch as it makes it). */
  serverFlipMs: number;
  /** Median and p99 of the latency probes (one change at a time). */
  p50Ms: number;
  p99Ms: number;
  /** The host's share of the machine's CPU time while the probes ran, in percent (NaN: unknown). */
  stealPercent: number;
  /** p99 of the burst's changes. */
  burstP99Ms: number;
  peakRssMiB: number;
  cpuMs: number;
  requests: number;
  nonListRequests: number;
  connections: number;
  peakConnections: number;
}

/** One measurement: a fresh fake server with `waits` pods, one candidate in its own process. */
async function measure(candidate: WaitCandidate, waits: number, settings: Settings): Promise<Measured> {
  return withChild(
    FAKE_SERVER,
    async (server) => {
      const { url, namespace } = await server.call<{ url: string; namespace: string }>('start', {
        pods: waits,
        tls: TLS_WAIT_CANDIDATES.includes(candidate),
      });
      await server.call('resetCounts');
      const client = await startChild(WAITS_CLIENT, { execArgv: ['--expose-gc'] });
      try {
        await client.call('arm', { candidate, url, namespace, waits });
        const probes = Math.max(1, Math.min(settings.latencyProbes, Math.floor(waits / 2)));
        const probeLatencies: number[] = [];
        const beforeProbes = cpuTimes();
        for (let index = 0; index < probes; index++) {
          const changedAt = await server.call<number>('flipOne', { index });
          probeLatencies.push((await client.call<number>('resolved', { index })) - changedAt);
        }
        const stolen = stealPercent(beforeProbes, cpuTimes());
        await client.call('probesDone');
        const [flippedAt, result] = await Promise.all([
          server.call<number[]>('flip', { batch: FLIP_BATCH, from: probes }),
          client.call<WaitsResult>('finish'),
        ]);
        const counts = await server.call<ServerCounts>('counts');
        const burstLatencies = result.resolvedAt
          .slice(probes)
          .map((at, index) => at - (flippedAt[probes + index] as number));
        return {
          totalMs: result.totalMs,
          armMs: result.armMs,
          serverFlipMs: Math.max(...flippedAt.slice(probes)) - Math.min(...flippedAt.slice(probes)),
          p50Ms: percentile(probeLatencies, 50),
          p99Ms: percentile(probeLatencies, 99),
          stealPercent: stolen,
          burstP99Ms: percentile(burstLatencies, 99),
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
    },
    { execArgv: ['--expose-gc'] },
  );
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
    const repeated = new Map<WaitCandidate, number>();
    for (let run = 0; run < settings.runs; run++) {
      for (const candidate of alternate(candidates, run)) {
        if (failures.has(candidate)) continue;
        const label = `waits ${fmt(waits)}, run ${run + 1}/${settings.runs}, ${candidate}`;
        try {
          // A probe that waited for a CPU the host had taken measures the host: measured again.
          const { measured, repeats } = await leastStolen(
            () => measure(candidate, waits, settings),
            settings.stealLimitPercent,
            settings.stealRepeats,
            (stolen) =>
              progress(`${label}: the host took ${fmt(stolen, 1)} % of the CPU during the probes, again`),
          );
          results.get(candidate)?.push(measured);
          repeated.set(candidate, (repeated.get(candidate) ?? 0) + repeats);
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
        armMs: pick('armMs'),
        serverFlipMs: pick('serverFlipMs'),
        p50Ms: pick('p50Ms'),
        p99Ms: pick('p99Ms'),
        stealPercent: pick('stealPercent'),
        burstP99Ms: pick('burstP99Ms'),
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
    const oursTls = summary.get('podstorage (undici, HTTP/2 over TLS)');
    const informerTls = summary.get('client-node informer (TLS)');
    // Each candidate against the informer over the same protocol.
    const baselineOf = (name: WaitCandidate) => (TLS_WAIT_CANDIDATES.includes(name) ? informerTls : informer);
    lines.push(
      `${fmt(waits)} waits, median of ${settings.runs} run(s), a fresh server and client process each:`,
      ...table(
        [
          'candidate',
          'total ms',
          'vs informer',
          'armed after ms',
          'server flipped in ms',
          'p50 / p99 change→resolved ms',
          'p99 in the burst ms',
          'host steal % (again)',
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
            // The rest of the row stays empty: one cell per column after the first two.
            return [name, `did not finish: ${why}`.slice(0, 60), ...Array<string>(13).fill('')];
          }
          const baseline = baselineOf(name);
          return [
            name,
            fmt(entry.totalMs),
            ratio(entry.totalMs, baseline?.totalMs ?? Number.NaN),
            fmt(entry.armMs),
            fmt(entry.serverFlipMs),
            `${fmt(entry.p50Ms, 2)} / ${fmt(entry.p99Ms, 2)}`,
            fmt(entry.burstP99Ms, 2),
            `${fmt(entry.stealPercent, 1)} (${repeated.get(name) ?? 0})`,
            fmt(entry.peakRssMiB),
            ratio(entry.peakRssMiB, baseline?.peakRssMiB ?? Number.NaN),
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
    const pairs = [
      { label: '', ours, baseline: informer, name: 'podstorage (undici)' as const },
      {
        label: ' over TLS (HTTP/2)',
        ours: oursTls,
        baseline: informerTls,
        name: 'podstorage (undici, HTTP/2 over TLS)' as const,
      },
    ];
    for (const pair of pairs) {
      if (pair.ours === undefined || pair.baseline === undefined) {
        const reason =
          failures.get(pair.name) ??
          failures.get(pair.label === '' ? 'client-node informer' : 'client-node informer (TLS)') ??
          'not run';
        goals.push({ goal: `${fmt(waits)} waits${pair.label}`, reason });
        continue;
      }
      if (waits >= 10_000 || waits === Math.max(...settings.waits)) {
        // Over TLS the burst lasts as long as the server takes to write its changes, and it writes
        // HTTP/2 frames (to podstorage) more slowly than HTTP/1.1 chunks (to client-node): a total
        // bounded by the server is no goal of a client (the table shows it, and the server's time).
        if (pair.label === '') {
          goals.push({
            goal: `${fmt(waits)} waits: total time ≤ informer's`,
            measured: pair.ours.totalMs,
            unit: 'ms',
            target: pair.baseline.totalMs,
            targetNote: 'informer',
          });
        }
        goals.push(
          {
            goal: `${fmt(waits)} waits${pair.label}: peak RSS ≤ informer's`,
            measured: pair.ours.peakRssMiB,
            unit: 'MiB',
            target: pair.baseline.peakRssMiB,
            targetNote: 'informer',
          },
          {
            goal: `${fmt(waits)} waits${pair.label}: connections open at once ≤ ~3`,
            measured: pair.ours.peakConnections,
            unit: 'conn',
            target: 3,
          },
        );
      }
      goals.push({
        // Said where the host kept taking the CPU through every repeat: the figure is the host's too.
        goal: `${fmt(waits)} waits${pair.label}: p99 phase change → resolved${
          pair.ours.stealPercent > settings.stealLimitPercent
            ? ` (host steal ${fmt(pair.ours.stealPercent, 1)} %)`
            : ''
        }`,
        measured: pair.ours.p99Ms,
        unit: 'ms',
        target: waits >= 10_000 ? 5 : 2,
      });
    }
    if (ours !== undefined) nonListBySize.set(waits, ours.nonListRequests);
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
