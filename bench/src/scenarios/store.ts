// Store memory: the retained heap of a namespace-wide watch of many realistic pods (with
// managedFields), listed in pages from the static server, each candidate in a fresh --expose-gc process.
import { STORE_CANDIDATES, type StoreCandidate } from '../candidates.ts';
import { withChild } from '../processes.ts';
import { alternate, fmt, type Goal, median, progress, ratio, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const STATIC_SERVER = new URL('../children/static-server.ts', import.meta.url);
const STORE_CLIENT = new URL('../children/store-client.ts', import.meta.url);

/** The bound for 50,000 pods, scaled to the pods measured. */
const TARGET_MIB_PER_50K = 25;

/** Runs the store-memory scenario. */
export async function storeScenario(settings: Settings): Promise<ScenarioReport> {
  const pods = settings.storePods;
  return withChild(STATIC_SERVER, async (server) => {
    const { url } = await server.call<{ url: string }>('start', { events: 0, pods });
    const results = new Map<StoreCandidate, { retainedMiB: number; peakRssMiB: number }[]>(
      STORE_CANDIDATES.map((name) => [name, []]),
    );
    for (let run = 0; run < settings.runs; run++) {
      for (const candidate of alternate(STORE_CANDIDATES, run)) {
        const outcome = await withChild(
          STORE_CLIENT,
          (client) =>
            client.call<{ retainedMiB: number; peakRssMiB: number }>('run', {
              candidate,
              url,
              namespace: 'bench',
              pods,
            }),
          { execArgv: ['--expose-gc'] },
        );
        results.get(candidate)?.push(outcome);
        progress(`store, run ${run + 1}/${settings.runs}, ${candidate}: ${fmt(outcome.retainedMiB, 1)} MiB`);
      }
    }
    const summary = new Map(
      [...results].map(([name, list]) => [
        name,
        {
          retainedMiB: median(list.map((entry) => entry.retainedMiB)),
          peakRssMiB: median(list.map((entry) => entry.peakRssMiB)),
        },
      ]),
    );
    const whole = summary.get('whole parsed pods (Map)')?.retainedMiB ?? Number.NaN;
    const ours = summary.get('podstorage namespace watch')?.retainedMiB ?? Number.NaN;
    const lines = [
      `${fmt(pods)} realistic pods with managedFields, listed 500 a page; retained heap after a full GC, median of ${settings.runs} run(s):`,
      ...table(
        ['candidate', 'retained MiB', 'bytes/pod', 'vs whole pods', 'peak RSS MiB'],
        [...summary].map(([name, entry]) => [
          name,
          fmt(entry.retainedMiB, 1),
          fmt((entry.retainedMiB * 1_048_576) / pods),
          ratio(entry.retainedMiB, whole),
          fmt(entry.peakRssMiB),
        ]),
      ),
    ];
    const goals: Goal[] = [
      {
        goal: `store: namespace watch of ${fmt(pods)} pods, retained heap`,
        measured: ours,
        unit: 'MiB',
        target: (TARGET_MIB_PER_50K * pods) / 50_000,
        targetNote: pods === 50_000 ? undefined : '25 MiB per 50k',
      },
    ];
    return { title: 'Store memory (static server)', lines, goals, figures: Object.fromEntries(summary) };
  });
}
