import fc from 'fast-check';
import { soakCommands } from './soak/commands.js';
import { resolveSoakSettings, type SoakOptions, type SoakSettings } from './soak/options.js';
import { type RunSettings, SoakWorld } from './soak/world.js';
import type { ConformanceFactory, ConformanceRunner } from './types.js';

export { DEFAULT_SOAK_TIMINGS, type SoakOptions, type SoakTimings } from './soak/options.js';
export { SoakViolation } from './soak/world.js';

/** What a soak did, for its summary line. */
export interface SoakSummary {
  /** Property runs made (each a fresh cluster, backend and storage). */
  readonly runs: number;
  /** Commands run, over all runs. */
  readonly commands: number;
  /** `waitForPhase` and `deleteAfterCompletion` calls started. */
  readonly waits: number;
  /** `eventsForPod` and `watchPodChanges` consumers started. */
  readonly consumers: number;
  /** Fault commands run. */
  readonly faults: number;
  /** Violations that matched `ignore` (`SOAK_IGNORE`). */
  readonly ignored: number;
  /** The first line of each ignored violation. */
  readonly ignoredViolations: readonly string[];
  /** The fast-check seed of the first run. */
  readonly seed: number;
  /** Real time the soak took. */
  readonly realMs: number;
}

/** Thrown when a soak run broke a promise: the message holds the seed, the path and the command sequence. */
export class SoakFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SoakFailure';
  }
}

/**
 * Registers a seeded, model-based soak of a backend with a test runner: fast-check draws sequences of
 * commands (pod lifecycles, deletes with and without grace and finalizers, same-name replacements,
 * events, waits, deleteAfterCompletion, eventsForPod and watchPodChanges consumers, faults from
 * `cluster.faults`, time passing), runs them against a fresh fake cluster, the backend and a storage, and
 * checks every outcome against what the cluster truly did: every wait ends with a true outcome, no change
 * is yielded twice or missed, no event message twice unless it recurred, and nothing is left open. A
 * failure names the seed, fast-check's path and the (shrunk) command sequence; `SOAK_SEED` and
 * `SOAK_PATH` replay it.
 *
 * @example
 * import { describe, expect, it } from 'vitest';
 * runSoak({ describe, it, expect }, async (cluster) => {
 *   const server = await serveFakeCluster(cluster);
 *   const transport = createMyTransport(server.kubeconfig);
 *   return { transport, close: async () => { await transport.close(); await server.close(); } };
 * });
 */
export function runSoak(
  runner: ConformanceRunner,
  factory: ConformanceFactory,
  options: SoakOptions = {},
): void {
  const settings = resolveSoakSettings(options);
  const amount =
    settings.durationMs === undefined ? `${settings.runs} run(s)` : `runs for ${settings.durationMs} ms`;
  runner.describe(settings.name, () => {
    runner.it(
      `random lifecycles, deletes, replacements and faults keep every promise (${amount} of up to ${settings.commands} commands, ${settings.clock} clock)`,
      async () => {
        const summary = await soak(factory, settings);
        settings.log?.(
          `${settings.name}: ${summary.runs} run(s), ${summary.commands} commands (${summary.waits} waits, ${summary.consumers} consumers, ${summary.faults} faults) in ${(summary.realMs / 1_000).toFixed(1)} s, seed ${summary.seed}${summary.ignored > 0 ? `; ${summary.ignored} violation(s) ignored (SOAK_IGNORE)` : ''}`,
        );
      },
      settings.testTimeoutMs,
    );
  });
}

/** Runs the soak once (every property run) and resolves with its figures; rejects with a {@link SoakFailure}. */
export async function soak(factory: ConformanceFactory, settings: SoakSettings): Promise<SoakSummary> {
  const started = performance.now();
  const totals = { runs: 0, commands: 0, waits: 0, consumers: 0, faults: 0, ignored: 0 };
  const ignoredViolations: string[] = [];
  let firstFailureAt: number | undefined;
  const property = fc.asyncProperty(
    fc.record({
      sharedWatchThreshold: fc.integer({ min: 1, max: 4 }),
      randomSeed: fc.integer(),
      pageSize: fc.constantFrom(1, 2, 500),
      opaqueVersions: fc.boolean(),
      initialPods: fc.subarray([...settings.names], { minLength: Math.min(2, settings.names.length) }),
      finishPhases: fc.array(fc.boolean(), {
        minLength: settings.names.length,
        maxLength: settings.names.length,
      }),
    }),
    fc.commands(soakCommands(settings), {
      maxCommands: settings.commands,
      size: 'max',
      ...(settings.replayPath === undefined ? {} : { replayPath: settings.replayPath }),
    }),
    async (run: RunSettings & { initialPods: string[]; finishPhases: boolean[] }, commands) => {
      // Shrinking on the system clock is slow: past its budget, candidates are skipped, and the
      // smallest failure found so far is the one reported.
      if (firstFailureAt !== undefined && performance.now() - firstFailureAt > settings.shrinkTimeMs) return;
      const world = await SoakWorld.create(factory, settings, run);
      let finished = false;
      try {
        await world.step(`create ${run.initialPods.join(', ')}`, () => {
          for (const name of run.initialPods) world.createPod(name, false);
        });
        await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
        await world.finish(run.finishPhases);
        finished = true;
      } catch (error) {
        firstFailureAt ??= performance.now();
        throw error;
      } finally {
        if (!finished) await world.dispose();
        totals.runs += 1;
        const ran = [...commands].filter((command) => (command as { hasRan?: boolean }).hasRan !== false);
        totals.commands += ran.length;
        totals.faults += ran.filter((command) => String(command).startsWith('fault ')).length;
        totals.waits += world.waits.length;
        totals.consumers += world.events.length + world.changes.length;
        totals.ignored += world.ignored.length;
        for (const violation of world.ignored) ignoredViolations.push(violation.split('\n')[0] as string);
      }
    },
  );
  const details = await fc.check(property, {
    numRuns: settings.durationMs === undefined ? settings.runs : 1_000_000,
    ...(settings.durationMs === undefined ? {} : { interruptAfterTimeLimit: settings.durationMs }),
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    ...(settings.path === undefined ? {} : { path: settings.path }),
    endOnFailure: !settings.shrink,
  });
  if (details.failed) throw new SoakFailure(failureReport(settings, details));
  return { ...totals, ignoredViolations, seed: details.seed, realMs: performance.now() - started };
}

function failureReport<T extends [unknown, Iterable<unknown>]>(
  settings: SoakSettings,
  details: fc.RunDetails<T>,
): string {
  const [run, commands] = details.counterexample ?? [undefined, [] as unknown[]];
  const ran = [...commands].filter((command) => (command as { hasRan?: boolean }).hasRan !== false);
  const replayPath = /replayPath="([^"]*)"/.exec(String(commands))?.[1];
  const reproduce = [
    `SOAK_SEED=${details.seed}`,
    `SOAK_PATH=${JSON.stringify(details.counterexamplePath ?? '')}`,
    ...(replayPath === undefined ? [] : [`SOAK_REPLAY_PATH=${JSON.stringify(replayPath)}`]),
  ].join(' ');
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error);
  return [
    `${settings.name}: a soak run broke a promise (seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)}, after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s), ${settings.clock} clock).`,
    `Reproduce: ${reproduce} with this test file and -t ${JSON.stringify(settings.name)} (or pass { seed, path, replayPath } to runSoak)`,
    `Run settings: ${JSON.stringify(run)}`,
    `Commands (${ran.length}):`,
    ...ran.map((command, index) => `  ${index + 1}. ${String(command)}`),
    '',
    message,
  ].join('\n');
}
