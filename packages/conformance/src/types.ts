import type { PodTransport } from '@podstorage/core';
import type { FakeCluster } from '@podstorage/fake';
import type { ConformanceClock } from './harness.js';
import type { Patience } from './waiting.js';

/** A test body as the suite registers it. */
export type ConformanceTestFunction = () => Promise<void>;

/**
 * The `it` of a test runner (vitest, jest, node:test, mocha): `it(name, fn, timeoutMs?)`, and
 * `it.skip(name, fn)` to report a test as skipped; `it.concurrent` (vitest, jest) for
 * {@link ConformanceOptions.concurrent}.
 */
export interface ConformanceIt {
  (name: string, fn: ConformanceTestFunction, timeoutMs?: number): void;
  skip?: (name: string, fn: ConformanceTestFunction) => void;
  concurrent?: ConformanceIt;
}

/** The `describe` of a test runner. */
export type ConformanceDescribe = (name: string, fn: () => void) => void;

/** The matchers the suite uses from the runner's `expect` (vitest and jest both have them). */
export interface ConformanceMatchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
}

/** The `expect` of a test runner. */
export type ConformanceExpect = (actual: unknown) => ConformanceMatchers;

/** The test runner functions the suite registers its tests with. Pass vitest's or jest's globals. */
export interface ConformanceRunner {
  readonly describe: ConformanceDescribe;
  readonly it: ConformanceIt;
  readonly expect: ConformanceExpect;
}

/** A backend under test, connected to the fake cluster the suite made for one test. */
export interface ConformanceBackend {
  /** The transport to build the storage on. */
  readonly transport: PodTransport;
  /** Releases the backend (sockets, servers). Called after every test, after the storage is closed. */
  close?(): Promise<void>;
  /**
   * Sockets, streams or other handles the backend holds open for its callers right now. After the
   * storage is closed it must come back to 0; leave it out if the backend cannot tell. Give it the
   * transport's own `openHandles()` (every bundled transport has it): not the server's
   * `openConnections()`, which also counts the idle keep-alive sockets of a healthy connection pool.
   */
  openHandles?(): number;
}

/** Makes a backend for one test, connected to `cluster` (in process, or over a server you start). */
export type ConformanceFactory = (cluster: FakeCluster) => ConformanceBackend | Promise<ConformanceBackend>;

/**
 * What a backend can do. A group whose capability is `false` is registered with `it.skip`, so the runner
 * reports it as skipped. Every capability defaults to `true`.
 */
export interface ConformanceCapabilities {
  /**
   * The backend can be cancelled while a watch request waits for its response headers (the fake's
   * `faults.stallNextWatch()`), and reports a watch as started only once headers arrived.
   */
  readonly stallBeforeHeaders: boolean;
  /** The fake's added latency (`faults.latency()`) reaches this backend, so slow servers can be tested. */
  readonly latency: boolean;
  /** The transport offers the optional `create` (for pods and events). */
  readonly create: boolean;
  /** The transport offers the optional `readPodLog` (container logs, for `logsForPod`). */
  readonly logs: boolean;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** What the backend cannot do; groups that need it are skipped. */
  readonly capabilities?: Partial<ConformanceCapabilities>;
  /** The name of the top-level `describe`. Default `PodStorage conformance`. */
  readonly name?: string;
  /** How long to wait for conditions in real time and event-loop turns (raise for slow network backends). */
  readonly patience?: Partial<Patience>;
  /** Passed as the per-test timeout to `it`; 0 passes none. Default 60 000. */
  readonly testTimeoutMs?: number;
  /**
   * The clock the scenarios run on. `'fake'` (default): the storage and the cluster share the cluster's
   * manual `FakeClock`, moved by the suite, so runs are deterministic and instant. `'system'`: the storage
   * runs on core's real `systemClock` and the cluster's clock follows real time, with every timing
   * scaled down (a 90 s inactivity timeout becomes 900 ms); waits are bounded in real time. It finds what
   * only real timers show (a timer firing before `performance.now()` reaches its deadline) and takes a
   * few seconds of real time per group: run it next to the fake-clock run, over at least one transport.
   */
  readonly clock?: ConformanceClock;
  /**
   * Registers the tests with `it.concurrent`, so the runner runs several at once (vitest: up to its
   * `maxConcurrency`, 5 by default). Every test has its own cluster, backend and storage, so they do not
   * interfere; worth it on the system clock, where a test spends most of its time waiting on real time.
   * Default `false`.
   */
  readonly concurrent?: boolean;
}
