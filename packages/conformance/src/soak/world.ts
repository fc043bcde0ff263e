import {
  createPodStorage,
  KubernetesError,
  type Logger,
  type ManagedPodStorage,
  type PodChange,
  type PodPhase,
  PodTimeoutError,
  phaseOf,
  UNFINISHED_PHASES,
} from '@podstorage/core';
import { FakeClock, FakeCluster, type InjectedStatus, type RequestVerb } from '@podstorage/fake';
import { describeValue } from '../check.js';
import { podManifest } from '../harness.js';
import { RecordingTransport } from '../recording-transport.js';
import { seededRandom } from '../seeded-random.js';
import { opaqueResourceVersions, revealResourceVersion } from '../transport-wrappers.js';
import type { ConformanceBackend, ConformanceFactory } from '../types.js';
import { type ChangesOperation, consume, type EventsOperation, type WaitOperation } from './operations.js';
import type { SoakSettings } from './options.js';
import { RateGuardTransport } from './rate-guard.js';
import { fakeTime, type SoakTime, systemTime } from './time.js';
import { type Incarnation, SENTINEL, Truth } from './truth.js';

/** The namespace of every soak pod. */
export const SOAK_NAMESPACE = 'default';

/** What varies per run besides the commands: drawn by fast-check, so a seed fixes it. */
export interface RunSettings {
  /** `PodStorageOptions.sharedWatchThreshold`: 1 makes every wait join the namespace-wide watch. */
  readonly sharedWatchThreshold: number;
  /** Seeds the storage's jitter. */
  readonly randomSeed: number;
  /** `PodStorageOptions.pageSize`: small pages make lists span pages, whose tokens can expire. */
  readonly pageSize: number;
  /** The storage sees opaque, unordered resourceVersions (Kubernetes promises only equality). */
  readonly opaqueVersions: boolean;
}

/** A fault the soak injects through `cluster.faults`. */
export type FaultSpec =
  | {
      readonly kind: 'resetWatches' | 'stallWatches' | 'endWatches' | 'stallNextWatch';
      readonly resource?: 'pods' | 'events';
    }
  | {
      readonly kind: 'cutWatchesAfter';
      readonly events: number;
      readonly upcoming?: number;
      readonly resource?: 'pods' | 'events';
    }
  | { readonly kind: 'compact' }
  | {
      readonly kind: 'failNext';
      readonly count: number;
      readonly status: InjectedStatus;
      readonly verbs?: readonly RequestVerb[];
      readonly resource?: 'pods' | 'events';
    }
  | {
      readonly kind: 'latency';
      readonly ms: number;
      readonly verbs?: readonly RequestVerb[];
      readonly resource?: 'pods' | 'events';
    };

/** How a pod is deleted by a command. */
export type DeleteMode = { readonly kind: 'now' } | { readonly kind: 'graceful'; readonly seconds: number };

/** A promise of the design the backend broke, found by the soak. */
export class SoakViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoakViolation';
  }
}

const TERMINAL: readonly PodPhase[] = ['Succeeded', 'Failed'];
/** The phase changes a kubelet makes: finished pods stay finished; Unknown (node lost) may come back. */
const NEXT_PHASES: Readonly<Record<PodPhase, readonly PodPhase[]>> = {
  Pending: ['Running', 'Succeeded', 'Failed', 'Unknown'],
  Running: ['Succeeded', 'Failed', 'Unknown'],
  Unknown: ['Running', 'Succeeded', 'Failed'],
  Succeeded: [],
  Failed: [],
};
const FINALIZER = 'soak.podstorage.dev/hold';
/** Far above what a handful of pods and consumers need (watches last seconds), far below a hot loop. */
const MAX_REQUESTS_PER_SECOND = 300;
const LOG_LINES = 40;

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);

/**
 * One soak run's world: a fresh fake cluster in manual mode, the backend under test connected to it, a
 * recording transport in front of the backend, the storage, the truth the soak observes, and every
 * operation it started. Commands act on it; `finish()` stops the faults, lets the system converge and
 * checks every promise; `dispose()` cleans up after a failure.
 */
export class SoakWorld {
  readonly cluster: FakeCluster;
  readonly time: SoakTime;
  readonly backend: ConformanceBackend;
  readonly transport: RecordingTransport;
  readonly storage: ManagedPodStorage;
  readonly truth: Truth;
  readonly settings: SoakSettings;
  readonly waits: WaitOperation[] = [];
  readonly events: EventsOperation[] = [];
  readonly changes: ChangesOperation[] = [];
  readonly #commandLog: string[] = [];
  /** The observation at which each namespace-wide pod watch request was made. */
  readonly #namespaceWatches: number[] = [];
  readonly #storageLog: string[] = [];
  readonly #violations: string[] = [];
  /** Every event message recorded, with the pod (name and uid, if it existed) it was about. */
  readonly #messages = new Map<string, { name: string; uid: string | undefined }>();
  #nextId = 1;
  #nextMessage = 1;
  #nextLabel = 1;
  #closed = false;
  #checkedForeign = 0;

  private constructor(
    cluster: FakeCluster,
    time: SoakTime,
    backend: ConformanceBackend,
    settings: SoakSettings,
    run: RunSettings,
  ) {
    this.cluster = cluster;
    this.time = time;
    this.backend = backend;
    this.settings = settings;
    const guarded = new RateGuardTransport(
      backend.transport,
      () => time.now(),
      MAX_REQUESTS_PER_SECOND + 1,
      (resource, options) => {
        // The engine watches only once its list is done: from then on every consumer of the
        // namespace-wide pod watch has its view, and every later change reaches it. The truth is
        // brought up to date first: a change the storage itself made while its list was in flight
        // (its own delete) is in that list, so it belongs to the view, not after it.
        if (resource === 'pods' && options.fieldSelector === undefined) {
          this.observe();
          this.#namespaceWatches.push(this.truth.seq);
        }
      },
    );
    this.transport = new RecordingTransport(guarded, () => time.now());
    // Opaque versions above the recorder: the storage sees them, the soak's records keep the cluster's.
    const below = run.opaqueVersions ? opaqueResourceVersions(this.transport) : this.transport;
    this.truth = new Truth(cluster, SOAK_NAMESPACE, [...settings.names, SENTINEL], () => time.now());
    const record =
      (level: string) =>
      (fields: object, message?: string): void => {
        if (level === 'debug') return;
        this.#storageLog.push(`@${Math.round(time.now())}ms ${level} ${message ?? ''} ${safeJson(fields)}`);
        if (this.#storageLog.length > LOG_LINES) this.#storageLog.shift();
      };
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const { timings } = settings;
    this.storage = createPodStorage(below, {
      clock: time.storageClock,
      logger,
      random: seededRandom(run.randomSeed),
      inactivityTimeoutMs: timings.inactivityTimeoutMs,
      requestTimeoutMs: timings.requestTimeoutMs,
      finalReadTimeoutMs: timings.finalReadTimeoutMs,
      watchTimeoutSeconds: timings.watchTimeoutSeconds,
      backoff: timings.backoff,
      sharedWatchThreshold: run.sharedWatchThreshold,
      pageSize: run.pageSize,
    });
  }

  /** Makes the cluster (manual mode, long history so only `compact` expires versions) and the backend. */
  static async create(
    factory: ConformanceFactory,
    settings: SoakSettings,
    run: RunSettings,
  ): Promise<SoakWorld> {
    const clock = new FakeClock();
    const cluster = new FakeCluster({
      clock,
      mode: 'manual',
      bookmarkIntervalMs: settings.timings.bookmarkIntervalMs,
      historySize: 100_000,
      namespaces: [SOAK_NAMESPACE],
    });
    const time = settings.clock === 'fake' ? fakeTime(clock) : systemTime(clock, settings.clusterSpeed);
    let backend: ConformanceBackend;
    try {
      backend = await factory(cluster);
    } catch (error) {
      await time.stop();
      throw error;
    }
    return new SoakWorld(cluster, time, backend, settings, run);
  }

  // ---- commands -----------------------------------------------------------------------------------

  /** Runs one command's action, then observes, lets in-flight work settle, and checks what ended. */
  async step(description: string, action: () => unknown): Promise<void> {
    const line = `#${this.truth.seq + 1} ${description}`;
    this.#commandLog.push(line);
    if (this.settings.trace) console.error(`soak: ${line}`);
    const result = await action();
    // A command that picks its target at run time says which one it picked.
    if (typeof result === 'string') this.#commandLog[this.#commandLog.length - 1] = `${line}: ${result}`;
    this.observe();
    await this.time.settle();
    this.observe();
    this.check();
  }

  /** Observes the cluster (see {@link Truth.observe}). */
  observe(): void {
    this.truth.observe();
  }

  createPod(name: string, finalizer: boolean): void {
    if (this.cluster.getPod(SOAK_NAMESPACE, name) !== undefined) return;
    const manifest = podManifest(name, SOAK_NAMESPACE, {
      nodeName: 'fake-node-1',
      ...(finalizer ? { finalizers: [FINALIZER] } : {}),
    });
    this.truth.note(this.cluster.createPod(manifest));
  }

  /** Deletes the pod at once (finalizers removed first) and creates a new one of the same name. */
  replacePod(name: string, finalizer: boolean): void {
    if (this.truth.current.get(name) !== undefined) {
      this.#removeAtOnce(name);
      this.observe();
    }
    this.createPod(name, finalizer);
  }

  setPhase(name: string, choice: number): void {
    const pod = this.cluster.getPod(SOAK_NAMESPACE, name);
    if (pod === undefined) return;
    const options = NEXT_PHASES[phaseOf(pod)];
    if (options.length === 0) return;
    const phase = options[choice % options.length] as PodPhase;
    this.truth.note(this.cluster.setPodPhase(SOAK_NAMESPACE, name, phase));
  }

  deletePod(name: string, mode: DeleteMode): void {
    const incarnation = this.truth.current.get(name);
    if (incarnation === undefined) return;
    incarnation.deletionRequested = true;
    const pod = this.cluster.deletePod(SOAK_NAMESPACE, name, {
      gracePeriodSeconds: mode.kind === 'now' ? 0 : mode.seconds,
    });
    this.#noteDeletionResult(incarnation, pod);
  }

  removeFinalizers(name: string): void {
    const incarnation = this.truth.current.get(name);
    if (incarnation === undefined) return;
    const before = BigInt(this.cluster.resourceVersion());
    const pod = this.cluster.removeFinalizers(SOAK_NAMESPACE, name);
    const after = BigInt(this.cluster.resourceVersion());
    this.truth.note(pod);
    // Finalizers removed (MODIFIED), then the deletion finished (DELETED), in one call.
    if (pod === undefined && after === before + 2n) {
      incarnation.versions.add(String(before + 1n));
      incarnation.deletionVersions.add(String(after));
    } else if (pod !== undefined && after === before + 1n) {
      incarnation.versions.add(String(after));
    }
  }

  /** Records an event about the pod (or about its name, when no pod has it); `recurring` repeats one. */
  recordEvent(name: string, recurring: boolean, choice: number): void {
    const uid = this.truth.current.get(name)?.uid;
    const earlier = [...this.#messages.entries()]
      .filter(([, about]) => about.name === name && about.uid === uid)
      .map(([message]) => message);
    let message: string;
    if (recurring && earlier.length > 0) message = earlier[choice % earlier.length] as string;
    else {
      message = `soak event ${this.#nextMessage++} about ${name}`;
      this.#messages.set(message, { name, uid });
    }
    this.cluster.recordPodEvent({ namespace: SOAK_NAMESPACE, name }, { reason: 'SoakEvent', message });
  }

  startWait(
    kind: WaitOperation['kind'],
    name: string,
    untilNot: readonly PodPhase[],
    timeoutMs: number,
    cancellable: boolean,
  ): void {
    this.observe();
    const controller = cancellable ? new AbortController() : undefined;
    const operation: WaitOperation = {
      id: this.#nextId++,
      kind,
      name,
      untilNot: kind === 'deleteAfterCompletion' ? UNFINISHED_PHASES : untilNot,
      timeoutMs,
      startSeq: this.truth.seq,
      startTime: this.time.now(),
      controller,
      status: 'pending',
      value: undefined,
      reason: undefined,
      settleSeq: undefined,
      settleTime: undefined,
      cancelled: false,
      checked: false,
    };
    const signal = controller ? { signal: controller.signal } : {};
    const promise =
      kind === 'waitForPhase'
        ? this.storage.waitForPhase(name, SOAK_NAMESPACE, timeoutMs, { untilNot, ...signal })
        : this.storage.deleteAfterCompletion(name, SOAK_NAMESPACE, timeoutMs, signal);
    promise.then(
      (value) => {
        operation.status = 'fulfilled';
        operation.value = value;
        operation.settleSeq = this.truth.seq;
        operation.settleTime = this.time.now();
      },
      (reason: unknown) => {
        operation.status = 'rejected';
        operation.reason = reason;
        operation.settleSeq = this.truth.seq;
        operation.settleTime = this.time.now();
      },
    );
    this.waits.push(operation);
  }

  /** Cancels the `index`-th pending cancellable wait through its signal. */
  cancel(index: number): string {
    const pending = this.waits.filter((wait) => wait.controller !== undefined && wait.status === 'pending');
    const wait = pending[index % Math.max(1, pending.length)];
    if (wait === undefined) return 'nothing to cancel';
    wait.cancelled = true;
    const reason = new Error(`cancelled by the soak: ${wait.kind}#${wait.id}`);
    reason.name = 'SoakCancellation';
    wait.controller?.abort(reason);
    return `${wait.kind}#${wait.id}`;
  }

  startEvents(name: string, timeoutMs: number): void {
    this.observe();
    // Taken before the call, which starts the iteration's deadline: a pause between the two (a garbage
    // collection on a loaded machine took 3 ms) must not make a timely end look early.
    const startTime = this.time.now();
    const iterator = this.storage.eventsForPod(name, SOAK_NAMESPACE, timeoutMs);
    this.events.push(
      consume(
        iterator,
        { id: this.#nextId++, startSeq: this.truth.seq, startTime },
        { name, timeoutMs },
        () => ({ seq: this.truth.seq, time: this.time.now() }),
      ),
    );
  }

  startChanges(): void {
    this.observe();
    const startTime = this.time.now();
    const iterator = this.storage.watchPodChanges(SOAK_NAMESPACE);
    this.changes.push(
      consume(iterator, { id: this.#nextId++, startSeq: this.truth.seq, startTime }, {}, () => ({
        seq: this.truth.seq,
        time: this.time.now(),
      })),
    );
  }

  /** Stops the `index`-th running consumer with `return()` (while its `next()` is pending). */
  stopConsumer(kind: 'events' | 'changes', index: number): string {
    const list: (EventsOperation | ChangesOperation)[] = kind === 'events' ? this.events : this.changes;
    const running = list.filter((consumer) => consumer.status === 'running' && !consumer.stopped);
    const consumer = running[index % Math.max(1, running.length)];
    if (consumer === undefined) return 'nothing to stop';
    consumer.stopped = true;
    void consumer.iterator.return?.().catch((error: unknown) => {
      this.#violation(`${kind} consumer #${consumer.id}: return() rejected with ${describeError(error)}`);
    });
    return `${kind}#${consumer.id}`;
  }

  fault(spec: FaultSpec): void {
    const { faults } = this.cluster;
    const filter = 'resource' in spec && spec.resource !== undefined ? { resource: spec.resource } : {};
    switch (spec.kind) {
      case 'resetWatches':
        faults.resetWatches(filter);
        return;
      case 'stallWatches':
        faults.stallWatches(filter);
        return;
      case 'endWatches':
        faults.endWatches(filter);
        return;
      case 'stallNextWatch':
        faults.stallNextWatch(filter);
        return;
      case 'cutWatchesAfter':
        faults.cutWatchesAfter(spec.events, {
          ...filter,
          ...(spec.upcoming === undefined ? {} : { upcoming: spec.upcoming }),
        });
        return;
      case 'compact':
        faults.compact();
        return;
      case 'failNext':
        faults.failNext(spec.count, spec.status, { ...filter, ...(spec.verbs ? { verbs: spec.verbs } : {}) });
        return;
      case 'latency':
        faults.latency(spec.ms, { ...filter, ...(spec.verbs ? { verbs: spec.verbs } : {}) });
        return;
    }
  }

  clearFaults(): void {
    this.cluster.faults.clear();
  }

  passTime(ms: number): Promise<void> {
    return this.time.pass(ms, () => this.observe());
  }

  // ---- checks -------------------------------------------------------------------------------------

  /** Checks every operation that ended and every deletion the soak did not make; throws on a violation. */
  check(): void {
    const foreign = this.truth.foreignDeletions;
    for (; this.#checkedForeign < foreign.length; this.#checkedForeign += 1) {
      const deletion = foreign[this.#checkedForeign];
      if (deletion !== undefined)
        this.#checkForeignDeletion(deletion.incarnation, deletion.seq, deletion.phase);
    }
    for (const wait of this.waits) {
      if (wait.checked || wait.settleSeq === undefined || this.truth.seq <= wait.settleSeq) continue;
      wait.checked = true;
      this.#checkWait(wait);
    }
    for (const consumer of this.events) this.#checkEvents(consumer, false);
    for (const consumer of this.changes) this.#checkChanges(consumer);
    this.#checkRequestRate();
    if (this.cluster.watchdog.tripped || this.cluster.watchdog.violations().length > 0) {
      try {
        this.cluster.watchdog.assertNoHotLoop();
      } catch (error) {
        this.#violation(`the fake cluster's watchdog: ${describeError(error)}`);
      }
    }
    this.#throwViolations();
  }

  #rateChecked = 0;

  /**
   * A client that retries without backing off floods the API server (and, in process, the event loop):
   * no second of scenario time may hold more than {@link MAX_REQUESTS_PER_SECOND} requests.
   */
  #checkRequestRate(): void {
    const { calls } = this.transport;
    for (; this.#rateChecked < calls.length; this.#rateChecked += 1) {
      const call = calls[this.#rateChecked] as (typeof calls)[number];
      const earlier = calls[this.#rateChecked - MAX_REQUESTS_PER_SECOND];
      if (earlier !== undefined && call.at - earlier.at < 1_000) {
        this.#violation(
          `hot loop: ${MAX_REQUESTS_PER_SECOND + 1} requests within ${Math.round(call.at - earlier.at)} ms (the last: ${call.verb} ${call.resource} ${call.name ?? ''})`,
        );
        this.#rateChecked = calls.length;
        return;
      }
    }
  }

  /** Violations left out because they matched `ignore`. */
  readonly ignored: string[] = [];

  readonly #reported = new Set<string>();

  #violation(message: string): void {
    // Checks run after every command: report each broken promise once.
    if (this.#reported.has(message)) return;
    this.#reported.add(message);
    if (this.settings.ignore?.test(message)) this.ignored.push(message);
    else this.#violations.push(message);
  }

  #throwViolations(): void {
    if (this.#violations.length === 0) return;
    const names = new Set<string>();
    for (const line of this.#violations)
      for (const name of [...this.settings.names, SENTINEL]) if (line.includes(name)) names.add(name);
    throw new SoakViolation(`${this.#violations.join('\n')}\n${this.detail([...names])}`);
  }

  /** What happened, for a failure message: commands, pod histories, requests, counters, storage logs. */
  detail(names: readonly string[] = this.settings.names): string {
    const calls = this.transport.summary().split('\n');
    const shown =
      calls.length > 80 ? [`  (${calls.length - 80} earlier requests left out)`, ...calls.slice(-80)] : calls;
    let counters = '';
    try {
      counters = JSON.stringify(this.storage.counters());
    } catch {
      counters = '(unavailable)';
    }
    return [
      `  clock: ${this.time.mode}, now ${Math.round(this.time.now())} ms, observation #${this.truth.seq}`,
      '  commands (#observation when it ran):',
      ...this.#commandLog.map((line) => `    ${line}`),
      '  pods (#observation state@resourceVersion):',
      ...names.map((name) => this.truth.describe(name)),
      `  storage counters: ${counters}; cluster stats: ${JSON.stringify(this.cluster.stats())}`,
      '  storage warnings and errors (latest):',
      ...(this.#storageLog.length > 0 ? this.#storageLog.map((line) => `    ${line}`) : ['    (none)']),
      '  requests the storage made (latest):',
      ...shown,
    ].join('\n');
  }

  #describeWait(wait: WaitOperation): string {
    return `${wait.kind}#${wait.id}(${wait.name}, untilNot [${wait.untilNot.join(', ')}], timeout ${wait.timeoutMs} ms) started at #${wait.startSeq}`;
  }

  #checkWait(wait: WaitOperation): void {
    const what = `${this.#describeWait(wait)}, settled at #${wait.settleSeq}`;
    const settleSeq = wait.settleSeq as number;
    if (wait.status === 'fulfilled') {
      const value = wait.value;
      if (value === null || value === undefined) {
        if (!this.truth.goneBetween(wait.name, wait.startSeq, settleSeq + 1)) {
          this.#violation(`${what}: returned null, but a pod of that name existed all along`);
        }
        return;
      }
      if (wait.untilNot.includes(value)) {
        this.#violation(`${what}: returned ${value}, one of untilNot`);
        return;
      }
      if (this.truth.hadPhase(wait.name, value, wait.startSeq, settleSeq) === undefined) {
        this.#violation(`${what}: returned ${value}, a phase no pod of that name had since the wait began`);
        return;
      }
      if (wait.kind === 'deleteAfterCompletion' && !this.#deletedFinished(wait, value, settleSeq + 1)) {
        this.#violation(`${what}: returned ${value} but the pod that had it was not deleted`);
      }
      return;
    }
    if (wait.cancelled && wait.reason === wait.controller?.signal.reason) return;
    if (!PodTimeoutError.isInstance(wait.reason)) {
      this.#violation(`${what}: rejected with ${describeError(wait.reason)}`);
      return;
    }
    const elapsed = (wait.settleTime as number) - wait.startTime;
    if (!(elapsed >= wait.timeoutMs)) {
      this.#violation(
        `${what}: rejected with PodTimeoutError after ${elapsed.toFixed(1)} ms, before its timeout`,
      );
      return;
    }
    if (wait.kind === 'waitForPhase') this.#checkFinalRead(wait, what);
  }

  /** A deleteAfterCompletion that returned `phase`: a pod of the name that had it is gone or terminating. */
  #deletedFinished(wait: WaitOperation, phase: PodPhase, bySeq: number): boolean {
    return (this.truth.history.get(wait.name) ?? []).some((incarnation) => {
      const had = incarnation.states.some((state) => state.phase === phase);
      const deleting =
        (incarnation.deletedSeq !== undefined && incarnation.deletedSeq <= bySeq) ||
        incarnation.states.some((state) => state.terminating && state.seq <= bySeq);
      return had && deleting;
    });
  }

  /**
   * A wait that timed out must have read its pod once more, and that read must not have shown the pod
   * gone or outside untilNot (when the read succeeded and the wait's pod is beyond doubt).
   */
  #checkFinalRead(wait: WaitOperation, what: string): void {
    const deadline = wait.startTime + wait.timeoutMs;
    const settleTime = wait.settleTime as number;
    const reads = this.transport
      .callsOf('get', 'pods')
      .filter((call) => call.name === wait.name && call.at >= deadline && call.at <= settleTime);
    if (reads.length === 0) {
      this.#violation(`${what}: gave up at its timeout without reading the pod once more`);
      return;
    }
    const succeeded = reads.every(
      (call) =>
        call.outcome === 'fulfilled' || (KubernetesError.isInstance(call.error) && call.error.code === 404),
    );
    if (!succeeded) return;
    const first = Math.min(...reads.map((call) => call.at));
    // From the last observation made before the reads began (times can repeat on the fake clock).
    const to = wait.settleSeq as number;
    let from = wait.startSeq;
    for (let seq = wait.startSeq; seq <= to; seq += 1) if ((this.truth.times[seq] ?? 0) < first) from = seq;
    const seqs = Array.from({ length: to - from + 1 }, (_, index) => from + index);
    if (seqs.every((seq) => this.truth.aliveAt(wait.name, seq) === undefined)) {
      this.#violation(`${what}: timed out although its final read found no pod (expected null)`);
      return;
    }
    const bound = this.truth.aliveAt(wait.name, wait.startSeq);
    if (bound === undefined || (bound.deletedSeq !== undefined && bound.deletedSeq <= to)) return;
    const outside = seqs.every((seq) => {
      const at = this.truth.stateAt(wait.name, seq);
      return at !== undefined && !wait.untilNot.includes(at.state.phase);
    });
    if (outside) {
      this.#violation(`${what}: timed out although its final read found the pod outside untilNot`);
    }
  }

  #checkForeignDeletion(incarnation: Incarnation, seq: number, phase: PodPhase): void {
    const by = this.waits.find(
      (wait) =>
        wait.kind === 'deleteAfterCompletion' &&
        wait.name === incarnation.name &&
        wait.startSeq < seq &&
        (wait.settleSeq === undefined || wait.settleSeq >= seq - 1),
    );
    if (!TERMINAL.includes(phase) || by === undefined) {
      this.#violation(
        `pod ${incarnation.name} (uid ${incarnation.uid.slice(0, 8)}) began to be deleted at #${seq} in phase ${phase}, by no one the soak knows ${by ? '' : '(no deleteAfterCompletion of it was running)'}`,
      );
    }
  }

  /** The pod `eventsForPod` must be about: the one that existed when it began and all the time since. */
  #boundPod(consumer: EventsOperation): Incarnation | undefined {
    const incarnation = this.truth.aliveAt(consumer.name, consumer.startSeq);
    if (incarnation === undefined || incarnation.deletedSeq !== undefined) return undefined;
    return incarnation;
  }

  #checkEvents(consumer: EventsOperation, final: boolean): void {
    const what = `eventsForPod#${consumer.id}(${consumer.name}, timeout ${consumer.timeoutMs} ms) started at #${consumer.startSeq}`;
    const counts = this.#eventCounts();
    const bound = this.#boundPod(consumer);
    const yielded = new Map<string, number>();
    for (const { value: message, seq } of consumer.items) {
      yielded.set(message, (yielded.get(message) ?? 0) + 1);
      const about = this.#messages.get(message);
      if (about === undefined || about.name !== consumer.name) {
        this.#violation(
          `${what}: yielded ${JSON.stringify(message)} at #${seq}, not an event about this pod`,
        );
      } else if (bound !== undefined && about.uid !== undefined && about.uid !== bound.uid) {
        this.#violation(
          `${what}: yielded ${JSON.stringify(message)}, an event about another pod of that name`,
        );
      }
    }
    for (const [message, times] of yielded) {
      const count = counts.get(message)?.count ?? 1;
      if (times > count) {
        this.#violation(
          `${what}: yielded ${JSON.stringify(message)} ${times} times, but the event only occurred ${count} time(s)`,
        );
      }
    }
    if (consumer.status === 'failed') {
      this.#violation(`${what}: failed with ${describeError(consumer.error)}`);
    } else if (consumer.status === 'done' && !consumer.stopped) {
      const elapsed = (consumer.endTime as number) - consumer.startTime;
      if (!(elapsed >= consumer.timeoutMs)) {
        this.#violation(`${what}: ended after ${elapsed.toFixed(1)} ms, before its timeout`);
      }
    }
    if (final) {
      const missing = this.#missingEvents(consumer);
      if (missing.length > 0)
        this.#violation(`${what}: never yielded ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
    }
  }

  /** Events about the consumer's pod it has not yielded (only when its pod is beyond doubt and it runs). */
  #missingEvents(consumer: EventsOperation): string[] {
    const bound = this.#boundPod(consumer);
    if (bound === undefined || consumer.status !== 'running' || consumer.stopped) return [];
    const yielded = new Set(consumer.items.map((item) => item.value));
    return [...this.#eventCounts()]
      .filter(
        ([, event]) => event.name === consumer.name && (event.uid === undefined || event.uid === bound.uid),
      )
      .map(([message]) => message)
      .filter((message) => !yielded.has(message));
  }

  #eventCounts(): Map<string, { count: number; name: string | undefined; uid: string | undefined }> {
    const counts = new Map<string, { count: number; name: string | undefined; uid: string | undefined }>();
    for (const event of this.cluster.listEvents(SOAK_NAMESPACE).items) {
      if (!event.message) continue;
      counts.set(event.message, {
        count: event.count ?? 1,
        name: event.involvedObject?.name,
        uid: event.involvedObject?.uid,
      });
    }
    return counts;
  }

  readonly #checkedChanges = new Map<ChangesOperation, { index: number; seen: Set<string> }>();

  #checkChanges(consumer: ChangesOperation): void {
    const what = `watchPodChanges#${consumer.id} started at #${consumer.startSeq}`;
    let progress = this.#checkedChanges.get(consumer);
    if (progress === undefined) {
      progress = { index: 0, seen: new Set() };
      this.#checkedChanges.set(consumer, progress);
    }
    // An item is checked once an observation followed it, so that the version it carries is known.
    for (; progress.index < consumer.items.length; progress.index += 1) {
      const item = consumer.items[progress.index];
      if (item === undefined || item.seq >= this.truth.seq) break;
      const change: PodChange = item.value;
      const uid = change.pod.metadata?.uid ?? '';
      const name = change.pod.metadata?.name;
      const version = revealResourceVersion(change.pod.metadata?.resourceVersion ?? '');
      const key = `${name} uid ${uid.slice(0, 8)} at resourceVersion ${version}`;
      if (progress.seen.has(`${uid}@${version}`)) this.#violation(`${what}: yielded ${key} twice`);
      progress.seen.add(`${uid}@${version}`);
      if (change.phase !== phaseOf(change.pod)) {
        this.#violation(
          `${what}: yielded ${key} with phase ${change.phase}, but the pod says ${phaseOf(change.pod)}`,
        );
      }
      const incarnation = this.truth.byUid.get(uid);
      if (incarnation === undefined || incarnation.name !== name) {
        this.#violation(`${what}: yielded ${key}, a pod the soak never made`);
      } else if (version === incarnation.creationVersion) {
        this.#violation(`${what}: yielded ${key}, the pod's creation, not a modification`);
      } else if (incarnation.deletionVersions.has(version)) {
        this.#violation(`${what}: yielded ${key}, the pod's deletion, not a modification`);
      } else if (!incarnation.versions.has(version) && !this.#unobservedModification(incarnation, version)) {
        this.#violation(`${what}: yielded ${key}, a version the pod never had as a modification`);
      }
    }
    if (consumer.status === 'failed')
      this.#violation(`${what}: failed with ${describeError(consumer.error)}`);
    else if (consumer.status === 'done' && !consumer.stopped) this.#violation(`${what}: ended by itself`);
  }

  /**
   * Two changes of one pod can fall between two observations (the storage's delete and the cluster's
   * grace period both act on their own): a version strictly between two observed ones of the pod was a
   * modification the soak did not see. (The fake's versions are one decimal counter.)
   */
  #unobservedModification(incarnation: Incarnation, version: string): boolean {
    const number = Number(version);
    const seen = [...incarnation.versions].map(Number);
    return seen.some((low) => low < number) && seen.some((high) => high > number);
  }

  /**
   * Pods modified after the consumer had its view (its namespace-wide watch began) whose newest state
   * is not the newest it yielded of them.
   */
  #missingModifications(consumer: ChangesOperation): string[] {
    if (consumer.status !== 'running' || consumer.stopped) return [];
    const attached = this.#namespaceWatches.find((seq) => seq >= consumer.startSeq);
    if (attached === undefined) return [];
    const newest = new Map<string, string>();
    for (const { value } of consumer.items) {
      newest.set(
        value.pod.metadata?.uid ?? '',
        revealResourceVersion(value.pod.metadata?.resourceVersion ?? ''),
      );
    }
    const missing: string[] = [];
    for (const name of this.settings.names) {
      const incarnation = this.truth.current.get(name);
      const state = incarnation?.states.at(-1);
      if (incarnation === undefined || state === undefined) continue;
      const before = this.truth.stateAt(name, attached);
      const known =
        before?.incarnation === incarnation ? before.state.resourceVersion : incarnation.creationVersion;
      if (state.resourceVersion === known) continue;
      if (newest.get(incarnation.uid) !== state.resourceVersion) {
        missing.push(
          `${name} at resourceVersion ${state.resourceVersion} (${state.phase}, since #${state.seq})`,
        );
      }
    }
    return missing;
  }

  /** Pods whose newest state a running watchPodChanges consumer has not yielded. */
  #missingChanges(consumer: ChangesOperation): string[] {
    if (consumer.status !== 'running' || consumer.stopped) return [];
    const yielded = new Set(
      consumer.items.map(
        (item) =>
          `${item.value.pod.metadata?.uid}@${revealResourceVersion(item.value.pod.metadata?.resourceVersion)}`,
      ),
    );
    const missing: string[] = [];
    for (const name of [...this.settings.names, SENTINEL]) {
      const incarnation = this.truth.current.get(name);
      const state = incarnation?.states.at(-1);
      if (
        incarnation === undefined ||
        state === undefined ||
        state.resourceVersion === incarnation.creationVersion
      )
        continue;
      if (!yielded.has(`${incarnation.uid}@${state.resourceVersion}`)) {
        missing.push(`${name} at resourceVersion ${state.resourceVersion} (${state.phase})`);
      }
    }
    return missing;
  }

  // ---- the end of a run ---------------------------------------------------------------------------

  /**
   * Stops the faults and checks what the design promises once they stop: every consumer catches up,
   * every wait whose pod finished ends with the true outcome, every wait ends once the pods are gone, and
   * a closed storage leaves no stream, request, timer or handle behind.
   */
  async finish(finishPhases: readonly boolean[]): Promise<void> {
    const bound = this.settings.convergeMs;
    await this.step('end: faults stop (cluster.faults.clear())', () => this.clearFaults());

    // 1. Every watchPodChanges consumer catches up: a sentinel pod is modified until each one has
    //    yielded it, so that each one's view holds every pod made before.
    await this.step(`end: create ${SENTINEL}`, () => {
      this.truth.note(
        this.cluster.createPod(podManifest(SENTINEL, SOAK_NAMESPACE, { nodeName: 'fake-node-1' })),
      );
    });
    const started = this.time.now();
    const caughtUp = () =>
      this.changes.every(
        (consumer) =>
          consumer.status !== 'running' ||
          consumer.stopped ||
          consumer.items.some((item) => item.value.pod.metadata?.name === SENTINEL),
      );
    while (!caughtUp()) {
      this.#bumpSentinel();
      this.observe();
      const left = bound - (this.time.now() - started);
      try {
        await this.time.until(
          () => {
            this.observe();
            return caughtUp();
          },
          'every watchPodChanges consumer to yield the sentinel',
          Math.max(0, Math.min(left, 500)),
        );
      } catch (error) {
        if (this.time.now() - started >= bound) {
          this.#violation(
            `watchPodChanges consumers ${this.changes
              .filter((consumer) => consumer.status === 'running' && !consumer.stopped && !caughtUp())
              .map((consumer) => `#${consumer.id}`)
              .join(', ')} never caught up after the faults stopped (${describeError(error).split('\n')[0]})`,
          );
          this.#throwViolations();
        }
      }
      this.check();
    }

    // Without a relist nothing was coalesced: each consumer's newest yield of a pod is the pod's newest
    // state, for every pod modified since the consumer had its view.
    if (this.storage.counters().relists === 0) {
      for (const consumer of this.changes) {
        const missing = this.#missingModifications(consumer);
        if (missing.length > 0) {
          this.#violation(
            `watchPodChanges#${consumer.id} started at #${consumer.startSeq} (no relist in this run) missed the newest state of ${missing.join(', ')}`,
          );
        }
      }
      this.#throwViolations();
    }

    // 2. Every pod is modified once more: finished if it was not, else labelled.
    await this.step('end: finish every pod', () => {
      this.settings.names.forEach((name, index) => {
        const pod = this.cluster.getPod(SOAK_NAMESPACE, name);
        if (pod === undefined) return;
        if (TERMINAL.includes(phaseOf(pod))) this.#label(name);
        else
          this.truth.note(
            this.cluster.setPodPhase(SOAK_NAMESPACE, name, finishPhases[index] ? 'Succeeded' : 'Failed'),
          );
      });
    });
    await this.#converge('every wait whose pod finished to end, and every consumer to catch up', bound, () =>
      this.#unconverged(false),
    );
    for (const consumer of this.events) this.#checkEvents(consumer, true);
    this.#throwViolations();

    // 3. Consumers stop; they end at once and quietly.
    await this.step('end: stop every consumer', () => {
      for (const consumer of [...this.events, ...this.changes]) {
        if (consumer.status !== 'running' || consumer.stopped) continue;
        consumer.stopped = true;
        void consumer.iterator.return?.().catch((error: unknown) => {
          this.#violation(`consumer #${consumer.id}: return() rejected with ${describeError(error)}`);
        });
      }
    });
    await this.#converge('every consumer to end after return()', bound, () =>
      [...this.events, ...this.changes]
        .filter((consumer) => consumer.status === 'running')
        .map((consumer) => `consumer #${consumer.id}`),
    );

    // 4. Every pod goes; every wait ends.
    await this.step('end: delete every pod at once', () => {
      for (const name of [...this.settings.names, SENTINEL])
        if (this.truth.current.has(name)) this.#removeAtOnce(name);
    });
    await this.#converge('every wait to end once the pods are gone', bound, () => this.#unconverged(true));

    // 5. Closing leaves nothing open.
    await this.close(true);
  }

  /** Closes the storage and the backend; with `strict`, checks that nothing was left open. */
  async close(strict: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const problems: string[] = [];
    const attempt = async (what: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    const bound = this.settings.convergeMs;
    await attempt('storage.close()', async () => {
      let settled = false;
      let failure: unknown;
      this.storage.close().then(
        () => {
          settled = true;
        },
        (error: unknown) => {
          settled = true;
          failure = error;
        },
      );
      await this.time.until(() => settled, 'storage.close() to settle', bound);
      if (failure !== undefined) throw failure;
    });
    for (const consumer of [...this.events, ...this.changes]) {
      if (consumer.status === 'running') void consumer.iterator.return?.().catch(() => {});
    }
    if (strict) await attempt('operations called after storage.close()', () => this.#afterClose(bound));
    await attempt('after storage.close()', () =>
      this.time.until(
        () =>
          this.cluster.stats().activeWatches === 0 &&
          this.transport.openStreams() === 0 &&
          this.transport.pendingCalls() === 0,
        'no watch active on the cluster and no stream or request open in the storage',
        bound,
        () => this.transport.summary().split('\n').slice(-20).join('\n'),
      ),
    );
    const openHandles = this.backend.openHandles;
    if (openHandles) {
      await attempt('after storage.close()', () =>
        this.time.until(() => openHandles.call(this.backend) === 0, 'backend.openHandles() to be 0', bound),
      );
    }
    await attempt('after storage.close()', () =>
      this.time.until(
        () => this.time.storageClock.pendingTimers() === 0,
        `no timer of the storage left (${this.time.storageClock.pendingTimers()} pending)`,
        bound,
      ),
    );
    await attempt('backend.close()', async () => {
      await this.backend.close?.();
    });
    await attempt('stopping the cluster clock', () => this.time.stop());
    if (strict) {
      for (const problem of problems) this.#violation(problem);
      this.#throwViolations();
    }
  }

  /** Every operation called on a closed storage rejects (or ends), without sending a request. */
  async #afterClose(bound: number): Promise<void> {
    const before = this.transport.calls.length;
    const name = this.settings.names[0] as string;
    const settled: { what: string; done: boolean }[] = [];
    const watch = (what: string, promise: Promise<unknown>) => {
      const entry = { what, done: false };
      settled.push(entry);
      promise.then(
        () => {
          entry.done = true;
        },
        () => {
          entry.done = true;
        },
      );
    };
    const attempt = (what: string, start: () => Promise<unknown>) => {
      try {
        watch(what, start());
      } catch {
        // Throwing at once is also a refusal.
      }
    };
    attempt('waitForPhase', () =>
      this.storage.waitForPhase(name, SOAK_NAMESPACE, 60_000, { untilNot: ['Pending'] }),
    );
    attempt('deleteAfterCompletion', () => this.storage.deleteAfterCompletion(name, SOAK_NAMESPACE, 60_000));
    attempt('eventsForPod', () => this.storage.eventsForPod(name, SOAK_NAMESPACE, 60_000).next());
    attempt('watchPodChanges', () => this.storage.watchPodChanges(SOAK_NAMESPACE).next());
    try {
      await this.time.until(
        () => settled.every((entry) => entry.done),
        'every operation on the closed storage to settle',
        bound,
      );
    } catch {
      throw new Error(
        `still pending: ${settled
          .filter((entry) => !entry.done)
          .map((entry) => entry.what)
          .join(', ')}`,
      );
    }
    const sent = this.transport.calls.slice(before);
    if (sent.length > 0) {
      throw new Error(
        `sent ${sent.length} request(s) after close: ${sent.map((call) => `${call.verb} ${call.resource}`).join(', ')}`,
      );
    }
  }

  /** What has not converged yet; with `all`, every wait must have ended (the pods are gone). */
  #unconverged(all: boolean): string[] {
    this.observe();
    this.#checkRequestRate();
    if (this.#violations.length > 0) this.#throwViolations();
    const open: string[] = [];
    const now = this.time.now();
    for (const wait of this.waits) {
      if (wait.status !== 'pending') continue;
      const current = this.truth.current.get(wait.name);
      const state = current?.states.at(-1);
      const mustEnd =
        all ||
        wait.cancelled ||
        now >= wait.startTime + wait.timeoutMs ||
        state === undefined ||
        !wait.untilNot.includes(state.phase);
      if (mustEnd)
        open.push(`${this.#describeWait(wait)} is still pending (pod now: ${state?.phase ?? 'gone'})`);
    }
    if (!all) {
      for (const consumer of this.changes) {
        const missing = this.#missingChanges(consumer);
        if (missing.length > 0)
          open.push(`watchPodChanges#${consumer.id} has not yielded ${missing.join(', ')}`);
      }
      for (const consumer of this.events) {
        const missing = this.#missingEvents(consumer);
        if (missing.length > 0)
          open.push(`eventsForPod#${consumer.id}(${consumer.name}) has not yielded ${missing.join(', ')}`);
        if (
          consumer.status === 'running' &&
          now >= consumer.startTime + consumer.timeoutMs + this.settings.timings.requestTimeoutMs
        )
          open.push(`eventsForPod#${consumer.id}(${consumer.name}) did not end at its timeout`);
      }
    }
    return open;
  }

  async #converge(description: string, bound: number, open: () => string[]): Promise<void> {
    let last: string[] = [];
    try {
      await this.time.until(
        () => {
          last = open();
          return last.length === 0;
        },
        description,
        bound,
      );
    } catch {
      this.#violation(
        `after the faults stopped, timed out waiting for ${description}:\n    ${last.join('\n    ')}`,
      );
    }
    this.check();
  }

  #bumpSentinel(): void {
    this.#label(SENTINEL);
  }

  #label(name: string): void {
    const pod = this.cluster.getPod(SOAK_NAMESPACE, name);
    if (pod === undefined) return;
    const labels = { ...pod.metadata?.labels, 'soak.podstorage.dev/touch': String(this.#nextLabel++) };
    this.truth.note(this.cluster.updatePod({ ...pod, metadata: { ...pod.metadata, labels } }));
  }

  #removeAtOnce(name: string): void {
    const incarnation = this.truth.current.get(name);
    if (incarnation === undefined) return;
    incarnation.deletionRequested = true;
    this.removeFinalizers(name);
    if (this.cluster.getPod(SOAK_NAMESPACE, name)?.metadata?.uid !== incarnation.uid) return;
    const pod = this.cluster.deletePod(SOAK_NAMESPACE, name, { gracePeriodSeconds: 0 });
    this.#noteDeletionResult(incarnation, pod);
  }

  #noteDeletionResult(incarnation: Incarnation, pod: { metadata?: { resourceVersion?: string } }): void {
    const version = pod.metadata?.resourceVersion;
    if (version === undefined) return;
    // Gone at once: the returned object is the DELETED one; otherwise it is the MODIFIED (terminating) one.
    if (this.cluster.getPod(SOAK_NAMESPACE, incarnation.name)?.metadata?.uid === incarnation.uid)
      incarnation.versions.add(version);
    else incarnation.deletionVersions.add(version);
  }

  /** Cleans up after a failed run without checking anything (the first error is what matters). */
  async dispose(): Promise<void> {
    try {
      await this.close(false);
    } catch {
      // Already failing: the run's own error is reported.
    }
  }
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value, (_key, field: unknown) =>
      field instanceof Error ? `${field.name}: ${field.message}` : field,
    );
  } catch {
    return '(unprintable)';
  }
}
