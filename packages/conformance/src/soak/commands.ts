import type { PodPhase } from '@podstorage/core';
import type { InjectedStatus, RequestVerb } from '@podstorage/fake';
import fc from 'fast-check';
import type { DeleteMode, FaultSpec, SoakWorld } from './world.js';

/** The model fast-check threads through the commands; the truth lives in the world (the real cluster). */
export type SoakModel = Record<string, never>;

/** A soak command: every one is valid in every state (it does nothing when it cannot apply). */
export type SoakCommand = fc.AsyncCommand<SoakModel, SoakWorld>;

class Step implements SoakCommand {
  readonly #label: string;
  readonly #act: (world: SoakWorld) => unknown;

  constructor(label: string, act: (world: SoakWorld) => unknown) {
    this.#label = label;
    this.#act = act;
  }

  check(): boolean {
    return true;
  }

  run(_model: SoakModel, world: SoakWorld): Promise<void> {
    return world.step(this.#label, () => this.#act(world));
  }

  toString(): string {
    return this.#label;
  }
}

const ALL_PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Unknown', 'Succeeded', 'Failed'];
const LONG_TIMEOUT_MS = 600_000;

/** Timeouts: mostly longer than the run (the outcome decides), some short (the timeout decides), some huge. */
const timeoutMs = fc.oneof(
  { weight: 5, arbitrary: fc.constant(LONG_TIMEOUT_MS) },
  { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
  { weight: 1, arbitrary: fc.constant(3_000_000_000) },
  { weight: 3, arbitrary: fc.integer({ min: 20, max: 3_000 }) },
);

const showTimeout = (ms: number): string => (ms === Number.POSITIVE_INFINITY ? 'Infinity' : `${ms}`);

const resource = fc.option(fc.constantFrom('pods' as const, 'events' as const), { nil: undefined });
const verbs = fc.option(fc.subarray<RequestVerb>(['get', 'list', 'watch', 'delete'], { minLength: 1 }), {
  nil: undefined,
});

const statuses: fc.Arbitrary<InjectedStatus> = fc.constantFrom<InjectedStatus>(
  { code: 429, reason: 'TooManyRequests', message: 'injected: too many requests', retryAfterSeconds: 1 },
  { code: 429, reason: 'TooManyRequests', message: 'injected: too many requests', retryAfterSeconds: 0 },
  { code: 500, reason: 'InternalError', message: 'injected: internal error' },
  { code: 503, reason: 'ServiceUnavailable', message: 'injected: service unavailable' },
  { code: 504, reason: 'Timeout', message: 'injected: gateway timeout' },
);

/** A watch from a version the server does not have yet (it lost history, or lags): relist, not retry. */
const TOO_LARGE: InjectedStatus = {
  code: 504,
  reason: 'Timeout',
  message: 'injected: Too large resource version: 999999, current: 1',
};

function describeFault(spec: FaultSpec): string {
  const on = 'resource' in spec && spec.resource ? ` on ${spec.resource}` : '';
  switch (spec.kind) {
    case 'cutWatchesAfter':
      return `fault cutWatchesAfter(${spec.events}${spec.upcoming ? `, next ${spec.upcoming} watches` : ''})${on}`;
    case 'failNext':
      return `fault failNext(${spec.count}, ${spec.status.code}${spec.status === TOO_LARGE ? ' too large resource version' : ''}${spec.status.retryAfterSeconds === undefined ? '' : ` Retry-After ${spec.status.retryAfterSeconds}s`}${spec.verbs ? ` [${spec.verbs.join(',')}]` : ''})${on}`;
    case 'latency':
      return `fault latency(${spec.ms} ms${spec.verbs ? ` [${spec.verbs.join(',')}]` : ''})${on}`;
    default:
      return `fault ${spec.kind}${on}`;
  }
}

/** The fault commands the backend can take. */
function faults(capabilities: { stallBeforeHeaders: boolean; latency: boolean }): fc.Arbitrary<FaultSpec> {
  const kinds: fc.Arbitrary<FaultSpec>[] = [
    fc.record({ kind: fc.constant('resetWatches' as const), resource }),
    fc.record({ kind: fc.constant('stallWatches' as const), resource }),
    fc.record({ kind: fc.constant('endWatches' as const), resource }),
    fc.record({
      kind: fc.constant('cutWatchesAfter' as const),
      events: fc.integer({ min: 0, max: 3 }),
      upcoming: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
      resource,
    }),
    fc.constant({ kind: 'compact' as const }),
    fc.record({
      kind: fc.constant('failNext' as const),
      count: fc.integer({ min: 1, max: 3 }),
      status: statuses,
      verbs,
      resource,
    }),
    // Only a watch carries a resourceVersion that can be too large (lists and reads ask for the newest).
    fc.record({
      kind: fc.constant('failNext' as const),
      count: fc.integer({ min: 1, max: 3 }),
      status: fc.constant(TOO_LARGE),
      verbs: fc.constant<readonly RequestVerb[]>(['watch']),
      resource,
    }),
  ];
  if (capabilities.stallBeforeHeaders)
    kinds.push(fc.record({ kind: fc.constant('stallNextWatch' as const), resource }));
  if (capabilities.latency) {
    kinds.push(
      fc.record({
        kind: fc.constant('latency' as const),
        ms: fc.integer({ min: 5, max: 300 }),
        verbs,
        resource,
      }),
    );
  }
  return fc.oneof(...kinds);
}

/** Every command the soak draws from, weighted. */
export function soakCommands(settings: {
  readonly names: readonly string[];
  readonly stallBeforeHeaders: boolean;
  readonly latency: boolean;
}): fc.Arbitrary<SoakCommand>[] {
  const name = fc.constantFrom(...settings.names);
  const weighted: { weight: number; arbitrary: fc.Arbitrary<SoakCommand> }[] = [
    {
      weight: 4,
      arbitrary: fc
        .tuple(name, fc.boolean())
        .map(
          ([pod, finalizer]) =>
            new Step(`create ${pod}${finalizer ? ' (with a finalizer)' : ''}`, (w) =>
              w.createPod(pod, finalizer),
            ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(name, fc.boolean())
        .map(
          ([pod, finalizer]) =>
            new Step(
              `replace ${pod} by a new pod of the same name${finalizer ? ' (with a finalizer)' : ''}`,
              (w) => w.replacePod(pod, finalizer),
            ),
        ),
    },
    {
      weight: 6,
      arbitrary: fc
        .tuple(name, fc.nat(5))
        .map(
          ([pod, choice]) =>
            new Step(`move ${pod} to its next phase (choice ${choice})`, (w) => w.setPhase(pod, choice)),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          name,
          fc.oneof(
            fc.constant<DeleteMode>({ kind: 'now' }),
            fc.integer({ min: 1, max: 2 }).map<DeleteMode>((seconds) => ({ kind: 'graceful', seconds })),
          ),
        )
        .map(
          ([pod, mode]) =>
            new Step(
              `delete ${pod} ${mode.kind === 'now' ? 'with grace 0' : `with grace ${mode.seconds} s`}`,
              (w) => w.deletePod(pod, mode),
            ),
        ),
    },
    {
      weight: 1,
      arbitrary: name.map(
        (pod) => new Step(`remove the finalizers of ${pod}`, (w) => w.removeFinalizers(pod)),
      ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(name, fc.boolean(), fc.nat(5))
        .map(
          ([pod, recurring, choice]) =>
            new Step(
              `record ${recurring ? `a recurring event (choice ${choice})` : 'an event'} about ${pod}`,
              (w) => w.recordEvent(pod, recurring, choice),
            ),
        ),
    },
    {
      weight: 5,
      arbitrary: fc
        .tuple(name, fc.subarray([...ALL_PHASES], { minLength: 1, maxLength: 4 }), timeoutMs, fc.boolean())
        .map(
          ([pod, untilNot, timeout, cancellable]) =>
            new Step(
              `waitForPhase(${pod}, untilNot [${untilNot.join(', ')}], timeout ${showTimeout(timeout)}${cancellable ? ', with a signal' : ''})`,
              (w) => w.startWait('waitForPhase', pod, untilNot, timeout, cancellable),
            ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(name, timeoutMs)
        .map(
          ([pod, timeout]) =>
            new Step(`deleteAfterCompletion(${pod}, timeout ${showTimeout(timeout)})`, (w) =>
              w.startWait('deleteAfterCompletion', pod, [], timeout, false),
            ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .nat(5)
        .map((index) => new Step(`abort a wait's signal (choice ${index})`, (w) => w.cancel(index))),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(name, timeoutMs)
        .map(
          ([pod, timeout]) =>
            new Step(`eventsForPod(${pod}, timeout ${showTimeout(timeout)})`, (w) =>
              w.startEvents(pod, timeout),
            ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .nat(5)
        .map(
          (index) =>
            new Step(`stop an eventsForPod (choice ${index})`, (w) => w.stopConsumer('events', index)),
        ),
    },
    { weight: 1, arbitrary: fc.constant(new Step('watchPodChanges()', (w) => w.startChanges())) },
    {
      weight: 1,
      arbitrary: fc
        .nat(5)
        .map(
          (index) =>
            new Step(`stop a watchPodChanges (choice ${index})`, (w) => w.stopConsumer('changes', index)),
        ),
    },
    {
      weight: 5,
      arbitrary: faults(settings).map((spec) => new Step(describeFault(spec), (w) => w.fault(spec))),
    },
    { weight: 1, arbitrary: fc.constant(new Step('clear pending faults', (w) => w.clearFaults())) },
    {
      weight: 5,
      arbitrary: fc
        .integer({ min: 1, max: 600 })
        .map((ms) => new Step(`let ${ms} ms pass`, (w) => w.passTime(ms))),
    },
  ];
  return [fc.oneof(...weighted)];
}
