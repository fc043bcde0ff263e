// The fake API server's list cost: a full paged list at two store sizes, in one child process.
import { withChild } from '../processes.ts';
import { fmt, type Goal, median, ratio, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const FAKE_LIST = new URL('../children/fake-list.ts', import.meta.url);

/** Runs the fake-list scenario. */
export async function fakeListScenario(settings: Settings): Promise<ScenarioReport> {
  const [small, large] = settings.listPods;
  type Run = { ms: number; gcMs: number };
  const { smallRuns, largeRuns } = await withChild(FAKE_LIST, (child) =>
    child.call<{ smallRuns: Run[]; largeRuns: Run[] }>('run', { small, large, runs: settings.runs }),
  );
  const smallMedian = median(smallRuns.map((run) => run.ms));
  const largeMedian = median(largeRuns.map((run) => run.ms));
  const smallGc = median(smallRuns.map((run) => run.gcMs));
  const largeGc = median(largeRuns.map((run) => run.gcMs));
  const bound = 5.5 * (large / small / 5);
  const lines = [
    `A full list, 500 a page, of FakeCluster.listPods in-process, median of ${settings.runs} run(s):`,
    ...table(
      ['pods', 'full list CPU ms', 'CPU µs per pod', 'vs smaller', 'GC pauses ms', 'without GC vs smaller'],
      [
        [fmt(small), fmt(smallMedian, 1), fmt((smallMedian * 1000) / small, 1), '', fmt(smallGc, 1), ''],
        [
          fmt(large),
          fmt(largeMedian, 1),
          fmt((largeMedian * 1000) / large, 1),
          ratio(largeMedian, smallMedian),
          fmt(largeGc, 1),
          ratio(largeMedian - largeGc, smallMedian - smallGc),
        ],
      ],
    ),
  ];
  const goals: Goal[] = [
    {
      goal: `fake: list of ${fmt(large)} pods vs ${fmt(small)} (CPU time ratio)`,
      measured: largeMedian / smallMedian,
      unit: '×',
      target: bound,
      targetNote: large === 5 * small ? undefined : '5.5× per 5× pods',
    },
  ];
  return { title: 'Fake API server list cost', lines, goals, figures: { smallRuns, largeRuns } };
}
