// eventsForPod: N concurrent iterators in one namespace against the fake API server (its own
// process). Each pod has one event before; once every iterator has yielded it, the server records one
// new event per pod. Counts watch requests, lists and connections on the server's side.
import type { ServerCounts } from '../children/fake-server.ts';
import { startChild, withChild } from '../processes.ts';
import { fmt, type Goal, median, percentile, progress, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const FAKE_SERVER = new URL('../children/fake-server.ts', import.meta.url);
const EVENTS_CLIENT = new URL('../children/events-client.ts', import.meta.url);
const MARKER = 'bench: new event';

interface Measured {
  armMs: number;
  totalMs: number;
  p99Ms: number;
  counts: ServerCounts;
  peakRssMiB: number;
}

async function measure(iterators: number): Promise<Measured> {
  return withChild(
    FAKE_SERVER,
    async (server) => {
      const { url, namespace } = await server.call<{ url: string; namespace: string }>('start', {
        pods: iterators,
        eventsPerPod: 1,
      });
      await server.call('resetCounts');
      const client = await startChild(EVENTS_CLIENT);
      try {
        const armMs = await client.call<number>('arm', { url, namespace, iterators, marker: MARKER });
        const [recordedAt, result] = await Promise.all([
          server.call<number[]>('recordEvents', { batch: 10, message: MARKER }),
          client.call<{ totalMs: number; newAt: number[]; peakRssMiB: number }>('finish'),
        ]);
        const counts = await server.call<ServerCounts>('counts');
        const latencies = result.newAt.map((at, index) => at - (recordedAt[index] as number));
        return {
          armMs,
          totalMs: result.totalMs,
          p99Ms: percentile(latencies, 99),
          counts,
          peakRssMiB: result.peakRssMiB,
        };
      } finally {
        await client.stop();
      }
    },
    { execArgv: ['--expose-gc'] },
  );
}

/** Runs the eventsForPod scenario. */
export async function eventsScenario(settings: Settings): Promise<ScenarioReport> {
  const iterators = settings.eventIterators;
  const runs: Measured[] = [];
  for (let run = 0; run < settings.runs; run++) {
    runs.push(await measure(iterators));
    progress(`eventsForPod, run ${run + 1}/${settings.runs}: ${fmt(runs[run]?.totalMs ?? Number.NaN)} ms`);
  }
  const pick = (read: (entry: Measured) => number) => median(runs.map(read));
  const summary = {
    armMs: pick((entry) => entry.armMs),
    totalMs: pick((entry) => entry.totalMs),
    p99Ms: pick((entry) => entry.p99Ms),
    requests: pick((entry) => entry.counts.requests),
    lists: pick((entry) => entry.counts.lists),
    gets: pick((entry) => entry.counts.gets),
    watches: pick((entry) => entry.counts.watches),
    peakWatches: pick((entry) => entry.counts.peakWatches),
    connections: pick((entry) => entry.counts.connections),
    peakRssMiB: pick((entry) => entry.peakRssMiB),
  };
  const lines = [
    `${fmt(iterators)} concurrent eventsForPod iterators in one namespace, median of ${settings.runs} run(s):`,
    ...table(
      [
        'iterators',
        'all existing events ms',
        'total ms',
        'p99 new event ms',
        'requests',
        'lists',
        'gets',
        'watch requests',
        'watches open at once',
        'connections',
        'peak RSS MiB',
      ],
      [
        [
          fmt(iterators),
          fmt(summary.armMs),
          fmt(summary.totalMs),
          fmt(summary.p99Ms, 2),
          fmt(summary.requests),
          fmt(summary.lists),
          fmt(summary.gets),
          fmt(summary.watches),
          fmt(summary.peakWatches),
          fmt(summary.connections),
          fmt(summary.peakRssMiB),
        ],
      ],
    ),
  ];
  const goals: Goal[] = [
    {
      goal: `${fmt(iterators)} eventsForPod: watch connections`,
      measured: summary.peakWatches,
      unit: 'watches',
      target: 3,
    },
    {
      goal: `${fmt(iterators)} eventsForPod: no per-iterator list (list requests)`,
      measured: summary.lists,
      unit: 'lists',
      // The namespace's pods and its events may each be listed once, in pages of 500, plus a relist.
      target: 2 * Math.ceil(iterators / 500) + 2,
      targetNote: 'pods + events paged once, + 2',
    },
  ];
  return { title: 'eventsForPod (fake API server)', lines, goals, figures: summary };
}
