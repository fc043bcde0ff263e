// The benchmark at a tiny size, so its code cannot rot: every scenario runs (servers and clients in
// their own processes, as in `pnpm bench`), every candidate finishes, and every goal gets a number.
// What the numbers are is not checked here: that is what `pnpm bench` is for.
import { describe, expect, it } from 'vitest';
import { runBench } from './main.ts';
import { goalTable } from './report.ts';
import { SCENARIOS, type Settings } from './settings.ts';

const TINY: Settings = {
  runs: 1,
  decodeEvents: 40,
  decodeRounds: 1,
  waits: [4, 6],
  perWaitMax: 6,
  latencyProbes: 2,
  // No repeats for a disturbed host: host.test.ts covers them, and the smoke test must not take longer.
  stealLimitPercent: 100,
  stealRepeats: 0,
  eventIterators: 4,
  storePods: 30,
  listPods: [20, 100],
  only: new Set(SCENARIOS),
};

describe('pnpm bench at a tiny size', () => {
  it('runs every scenario and measures every goal', { timeout: 600_000 }, async () => {
    const reports = await runBench(TINY, false);
    expect(reports.map((report) => report.title)).toEqual([
      'Decode (static server)',
      'Many waits (fake API server)',
      'eventsForPod (fake API server)',
      'Store memory (static server)',
      'Fake API server list cost',
    ]);
    const goals = reports.flatMap((report) => report.goals);
    const missing = goals.filter((goal) => 'reason' in goal);
    expect(missing, goalTable(missing).join('\n')).toEqual([]);
    for (const goal of goals) {
      if ('reason' in goal) continue;
      expect(Number.isFinite(goal.measured), goal.goal).toBe(true);
      expect(Number.isFinite(goal.target), goal.goal).toBe(true);
    }
    // Every candidate of every table finished (a row that did not finish says so).
    const lines = reports.flatMap((report) => report.lines);
    expect(lines.filter((line) => line.includes('did not finish'))).toEqual([]);
    expect(goalTable(goals).length).toBe(goals.length + 2);
  });
});
