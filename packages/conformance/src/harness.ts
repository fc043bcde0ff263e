import {
  type Clock,
  createPodStorage,
  type KubernetesEvent,
  type Logger,
  type ManagedPodStorage,
  type Pod,
  type PodStorageOptions,
  type PodTransport,
  type ResourceName,
  systemClock,
  type TimerHandle,
  type WatchEvent,
} from '@podstorage/core';
import { FakeClock, FakeCluster, type LifecycleScript } from '@podstorage/fake';
import { assert, assertEqual, ConformanceAssertionError, describeValue } from './check.js';
import { RecordingTransport } from './recording-transport.js';
import { seededRandom } from './seeded-random.js';
import type { ConformanceBackend, ConformanceExpect, ConformanceFactory } from './types.js';
import { Collector, type Patience, pause, settle, type Tracked, track, until } from './waiting.js';

/** The namespace most tests use. */
export const NAMESPACE = 'default';
/** A second namespace, for isolation checks. */
export const OTHER_NAMESPACE = 'other';

/**
 * Which clock a run of the suite uses. `fake`: the storage and the cluster share the cluster's manual
 * `FakeClock`, which the scenarios move (deterministic, instant). `system`: the storage runs on core's
 * `systemClock` and the cluster's `FakeClock` follows real time, so every timer is a real Node timer and
 * timings are scaled down (see {@link SYSTEM_CLOCK_SCALE}).
 */
export type ConformanceClock = 'fake' | 'system';

/** The storage and cluster settings a scenario runs with, in milliseconds of the clock in use. */
export interface Timings {
  readonly inactivityTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly finalReadTimeoutMs: number;
  /** The cluster's bookmark interval. */
  readonly bookmarkIntervalMs: number;
  readonly watchTimeoutSeconds: { readonly min: number; readonly max: number };
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly resetAfterMs: number };
}

/**
 * The settings every scenario starts from, in scenario time (what they are on the fake clock). Scenarios
 * read the ones in use from `h.timings`, never from here: on the system clock they are scaled down.
 */
export const SCENARIO_TIMINGS: Timings = {
  inactivityTimeoutMs: 90_000,
  requestTimeoutMs: 30_000,
  finalReadTimeoutMs: 5_000,
  bookmarkIntervalMs: 60_000,
  watchTimeoutSeconds: { min: 300, max: 600 },
  backoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 },
};

/**
 * Real milliseconds per millisecond of scenario time on the system clock: 90 s of inactivity become
 * 900 ms, a 10 s timeout 100 ms, so the whole suite runs in seconds while every timer stays far above
 * the 1 ms granularity of Node's timers.
 */
export const SYSTEM_CLOCK_SCALE = 1 / 100;

/**
 * The timings on the system clock for `scenario` timings: scaled by {@link SYSTEM_CLOCK_SCALE}, with
 * floors where a scaled value would make a correct run depend on machine speed (a request abandoned
 * after 300 ms on a loaded machine, a backoff of 5 ms), and whole seconds of at least 1 for the
 * server's `timeoutSeconds`.
 */
export function systemClockTimings(scenario: Timings): Timings {
  const scale = (ms: number) => ms * SYSTEM_CLOCK_SCALE;
  const seconds = (value: number) => Math.max(1, Math.round(value * SYSTEM_CLOCK_SCALE));
  const initialMs = Math.max(10, scale(scenario.backoff.initialMs));
  const minSeconds = seconds(scenario.watchTimeoutSeconds.min);
  return {
    inactivityTimeoutMs: scale(scenario.inactivityTimeoutMs),
    requestTimeoutMs: Math.max(1_000, scale(scenario.requestTimeoutMs)),
    finalReadTimeoutMs: Math.max(500, scale(scenario.finalReadTimeoutMs)),
    bookmarkIntervalMs: Math.max(20, scale(scenario.bookmarkIntervalMs)),
    watchTimeoutSeconds: {
      min: minSeconds,
      max: Math.max(minSeconds, seconds(scenario.watchTimeoutSeconds.max)),
    },
    backoff: {
      initialMs,
      maxMs: Math.max(initialMs, scale(scenario.backoff.maxMs)),
      resetAfterMs: scale(scenario.backoff.resetAfterMs),
    },
  };
}

/**
 * What a test needs different from the defaults. Settings are declared before the harness exists, so
 * their durations are in scenario time (as on the fake clock); the harness scales them on the system
 * clock, like {@link SCENARIO_TIMINGS}.
 */
export interface ScenarioSettings {
  readonly mode?: 'simulated' | 'manual';
  readonly bookmarkIntervalMs?: number;
  readonly historySize?: number;
  /** The simulator's script for pods created without one; its durations are scenario time. */
  readonly defaultLifecycle?: LifecycleScript;
  /** How the fake answers a watch from a version newer than it has (after `restore`). */
  readonly futureWatch?: 'error' | 'wait';
  /** Storage options; `inactivityTimeoutMs`, `requestTimeoutMs`, `finalReadTimeoutMs`, `watchTimeoutSeconds`, `backoff` are scenario time. */
  readonly storage?: Omit<PodStorageOptions, 'clock'>;
  /** Wraps the backend's transport (below the recorder), to change the cluster in the middle of a call. */
  readonly wrap?: (transport: PodTransport, cluster: FakeCluster) => PodTransport;
}

/** A log line the storage wrote. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string | undefined;
}

/**
 * How long a wait may take in clock time (milliseconds of the clock in use: build them from `h.ms`, or
 * take `h.quick` / `h.slow`). On the fake clock: moved `stepMs` at a time, failing after `maxAdvanceMs`.
 * On the system clock: real time passes by itself, and the wait fails after `maxAdvanceMs` plus the
 * suite's patience.
 */
export interface Steps {
  readonly stepMs: number;
  readonly maxAdvanceMs: number;
}

/** The storage's clock as the suite sees it: time for assertions, and a count of its timers for leak checks. */
export interface HarnessClock extends Clock {
  /** Timers scheduled and neither fired nor cleared. */
  pendingTimers(): number;
}

/**
 * Core's `systemClock`, every call passed through unchanged, with its pending timers counted so the
 * suite can check that a finished operation leaves no real timer behind.
 */
class CountedSystemClock implements HarnessClock {
  readonly #pending = new Set<TimerHandle>();

  now(): number {
    return systemClock.now();
  }

  date(): Date {
    return systemClock.date();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = systemClock.setTimeout(() => {
      this.#pending.delete(handle);
      callback();
    }, ms);
    this.#pending.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle);
    systemClock.clearTimeout(handle);
  }

  pendingTimers(): number {
    return this.#pending.size;
  }
}

/** Real milliseconds between two steps of the cluster's clock when it follows real time. */
const CLUSTER_TICK_MS = 5;

/** The lifecycle of scenario pods (scenario time), so the system clock can scale them. */
const SIMULATOR_DEFAULTS = { scheduleAfterMs: 100, pullMs: 1_000, runMs: 2_000 } as const;

function scaleLifecycle(script: LifecycleScript, scale: (ms: number) => number): LifecycleScript {
  const unschedulable = script.unschedulable;
  return {
    ...script,
    ...(script.scheduleAfterMs === undefined ? {} : { scheduleAfterMs: scale(script.scheduleAfterMs) }),
    ...(script.pullMs === undefined ? {} : { pullMs: scale(script.pullMs) }),
    ...(script.runMs === undefined ? {} : { runMs: scale(script.runMs) }),
    ...(typeof unschedulable === 'object' ? { unschedulable: { forMs: scale(unschedulable.forMs) } } : {}),
  };
}

/** The scenario-time timings of one scenario: the defaults with its own settings on top. */
function scenarioTimings(settings: ScenarioSettings): Timings {
  const storage = settings.storage ?? {};
  return {
    inactivityTimeoutMs: storage.inactivityTimeoutMs ?? SCENARIO_TIMINGS.inactivityTimeoutMs,
    requestTimeoutMs: storage.requestTimeoutMs ?? SCENARIO_TIMINGS.requestTimeoutMs,
    finalReadTimeoutMs: storage.finalReadTimeoutMs ?? SCENARIO_TIMINGS.finalReadTimeoutMs,
    bookmarkIntervalMs: settings.bookmarkIntervalMs ?? SCENARIO_TIMINGS.bookmarkIntervalMs,
    watchTimeoutSeconds: storage.watchTimeoutSeconds ?? SCENARIO_TIMINGS.watchTimeoutSeconds,
    backoff: { ...SCENARIO_TIMINGS.backoff, ...storage.backoff },
  };
}

/** The standard steps, in scenario time: short ones for retries and reconnects (backoff starts at 500 ms). */
const QUICK: Steps = { stepMs: 100, maxAdvanceMs: 120_000 };
/** Long steps, for stalls and server timeouts measured in minutes. */
const SLOW: Steps = { stepMs: 1_000, maxAdvanceMs: 900_000 };

/** The pod manifest tests create: one container, never restarted. */
export function podManifest(
  name: string,
  namespace = NAMESPACE,
  extra: { finalizers?: string[]; nodeName?: string } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'registry.example/conformance:1' }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
    },
  };
}

/**
 * One test's world: a fresh fake cluster and clock, the backend under test connected to it, a recording
 * transport in front of the backend, and the storage. `dispose()` closes all of it and checks that
 * nothing was left open.
 *
 * Time: every duration the harness takes or gives (`advance`, `until` steps, `timings`, recorded call
 * times, `Tracked.settledAt`, what to pass the storage as a timeout) is in milliseconds of the storage's
 * clock, `h.clock`. A scenario writes its own durations in scenario time (as on the fake clock) and
 * converts them with `h.ms(…)`, which is the identity on the fake clock and scales them down on the
 * system clock; the storage and cluster settings in use are `h.timings`.
 */
export class Harness {
  readonly cluster: FakeCluster;
  /** The storage's clock: the cluster's `FakeClock` on the fake clock, core's `systemClock` (counted) on the system clock. */
  readonly clock: HarnessClock;
  /** Which clock this run uses. */
  readonly clockMode: ConformanceClock;
  /** The storage and cluster settings of this scenario, in milliseconds of `clock`. */
  readonly timings: Timings;
  /** Standard steps for waits on retries and reconnects (clock time). */
  readonly quick: Steps;
  /** Standard steps for waits on stalls and server timeouts (clock time). */
  readonly slow: Steps;
  readonly backend: ConformanceBackend;
  readonly transport: RecordingTransport;
  readonly storage: ManagedPodStorage;
  readonly logs: LogEntry[] = [];
  readonly patience: Patience;
  readonly #expect: ConformanceExpect;
  readonly #oracles: AbortController[] = [];
  readonly #collectors: Collector<unknown>[] = [];
  readonly #stopFollowing: (() => Promise<void>) | undefined;

  private constructor(
    cluster: FakeCluster,
    backend: ConformanceBackend,
    settings: ScenarioSettings,
    patience: Patience,
    expect: ConformanceExpect,
    clock: HarnessClock,
    clockMode: ConformanceClock,
    timings: Timings,
    stopFollowing: (() => Promise<void>) | undefined,
  ) {
    this.cluster = cluster;
    this.clock = clock;
    this.clockMode = clockMode;
    this.timings = timings;
    this.quick = this.steps(QUICK);
    this.slow = this.steps(SLOW);
    this.backend = backend;
    this.patience = patience;
    this.#expect = expect;
    this.#stopFollowing = stopFollowing;
    const below = settings.wrap ? settings.wrap(backend.transport, cluster) : backend.transport;
    this.transport = new RecordingTransport(
      below,
      () => this.clock.now(),
      () => cluster.clock.now(),
    );
    const record =
      (level: LogEntry['level']) =>
      (fields: object, message?: string): void => {
        this.logs.push({ level, fields, message });
      };
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    this.storage = createPodStorage(this.transport, {
      logger,
      random: seededRandom(0x5eed),
      ...settings.storage,
      inactivityTimeoutMs: timings.inactivityTimeoutMs,
      requestTimeoutMs: timings.requestTimeoutMs,
      finalReadTimeoutMs: timings.finalReadTimeoutMs,
      watchTimeoutSeconds: timings.watchTimeoutSeconds,
      backoff: timings.backoff,
      clock: this.clock,
    });
  }

  static async create(
    factory: ConformanceFactory,
    settings: ScenarioSettings,
    patience: Patience,
    expect: ConformanceExpect,
    clockMode: ConformanceClock = 'fake',
  ): Promise<Harness> {
    const system = clockMode === 'system';
    const inScenarioTime = scenarioTimings(settings);
    const timings = system ? systemClockTimings(inScenarioTime) : inScenarioTime;
    const scale = (ms: number) => (system ? ms * SYSTEM_CLOCK_SCALE : ms);
    // Scenario pods are jobs that run 2 s (the fake's own default container is a server that runs
    // until stopped), on both clocks.
    const inScenario = { ...SIMULATOR_DEFAULTS, ...settings.defaultLifecycle };
    const lifecycle = system ? scaleLifecycle(inScenario, scale) : inScenario;
    const clusterClock = new FakeClock();
    const cluster = new FakeCluster({
      clock: clusterClock,
      mode: settings.mode ?? 'manual',
      bookmarkIntervalMs: timings.bookmarkIntervalMs,
      namespaces: [NAMESPACE, OTHER_NAMESPACE],
      ...(settings.historySize === undefined ? {} : { historySize: settings.historySize }),
      ...(lifecycle === undefined ? {} : { defaultLifecycle: lifecycle }),
      ...(settings.futureWatch === undefined ? {} : { futureWatch: settings.futureWatch }),
    });
    // On the system clock the cluster's simulator, bookmarks, latency and server timeouts run in real
    // time; a short tick keeps them within a few milliseconds of the storage's real timers.
    // (It may lag further behind on a loaded machine: compare what the cluster times in its own time,
    // RecordedCall.clusterAt.)
    const stopFollowing = system ? clusterClock.followRealTime({ tickMs: CLUSTER_TICK_MS }) : undefined;
    let backend: ConformanceBackend;
    try {
      backend = await factory(cluster);
    } catch (error) {
      await stopFollowing?.();
      throw error;
    }
    const clock = system ? new CountedSystemClock() : clusterClock;
    return new Harness(
      cluster,
      backend,
      settings,
      patience,
      expect,
      clock,
      clockMode,
      timings,
      stopFollowing,
    );
  }

  // ---- assertions -------------------------------------------------------------------------------

  /** Throws with `message` unless `condition` holds. */
  assert(condition: unknown, message: string): asserts condition {
    assert(condition, message);
  }

  /** Deep equality, reported through the runner's `expect` (for its diff) and with `message`. */
  equal(actual: unknown, expected: unknown, message: string): void {
    try {
      this.#expect(actual).toEqual(expected);
    } catch (cause) {
      throw new ConformanceAssertionError(
        `${message}\n  expected: ${describeValue(expected)}\n  actual:   ${describeValue(actual)}`,
        { cause },
      );
    }
    assertEqual(actual, expected, message);
  }

  // ---- time and waiting ---------------------------------------------------------------------------

  /**
   * Milliseconds of `h.clock` for `scenarioMs` of scenario time: the same on the fake clock, scaled by
   * {@link SYSTEM_CLOCK_SCALE} on the system clock. Pass the result to the storage (timeouts), the
   * cluster (lifecycle scripts, latency) and the harness (`advance`, steps).
   */
  ms(scenarioMs: number): number {
    return this.clockMode === 'system' ? scenarioMs * SYSTEM_CLOCK_SCALE : scenarioMs;
  }

  /**
   * Whole seconds (at least 1) of `h.clock` for `scenarioMs` of scenario time, for what the API counts
   * in seconds (`retryAfterSeconds`, `timeoutSeconds`). On the system clock this is often more than
   * `h.ms(scenarioMs)`: compute deadlines from the seconds returned, not from the scenario time.
   */
  seconds(scenarioMs: number): number {
    return Math.max(1, Math.round(this.ms(scenarioMs) / 1_000));
  }

  /** {@link Steps} given in scenario time, converted to clock time with `h.ms`. */
  steps(scenario: Steps): Steps {
    return { stepMs: this.ms(scenario.stepMs), maxAdvanceMs: this.ms(scenario.maxAdvanceMs) };
  }

  /**
   * How much later than computed a real clock may show something happen on a loaded machine (a paused
   * process, a busy event loop): 0 on the fake clock; on the system clock the suite's real patience.
   * Add it to upper bounds on elapsed time; lower bounds need none.
   */
  get toleranceMs(): number {
    return this.clockMode === 'system' ? this.patience.realMs : 0;
  }

  /**
   * The resolution of real time: 0 on the fake clock; 1 ms on the system clock, where a Node timer may
   * fire up to 1 ms before `performance.now()` reaches its time and `Date` counts whole milliseconds.
   * Subtract it from lower bounds the design does not promise to the millisecond (a backoff, a
   * Retry-After, wall-clock timestamps); never from a `Timeout`'s, whose expiry is one fact.
   */
  get granularityMs(): number {
    return this.clockMode === 'system' ? 1 : 0;
  }

  /**
   * Whether the storage's clock is still before `deadline`: guard a check that something has *not*
   * happened yet with it, reading what you check first and the clock after, so the check holds at a
   * time known to be before the deadline. On the system clock a loaded machine may be past it (then
   * skip the check; check the recorded times afterwards instead). On the fake clock time moves only
   * when the scenario moves it, so being past the deadline is a mistake in the scenario: throws.
   */
  before(deadline: number): boolean {
    const now = this.clock.now();
    if (now < deadline) return true;
    if (this.clockMode === 'fake') {
      throw new ConformanceAssertionError(
        `scenario error: the fake clock is at ${now} ms, not before the deadline ${deadline} ms it checks`,
      );
    }
    return false;
  }

  /**
   * Waits for `condition`, yielding real turns. With `steps` (clock time), the condition may need that
   * much time: on the fake clock the harness moves the clock `stepMs` at a time; on the system clock it
   * waits up to `maxAdvanceMs` of real time (plus patience) for the condition.
   */
  until(condition: () => boolean, description: string, steps?: Steps): Promise<void> {
    const common = { description, detail: () => this.detail() };
    if (this.clockMode === 'system') {
      return until(condition, this.patience, { ...common, realTimeMs: steps?.maxAdvanceMs ?? 0 });
    }
    return until(condition, this.patience, {
      ...common,
      ...(steps ? { steps: { clock: this.cluster.clock, ...steps } } : {}),
    });
  }

  /**
   * Lets `ms` of clock time pass. On the fake clock: moves it in `stepMs` steps, yielding real turns
   * between steps. On the system clock: waits until the storage's clock and the cluster's have both moved
   * `ms` (a wait on the clock, not on something to happen); `stepMs` does not apply.
   */
  async advance(ms: number, stepMs = Math.min(ms, 1_000)): Promise<void> {
    if (this.clockMode === 'system') {
      await this.#waitForClocks(this.clock.now() + ms, this.cluster.clock.now() + ms);
      return;
    }
    let left = ms;
    while (left > 0) {
      const step = Math.min(stepMs, left);
      await settle(this.patience.turnsPerStep);
      await this.cluster.clock.advance(step);
      left -= step;
    }
    await settle(this.patience.turnsPerStep);
  }

  /** Lets clock time pass until `h.clock.now()` is `at` (at once if it already is), as {@link advance}. */
  advanceTo(at: number, stepMs?: number): Promise<void> {
    const left = Math.max(0, at - this.clock.now());
    return stepMs === undefined ? this.advance(left) : this.advance(left, stepMs);
  }

  async #waitForClocks(storageAt: number, clusterAt: number): Promise<void> {
    const started = performance.now();
    const bound = storageAt - this.clock.now() + this.patience.realMs;
    for (;;) {
      const storageLeft = storageAt - this.clock.now();
      const clusterLeft = clusterAt - this.cluster.clock.now();
      if (storageLeft <= 0 && clusterLeft <= 0) break;
      if (performance.now() - started > bound) {
        throw new ConformanceAssertionError(
          `the cluster's clock did not follow real time: ${Math.round(clusterLeft)} ms behind after ${Math.round(performance.now() - started)} ms\n${this.detail()}`,
        );
      }
      // A timer can fire a little before performance.now() reaches its time: the loop checks again.
      await pause(Math.max(1, Math.min(storageLeft, 50), Math.min(clusterLeft, 5)));
    }
    await settle(this.patience.turnsPerStep);
  }

  /** Lets in-flight work settle (real turns only) before checking that something did not happen. */
  settle(turns = 50): Promise<void> {
    return settle(turns);
  }

  /** Observes a promise without awaiting it. */
  track<T>(promise: Promise<T>): Tracked<T> {
    return track(promise, this.clock);
  }

  /** Waits for `promise` to settle (moving the clock if `steps` say so) and returns its value; throws if it rejected. */
  async resolves<T>(promise: Promise<T> | Tracked<T>, description: string, steps?: Steps): Promise<T> {
    const tracked = 'status' in promise ? promise : this.track(promise);
    await this.until(() => tracked.settled, `${description} to settle`, steps);
    if (tracked.status === 'rejected') {
      throw new ConformanceAssertionError(
        `${description}: expected to resolve, but it rejected with ${describeValue(tracked.reason)}`,
        { cause: tracked.reason },
      );
    }
    return tracked.value as T;
  }

  /** Waits for `promise` to settle and returns its rejection reason; throws if it resolved. */
  async rejects(
    promise: Promise<unknown> | Tracked<unknown>,
    description: string,
    steps?: Steps,
  ): Promise<unknown> {
    const tracked = 'status' in promise ? promise : this.track(promise);
    await this.until(() => tracked.settled, `${description} to settle`, steps);
    if (tracked.status === 'fulfilled') {
      throw new ConformanceAssertionError(
        `${description}: expected to reject, but it resolved with ${describeValue(tracked.value)}`,
      );
    }
    return tracked.reason;
  }

  /**
   * Waits until `condition` holds or `over()` says the operation it belongs to has ended (a short timeout
   * expired), and returns whether `condition` held. On the fake clock time stands still while the
   * harness waits, so it must hold: throws otherwise. On the system clock a loaded machine may let the
   * operation end first; the scenario then skips what depended on the condition, and says so only by
   * checking less, never by failing.
   */
  async reached(condition: () => boolean, over: () => boolean, description: string): Promise<boolean> {
    await this.until(() => condition() || over(), `${description} (or the operation to end first)`);
    if (condition()) return true;
    if (this.clockMode === 'fake') {
      throw new ConformanceAssertionError(`${description}: the operation ended first\n${this.detail()}`);
    }
    return false;
  }

  /** Whether the storage holds an open watch stream of `resource` that the cluster counts as active. */
  isWatching(resource: ResourceName): boolean {
    return this.transport.openStreams(resource) >= 1 && this.cluster.stats().activeWatches >= 1;
  }

  /** Waits until the storage holds an open watch stream of `resource` that the cluster counts as active. */
  watching(resource: ResourceName, description = `an open ${resource} watch`): Promise<void> {
    return this.until(() => this.isWatching(resource), description);
  }

  /** Waits until the cluster has no active watch and the storage holds no stream or pending request. */
  async nothingOpen(description: string): Promise<void> {
    await this.until(
      () =>
        this.cluster.stats().activeWatches === 0 &&
        this.transport.openStreams() === 0 &&
        this.transport.pendingCalls() === 0,
      `${description}: no watch active on the cluster and no stream or request open in the storage`,
    );
  }

  // ---- cluster helpers ----------------------------------------------------------------------------

  /** Creates a pod from the standard manifest. */
  createPod(
    name: string,
    options: {
      lifecycle?: LifecycleScript;
      namespace?: string;
      finalizers?: string[];
      nodeName?: string;
    } = {},
  ): Pod {
    const manifest = podManifest(name, options.namespace ?? NAMESPACE, {
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
    });
    return this.cluster.createPod(manifest, options.lifecycle ? { lifecycle: options.lifecycle } : undefined);
  }

  /** Removes `status.phase` from a pod, as for a pod no component has reported on yet. */
  clearPhase(name: string, namespace = NAMESPACE): Pod {
    const pod = this.cluster.getPod(namespace, name);
    assert(pod, `fake cluster: pod ${namespace}/${name} should exist`);
    const { phase: _phase, ...status } = pod.status ?? {};
    return this.cluster.updatePod({ ...pod, status }, { subresource: 'status' });
  }

  /** The pod's current resourceVersion in the cluster. */
  versionOf(name: string, namespace = NAMESPACE): string {
    const version = this.cluster.getPod(namespace, name)?.metadata?.resourceVersion;
    assert(
      version !== undefined,
      `fake cluster: pod ${namespace}/${name} should exist and carry a resourceVersion`,
    );
    return version;
  }

  /** Pulls an async iterator in the background; stopped (return()) at dispose if still running. */
  collect<T>(iterable: AsyncIterable<T> | AsyncIterator<T>): Collector<T> {
    const collector = new Collector(iterable);
    this.#collectors.push(collector as Collector<unknown>);
    return collector;
  }

  /**
   * The cluster's own record of what happened: a watch on the fake itself (not through the backend),
   * from the current resourceVersion. Closed at dispose.
   */
  oracle<R extends ResourceName>(
    resource: R,
    namespace = NAMESPACE,
  ): Collector<WatchEvent<R extends 'pods' ? Pod : KubernetesEvent>> {
    const controller = new AbortController();
    this.#oracles.push(controller);
    const options = { resourceVersion: this.cluster.resourceVersion(), signal: controller.signal };
    const stream =
      resource === 'pods'
        ? this.cluster.watch('pods', namespace, options)
        : this.cluster.watch('events', namespace, options);
    return new Collector(stream as AsyncIterable<WatchEvent<R extends 'pods' ? Pod : KubernetesEvent>>);
  }

  /** Closes oracle watches (they count as active watches on the cluster). */
  closeOracles(): void {
    for (const controller of this.#oracles.splice(0)) controller.abort();
  }

  /** State for failure messages. */
  detail(): string {
    let stats = '';
    try {
      stats = JSON.stringify(this.cluster.stats());
    } catch {
      stats = '(unavailable)';
    }
    let counters = '';
    try {
      counters = JSON.stringify(this.storage.counters());
    } catch {
      counters = '(unavailable)';
    }
    return `  ${this.clockMode} clock: ${this.clock.now()} ms (cluster clock ${this.cluster.clock.now()} ms); cluster stats: ${stats}; storage counters: ${counters}\n  requests the storage made:\n${this.transport.summary() || '  (none)'}`;
  }

  /**
   * Closes the storage and the backend. When the test passed, also checks the design's promise that a
   * closed storage leaves nothing open; when it failed, cleans up quietly so the first error is reported.
   */
  async dispose(testPassed: boolean): Promise<void> {
    this.closeOracles();
    const problems: unknown[] = [];
    try {
      const closing = this.track(this.storage.close());
      await this.until(() => closing.settled, 'storage.close() to settle');
      if (closing.status === 'rejected') problems.push(closing.reason);
      for (const collector of this.#collectors) {
        if (!collector.finished) void collector.iterator.return?.().catch(() => {});
      }
      await this.nothingOpen('after storage.close()');
      const openHandles = this.backend.openHandles;
      if (openHandles) {
        await this.until(
          () => openHandles.call(this.backend) === 0,
          'backend.openHandles() to be 0 after storage.close()',
        );
      }
    } catch (error) {
      problems.push(error);
    }
    try {
      await this.backend.close?.();
    } catch (error) {
      problems.push(error);
    }
    await this.#stopFollowing?.();
    try {
      // A storage that hammered the cluster (a retry without backoff) fails the test, first of all.
      this.cluster.assertNoHotLoop();
    } catch (error) {
      problems.unshift(error);
    }
    if (testPassed && problems.length > 0) throw problems[0];
  }
}
