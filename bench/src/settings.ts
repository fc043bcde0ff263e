// The benchmark's sizes, from the environment (see bench/README.md). The defaults finish in a few
// minutes on a 2-core machine; the smoke test passes tiny ones.

/** Sizes and repetitions of every scenario. */
export interface Settings {
  /** Measured runs per candidate (the median is reported). BENCH_RUNS, default 3. */
  readonly runs: number;
  /** Watch events per decode pass. BENCH_DECODE_EVENTS, default 20 000. */
  readonly decodeEvents: number;
  /**
   * Decode rounds: in each, every candidate makes one pass next to one of the raw baseline.
   * BENCH_DECODE_ROUNDS, default 7.
   */
  readonly decodeRounds: number;
  /** Numbers of concurrent waits. BENCH_WAITS, default "1000,10000". */
  readonly waits: readonly number[];
  /** The one-watch-per-wait design runs up to this many waits (beyond, it is skipped). BENCH_PER_WAIT_MAX, default 1000. */
  readonly perWaitMax: number;
  /**
   * Phase changes made one at a time (each after the previous one's wait resolved) to measure change →
   * resolved latency with every wait armed; at most half the waits. BENCH_LATENCY_PROBES, default 200.
   */
  readonly latencyProbes: number;
  /**
   * A many-waits measurement whose latency probes ran while the host (hypervisor) took more than this
   * share of the CPU time, in percent, is measured again. BENCH_STEAL_LIMIT, default 2.
   */
  readonly stealLimitPercent: number;
  /** How many times at most such a measurement is made again. BENCH_STEAL_REPEATS, default 2. */
  readonly stealRepeats: number;
  /** Concurrent eventsForPod iterators. BENCH_EVENT_ITERATORS, default 1000. */
  readonly eventIterators: number;
  /** Pods of the store-memory watch. BENCH_STORE_PODS, default 50 000. */
  readonly storePods: number;
  /** Pods of the fake's list-cost comparison, small and large. BENCH_LIST_PODS, default "10000,50000". */
  readonly listPods: readonly [number, number];
  /** Scenarios to run. BENCH_ONLY (comma-separated), default all. */
  readonly only: ReadonlySet<ScenarioName>;
}

/** The scenarios, in the order they run. */
export const SCENARIOS = ['decode', 'waits', 'events', 'store', 'list'] as const;

export type ScenarioName = (typeof SCENARIOS)[number];

function integers(name: string, fallback: string, min: number): number[] {
  const text = process.env[name] ?? fallback;
  const values = text.split(',').map((part) => part.trim());
  for (const value of values) {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new RangeError(`${name} must be integers >= ${min} separated by commas, got "${text}"`);
    }
  }
  return values.map(Number);
}

function integer(name: string, fallback: number, min: number): number {
  return integers(name, String(fallback), min)[0] as number;
}

/** The settings the environment asks for. */
export function settingsFromEnvironment(): Settings {
  const listPods = integers('BENCH_LIST_PODS', '10000,50000', 1);
  if (listPods.length !== 2) {
    throw new RangeError(`BENCH_LIST_PODS must be two sizes, got "${process.env.BENCH_LIST_PODS}"`);
  }
  const only = (process.env.BENCH_ONLY ?? SCENARIOS.join(',')).split(',').map((part) => part.trim());
  for (const name of only) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new RangeError(
        `BENCH_ONLY names unknown scenario "${name}" (scenarios: ${SCENARIOS.join(', ')})`,
      );
    }
  }
  return {
    runs: integer('BENCH_RUNS', 3, 1),
    decodeEvents: integer('BENCH_DECODE_EVENTS', 20_000, 1),
    decodeRounds: integer('BENCH_DECODE_ROUNDS', 7, 1),
    waits: integers('BENCH_WAITS', '1000,10000', 1),
    perWaitMax: integer('BENCH_PER_WAIT_MAX', 1_000, 0),
    latencyProbes: integer('BENCH_LATENCY_PROBES', 200, 1),
    stealLimitPercent: integer('BENCH_STEAL_LIMIT', 2, 0),
    stealRepeats: integer('BENCH_STEAL_REPEATS', 2, 0),
    eventIterators: integer('BENCH_EVENT_ITERATORS', 1_000, 1),
    storePods: integer('BENCH_STORE_PODS', 50_000, 1),
    listPods: listPods as [number, number],
    only: new Set(only as ScenarioName[]),
  };
}
