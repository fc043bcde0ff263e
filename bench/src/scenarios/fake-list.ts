// The fake API server's list cost: a full paged list at two store sizes, in one child process.
import { withChild } from '../processes.ts';
import { fmt, type Goal, median, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const FAKE_LIST = new URL('../children/fake-list.ts', import.meta.url);

/** Runs the fake-list scenario. */
export async function fakeListScenario(settings: Settings): Promise<ScenarioReport> {
  const [small, large] = settings.listPods;
  type Run = { smallMs: number; largeMs: number; gcMs: number };
  const { runs } = await withChild(FAKE_LIST, (child) =>
    child.call<{ runs: Run[] }>('run', { small, large, runs: settings.runs }),
  );
  const smallMedian = median(runs.map((run) => run.smallMs));
  const largeMedian = median(runs.map((run) => run.largeMs));
  // The ratio of each pass (its two lists saw the same machine), then the median of the passes.
  const ratioMedian = median(runs.map((run) => run.largeMs / run.smallMs));
  const bound = 5.5 * (large / small / 5);
  const lines = [
    `A full list, 500 a page, of FakeCluster.listPods in-process, both sizes' pages interleaved in each of ${settings.runs} pass(es), median:`,
    ...table(
      ['pods', 'full list CPU ms', 'CPU µs per pod', 'vs smaller (per pass)'],
      [
        [fmt(small), fmt(smallMedian, 1), fmt((smallMedian * 1000) / small, 1), ''],
        [fmt(large), fmt(largeMedian, 1), fmt((largeMedian * 1000) / large, 1), `${fmt(ratioMedian, 2)}×`],
      ],
    ),
    `GC pauses per pass (both lists): ${fmt(median(runs.map((run) => run.gcMs)), 1)} ms`,
  ];
  const goals: Goal[] = [
    {
      goal: `fake: list of ${fmt(large)} pods vs ${fmt(small)} (CPU time ratio)`,
      measured: ratioMedian,
      unit: '×',
      target: bound,
      targetNote: large === 5 * small ? undefined : '5.5× per 5× pods',
    },
  ];
  return { title: 'Fake API server list cost', lines, goals, figures: { runs } };
}
