import {
  createPodStorage,
  type KubernetesEvent,
  type Logger,
  type ManagedPodStorage,
  type Pod,
  type PodStorageOptions,
  type PodTransport,
  type ResourceName,
  type WatchEvent,
} from '@podstorage/core';
import { FakeClock, FakeCluster, type LifecycleScript } from '@podstorage/fake';
import { assert, assertEqual, ConformanceAssertionError, describeValue } from './check.js';
import { RecordingTransport } from './recording-transport.js';
import { seededRandom } from './seeded-random.js';
import type { ConformanceBackend, ConformanceExpect, ConformanceFactory } from './types.js';
import { Collector, type Patience, settle, type Tracked, track, until } from './waiting.js';

/** The namespace most tests use. */
export const NAMESPACE = 'default';
/** A second namespace, for isolation checks. */
export const OTHER_NAMESPACE = 'other';

/** The storage settings every test starts from, so timings in assertions are known. */
export const TIMINGS = {
  inactivityTimeoutMs: 90_000,
  requestTimeoutMs: 30_000,
  finalReadTimeoutMs: 5_000,
  bookmarkIntervalMs: 60_000,
  watchTimeoutSeconds: { min: 300, max: 600 },
  backoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 },
} as const;

/** What a test needs different from the defaults. */
export interface ScenarioSettings {
  readonly mode?: 'simulated' | 'manual';
  readonly bookmarkIntervalMs?: number;
  readonly historySize?: number;
  readonly defaultLifecycle?: LifecycleScript;
  /** How the fake answers a watch from a version newer than it has (after `restore`). */
  readonly futureWatch?: 'error' | 'wait';
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

/** Steps of the fake clock for a wait: `stepMs` at a time, failing after `maxAdvanceMs`. */
export interface Steps {
  readonly stepMs: number;
  readonly maxAdvanceMs: number;
}

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
 */
export class Harness {
  readonly cluster: FakeCluster;
  readonly clock: FakeClock;
  readonly backend: ConformanceBackend;
  readonly transport: RecordingTransport;
  readonly storage: ManagedPodStorage;
  readonly logs: LogEntry[] = [];
  readonly patience: Patience;
  readonly #expect: ConformanceExpect;
  readonly #oracles: AbortController[] = [];
  readonly #collectors: Collector<unknown>[] = [];

  private constructor(
    cluster: FakeCluster,
    backend: ConformanceBackend,
    settings: ScenarioSettings,
    patience: Patience,
    expect: ConformanceExpect,
  ) {
    this.cluster = cluster;
    this.clock = cluster.clock;
    this.backend = backend;
    this.patience = patience;
    this.#expect = expect;
    const below = settings.wrap ? settings.wrap(backend.transport, cluster) : backend.transport;
    this.transport = new RecordingTransport(below, () => this.clock.now());
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
      inactivityTimeoutMs: TIMINGS.inactivityTimeoutMs,
      requestTimeoutMs: TIMINGS.requestTimeoutMs,
      finalReadTimeoutMs: TIMINGS.finalReadTimeoutMs,
      watchTimeoutSeconds: TIMINGS.watchTimeoutSeconds,
      backoff: TIMINGS.backoff,
      ...settings.storage,
      clock: this.clock,
    });
  }

  static async create(
    factory: ConformanceFactory,
    settings: ScenarioSettings,
    patience: Patience,
    expect: ConformanceExpect,
  ): Promise<Harness> {
    const clock = new FakeClock();
    const cluster = new FakeCluster({
      clock,
      mode: settings.mode ?? 'manual',
      bookmarkIntervalMs: settings.bookmarkIntervalMs ?? TIMINGS.bookmarkIntervalMs,
      namespaces: [NAMESPACE, OTHER_NAMESPACE],
      ...(settings.historySize === undefined ? {} : { historySize: settings.historySize }),
      ...(settings.defaultLifecycle === undefined ? {} : { defaultLifecycle: settings.defaultLifecycle }),
      ...(settings.futureWatch === undefined ? {} : { futureWatch: settings.futureWatch }),
    });
    const backend = await factory(cluster);
    return new Harness(cluster, backend, settings, patience, expect);
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

  /** Waits for `condition`, yielding real turns; with `steps`, also moving the fake clock. */
  until(condition: () => boolean, description: string, steps?: Steps): Promise<void> {
    return until(condition, this.patience, {
      description,
      detail: () => this.detail(),
      ...(steps ? { steps: { clock: this.clock, ...steps } } : {}),
    });
  }

  /** Moves the fake clock `ms` forward in `stepMs` steps, yielding real turns between steps. */
  async advance(ms: number, stepMs = Math.min(ms, 1_000)): Promise<void> {
    let left = ms;
    while (left > 0) {
      const step = Math.min(stepMs, left);
      await settle(this.patience.turnsPerStep);
      await this.clock.advance(step);
      left -= step;
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

  /** Waits until the storage holds an open watch stream of `resource` that the cluster counts as active. */
  watching(resource: ResourceName, description = `an open ${resource} watch`): Promise<void> {
    return this.until(
      () => this.transport.openStreams(resource) >= 1 && this.cluster.stats().activeWatches >= 1,
      description,
    );
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
    return `  clock: ${this.clock.now()} ms; cluster stats: ${stats}; storage counters: ${counters}\n  requests the storage made:\n${this.transport.summary() || '  (none)'}`;
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
    try {
      // A storage that hammered the cluster (a retry without backoff) fails the test, first of all.
      this.cluster.assertNoHotLoop();
    } catch (error) {
      problems.unshift(error);
    }
    if (testPassed && problems.length > 0) throw problems[0];
  }
}
