import { type ConformanceClock, Harness, type ScenarioSettings } from './harness.js';
import type { ConformanceCapabilities, ConformanceFactory, ConformanceRunner } from './types.js';
import type { Patience } from './waiting.js';

/** A test body: gets a fresh harness, must throw to fail. */
export type ScenarioBody = (harness: Harness) => Promise<void>;

/** Per-test settings plus the capabilities it needs. */
export interface ScenarioOptions extends ScenarioSettings {
  readonly requires?: readonly (keyof ConformanceCapabilities)[];
}

/** Registers the scenarios of one group with the runner, each with its own cluster, backend and storage. */
export class SuiteBuilder {
  readonly #runner: ConformanceRunner;
  readonly #factory: ConformanceFactory;
  readonly #capabilities: ConformanceCapabilities;
  readonly #patience: Patience;
  readonly #testTimeoutMs: number;
  readonly #concurrent: boolean;
  /** The clock every scenario of this run uses. */
  readonly clock: ConformanceClock;

  constructor(
    runner: ConformanceRunner,
    factory: ConformanceFactory,
    capabilities: ConformanceCapabilities,
    patience: Patience,
    testTimeoutMs: number,
    clock: ConformanceClock = 'fake',
    concurrent = false,
  ) {
    this.clock = clock;
    this.#concurrent = concurrent;
    this.#runner = runner;
    this.#factory = factory;
    this.#capabilities = capabilities;
    this.#patience = patience;
    this.#testTimeoutMs = testTimeoutMs;
  }

  /** A group of scenarios. */
  group(name: string, register: () => void): void {
    this.#runner.describe(name, register);
  }

  /** One scenario; skipped (reported as such) when the backend lacks a capability it requires. */
  test(name: string, body: ScenarioBody, options: ScenarioOptions = {}): void {
    const missing = (options.requires ?? []).filter((capability) => !this.#capabilities[capability]);
    const run = async (): Promise<void> => {
      const harness = await Harness.create(
        this.#factory,
        options,
        this.#patience,
        this.#runner.expect,
        this.clock,
      );
      let passed = false;
      try {
        await body(harness);
        passed = true;
      } finally {
        await harness.dispose(passed);
      }
    };
    const it = this.#concurrent ? this.#runner.it.concurrent : this.#runner.it;
    // Checked when the suite is built, so that asking for concurrency cannot silently run tests one by one.
    if (it === undefined) throw new Error('runConformance: concurrent needs a runner with it.concurrent');
    if (missing.length > 0) {
      const skip = it.skip;
      // Checked when the suite is built, so a runner without it.skip cannot turn a skip into a pass.
      if (skip === undefined) throw new Error(`runConformance: the runner has no it.skip to skip "${name}"`);
      skip(`${name} (needs capability: ${missing.join(', ')})`, run);
      return;
    }
    if (this.#testTimeoutMs > 0) it(name, run, this.#testTimeoutMs);
    else it(name, run);
  }
}
