// `pnpm bench`: every scenario side by side with its baselines in one run, then the goals with
// their measured values, targets, ratios and PASS/MISS. Sizes come from the environment (settings.ts).
import { cpus } from 'node:os';
import { goalTable, passed, type ScenarioReport, setProgress } from './report.ts';
import { decodeScenario } from './scenarios/decode.ts';
import { eventsScenario } from './scenarios/events.ts';
import { fakeListScenario } from './scenarios/fake-list.ts';
import { storeScenario } from './scenarios/store.ts';
import { waitsScenario } from './scenarios/waits.ts';
import { type ScenarioName, type Settings, settingsFromEnvironment } from './settings.ts';

const RUNNERS: Record<ScenarioName, (settings: Settings) => Promise<ScenarioReport>> = {
  decode: decodeScenario,
  waits: waitsScenario,
  events: eventsScenario,
  store: storeScenario,
  list: fakeListScenario,
};

/** Runs the chosen scenarios one after another and prints each as it ends; returns every report. */
export async function runBench(settings: Settings, print = true): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = [];
  setProgress(print);
  for (const [name, run] of Object.entries(RUNNERS) as [ScenarioName, typeof decodeScenario][]) {
    if (!settings.only.has(name)) continue;
    const started = performance.now();
    let report: ScenarioReport;
    try {
      report = await run(settings);
    } catch (error) {
      // One broken scenario does not hide the others' figures: its goals are reported missing.
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      report = {
        title: `${name} (failed)`,
        lines: [`failed: ${reason}`],
        goals: [{ goal: name, reason }],
        figures: {},
      };
    }
    reports.push(report);
    if (print) {
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      console.log(`\n## ${report.title} (${seconds} s)\n`);
      for (const line of report.lines) console.log(line);
    }
  }
  return reports;
}

if (import.meta.main) {
  const settings = settingsFromEnvironment();
  console.log(
    `podstorage bench: node ${process.version}, ${cpus().length} CPUs, BENCH_RUNS=${settings.runs}, scenarios ${[...settings.only].join(', ')}`,
  );
  const started = performance.now();
  const reports = await runBench(settings);
  const goals = reports.flatMap((report) => report.goals);
  console.log(`\n## Goals of issue 11\n`);
  for (const line of goalTable(goals)) console.log(line);
  const held = goals.filter(passed).length;
  console.log(
    `\n${held} of ${goals.length} goals hold (${((performance.now() - started) / 60_000).toFixed(1)} min)`,
  );
}
