import type { ConformanceCapabilities } from '../types.js';
import { podNames } from './truth.js';

/** The storage and cluster timings of a soak run: short, so that faults recover within a run. */
export interface SoakTimings {
  /** `PodStorageOptions.inactivityTimeoutMs`: a stalled watch is resumed after this. */
  readonly inactivityTimeoutMs: number;
  /** `PodStorageOptions.requestTimeoutMs`. */
  readonly requestTimeoutMs: number;
  /** `PodStorageOptions.finalReadTimeoutMs`. */
  readonly finalReadTimeoutMs: number;
  /** `PodStorageOptions.watchTimeoutSeconds`: the server ends watches this often (cluster time). */
  readonly watchTimeoutSeconds: { readonly min: number; readonly max: number };
  /** `PodStorageOptions.backoff`. */
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly resetAfterMs: number };
  /** The fake cluster's bookmark interval (cluster time): keeps healthy quiet watches from stalling. */
  readonly bookmarkIntervalMs: number;
}

/** Short real timings, as the defects of issue 9 were found with. */
export const DEFAULT_SOAK_TIMINGS: SoakTimings = {
  inactivityTimeoutMs: 400,
  requestTimeoutMs: 1_000,
  finalReadTimeoutMs: 1_000,
  watchTimeoutSeconds: { min: 1, max: 3 },
  backoff: { initialMs: 10, maxMs: 200, resetAfterMs: 1_000 },
  bookmarkIntervalMs: 150,
};

/** Options of {@link runSoak}. Environment variables (see `env`) override them. */
export interface SoakOptions {
  /** The name of the `describe`. Default `PodStorage soak`. */
  readonly name?: string;
  /**
   * `system` (default): the storage runs on the system clock and the fake cluster's clock follows real
   * time, for backends over real sockets. `fake`: storage and cluster share the cluster's manual clock,
   * which the soak moves: fully deterministic per seed (in-process backends only).
   */
  readonly clock?: 'fake' | 'system';
  /** Property runs (each a fresh cluster, backend and storage). Default 3. Env `SOAK_RUNS`. */
  readonly runs?: number;
  /** How many pod names the commands use (names are reused: replacements). Default 5. Env `SOAK_PODS`. */
  readonly pods?: number;
  /** The most commands in one run. Default 40. Env `SOAK_COMMANDS`. */
  readonly commands?: number;
  /** Run (new seeds, one run after another) until this much real time has passed; overrides `runs`. Env `SOAK_DURATION_MS`. */
  readonly durationMs?: number;
  /** The fast-check seed. Default: random, printed on failure. Env `SOAK_SEED`. */
  readonly seed?: number;
  /** fast-check's `path` of a failure, to replay just that case. Env `SOAK_PATH`. */
  readonly path?: string;
  /** fast-check's `replayPath` of a shrunk command sequence. Env `SOAK_REPLAY_PATH`. */
  readonly replayPath?: string;
  /** Shrink a failing command sequence (slow on the system clock). Default true. Env `SOAK_SHRINK=0` turns it off. */
  readonly shrink?: boolean;
  /**
   * Real milliseconds shrinking may take before the smallest failure found so far is reported (replay it
   * with its seed and path to shrink further). Default 30 000 on the fake clock, 15 000 on the system clock.
   */
  readonly shrinkTimeMs?: number;
  /** Storage and cluster timings; defaults {@link DEFAULT_SOAK_TIMINGS}. */
  readonly timings?: Partial<SoakTimings>;
  /** On the system clock, how much faster than real time the fake cluster's clock runs. Default 1. */
  readonly clusterSpeed?: number;
  /** Fault kinds the backend cannot take: `stallBeforeHeaders` (stallNextWatch) and `latency`. */
  readonly capabilities?: Partial<Pick<ConformanceCapabilities, 'stallBeforeHeaders' | 'latency'>>;
  /**
   * How long (system clock: real ms; fake clock: clock ms) the end of a run may take to converge once
   * faults stop: every wait ends, every consumer catches up, nothing stays open. Default 10 000 real,
   * 30 000 fake.
   */
  readonly convergeMs?: number;
  /** Passed as the test timeout to `it`. Default: computed from runs, duration and shrinking. */
  readonly testTimeoutMs?: number;
  /**
   * Violations whose message matches this are counted but do not fail the run: to look past a known,
   * open defect while investigating another. Env `SOAK_IGNORE` (a regular expression).
   */
  readonly ignore?: RegExp;
  /** Prints each command as it runs (to find where a run hangs). Env `SOAK_TRACE=1`. */
  readonly trace?: boolean;
  /** Where the one-line summary of a passing soak goes. Default `console.info`; `false` for none. */
  readonly log?: ((line: string) => void) | false;
  /** Environment variables to read the `SOAK_*` overrides from. Default `process.env`; `false` for none. */
  readonly env?: Readonly<Record<string, string | undefined>> | false;
}

/** {@link SoakOptions} with every default and environment override applied. */
export interface SoakSettings {
  readonly name: string;
  readonly clock: 'fake' | 'system';
  readonly runs: number;
  readonly commands: number;
  /** The pod names the commands use. */
  readonly names: readonly string[];
  readonly durationMs: number | undefined;
  readonly seed: number | undefined;
  readonly path: string | undefined;
  readonly replayPath: string | undefined;
  readonly shrink: boolean;
  readonly shrinkTimeMs: number;
  readonly timings: SoakTimings;
  readonly clusterSpeed: number;
  readonly stallBeforeHeaders: boolean;
  readonly latency: boolean;
  readonly convergeMs: number;
  readonly testTimeoutMs: number;
  readonly log: ((line: string) => void) | undefined;
  readonly ignore: RegExp | undefined;
  readonly trace: boolean;
}

function integer(env: Readonly<Record<string, string | undefined>>, key: string): number | undefined {
  const text = env[key];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`${key} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}

function text(env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  const value = env[key];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`runSoak: ${name} must be > 0, got ${value}`);
  return value;
}

/** Resolves options, defaults and `SOAK_*` environment overrides (the environment wins, for the long script). */
export function resolveSoakSettings(options: SoakOptions): SoakSettings {
  const env =
    options.env === false
      ? {}
      : (options.env ??
        (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ??
        {});
  const clock = options.clock ?? 'system';
  const durationMs = integer(env, 'SOAK_DURATION_MS') ?? options.durationMs;
  const runs = positive('runs', integer(env, 'SOAK_RUNS') ?? options.runs ?? 3);
  const commands = positive('commands', integer(env, 'SOAK_COMMANDS') ?? options.commands ?? 40);
  const shrinkText = text(env, 'SOAK_SHRINK');
  const shrink =
    shrinkText === undefined ? (options.shrink ?? true) : !['0', 'false', 'no'].includes(shrinkText);
  const shrinkTimeMs = options.shrinkTimeMs ?? (clock === 'fake' ? 30_000 : 15_000);
  const convergeMs = options.convergeMs ?? (clock === 'fake' ? 30_000 : 10_000);
  // A bound on one run in real time, for the test timeout: the commands plus converging and closing.
  const perRunMs = clock === 'fake' ? 30_000 : commands * 400 + 3 * convergeMs;
  const budgetMs = (durationMs ?? runs * perRunMs) + perRunMs + (shrink ? shrinkTimeMs : 0);
  const log = options.log === false ? undefined : (options.log ?? ((line: string) => console.info(line)));
  return {
    name: options.name ?? 'PodStorage soak',
    clock,
    runs,
    commands,
    names: podNames(positive('pods', integer(env, 'SOAK_PODS') ?? options.pods ?? 5)),
    durationMs: durationMs === undefined ? undefined : positive('durationMs', durationMs),
    seed: integer(env, 'SOAK_SEED') ?? options.seed,
    path: text(env, 'SOAK_PATH') ?? options.path,
    replayPath: text(env, 'SOAK_REPLAY_PATH') ?? options.replayPath,
    shrink,
    shrinkTimeMs,
    timings: { ...DEFAULT_SOAK_TIMINGS, ...options.timings },
    clusterSpeed: positive('clusterSpeed', options.clusterSpeed ?? 1),
    stallBeforeHeaders: options.capabilities?.stallBeforeHeaders ?? true,
    latency: options.capabilities?.latency ?? true,
    convergeMs: positive('convergeMs', convergeMs),
    testTimeoutMs: options.testTimeoutMs ?? budgetMs + 30_000,
    log,
    trace: text(env, 'SOAK_TRACE') === undefined ? (options.trace ?? false) : text(env, 'SOAK_TRACE') !== '0',
    ignore:
      text(env, 'SOAK_IGNORE') === undefined
        ? options.ignore
        : new RegExp(text(env, 'SOAK_IGNORE') as string),
  };
}
