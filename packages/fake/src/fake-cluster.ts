import type {
  BookmarkObject,
  FieldSelector,
  KubernetesEvent,
  Logger,
  ObjectMeta,
  Pod,
  PodPhase,
  PodStatus,
  PodTransport,
  Status,
  TimerHandle,
  WatchEvent,
} from '@podstorage/core';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { FakeClock } from './fake-clock.js';
import { type FaultInjector, FaultInjectorImplementation, type RequestVerb } from './fault-injector.js';
import { createInProcessTransport, type FakeClusterTransport } from './in-process-transport.js';
import {
  kubernetesTime,
  LIFECYCLE_ANNOTATION,
  type LifecycleScript,
  LifecycleSimulator,
  lifecycleScriptProblem,
  type PodEventRecord,
  statusForPhase,
} from './lifecycle.js';
import { generatedName, labelProblem, SeededRandom, subdomainProblem } from './names.js';
import {
  type Change,
  checkSelectableFields,
  type MutablePod,
  ObjectStore,
  objectKey,
  type StoredObject,
  type StoredResource,
  type StoreState,
  selectableFields,
} from './object-store.js';
import {
  type FieldRequirement,
  type LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expiredStatus,
  invalid,
  notFound,
  staleUpdate,
  statusError,
  tooLargeResourceVersion,
} from './status.js';
import { type RequestWatchdog, RequestWatchdogImplementation, type WatchdogOptions } from './watchdog.js';
import { connectionResetError, Watcher } from './watcher.js';

export type { Namespace };

/** Options of a list call, with the query string already parsed. */
export interface ListQuery {
  /** `a=b,c!=d` (escaped as Kubernetes escapes values) or an object of equalities. */
  readonly fieldSelector?: string | FieldSelector;
  /** Equality- or set-based label selector, such as `app=web,tier in (a,b),!canary`. */
  readonly labelSelector?: string;
  /** Page size; 0 or absent: everything. */
  readonly limit?: number;
  /** The `continue` token of the previous page. */
  readonly continue?: string;
  /** Absent or empty: the latest state. With `Exact`: the state at that version, if history still holds it. */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
}

/** Options of a watch, with the query string already parsed. */
export interface WatchQuery {
  readonly fieldSelector?: string | FieldSelector;
  readonly labelSelector?: string;
  /** Absent or "0": the current state first, as ADDED events. Otherwise: every change after it. */
  readonly resourceVersion?: string;
  /** Accepted for API fidelity; `NotOlderThan` is the only meaningful value for watches. */
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  /** Send a BOOKMARK every `bookmarkIntervalMs` of clock time. */
  readonly allowWatchBookmarks?: boolean;
  /** End the stream cleanly after this many seconds of clock time (default: the cluster's `watchTimeoutSeconds`). */
  readonly timeoutSeconds?: number;
  /** Streaming list: the current state as ADDED, then a BOOKMARK annotated `k8s.io/initial-events-end`. */
  readonly sendInitialEvents?: boolean;
}

/** A list response: `kind`, `apiVersion`, the list's `metadata` and the items (copies). */
export interface ListResult<T> {
  readonly apiVersion: 'v1';
  readonly kind: string;
  readonly metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  readonly items: T[];
}

/** Options of {@link FakeCluster.deletePod} and {@link FakeCluster.deleteEvent}. */
export interface DeleteQuery {
  /** Seconds until the object goes; 0 deletes at once. Default: the pod's `terminationGracePeriodSeconds` (30). */
  readonly gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion, else 409 Conflict. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** Validated; pods have no dependents here, so every policy deletes the same way. */
  readonly propagationPolicy?: string;
}

/** Options of a {@link FakeCluster}. */
export interface FakeClusterOptions {
  /** The clock everything runs on. Default: a new {@link FakeClock}. */
  readonly clock?: FakeClock;
  /** `simulated` (default): a scheduler and kubelet drive pods. `manual`: phases are set by callers. */
  readonly mode?: 'simulated' | 'manual';
  /** How many changes the history keeps (default 1000); older resourceVersions expire with 410. */
  readonly historySize?: number;
  /** How often watches with `allowWatchBookmarks` get a BOOKMARK, in clock ms. Default 60 000. */
  readonly bookmarkIntervalMs?: number;
  /** Server-side watch timeout when a watch asks for none, in seconds. Default 1800 (a fixed value, for determinism). */
  readonly watchTimeoutSeconds?: number;
  /** Namespaces created at start. Default `['default']`. */
  readonly namespaces?: readonly string[];
  /** The node the simulated scheduler assigns pods to. Default `fake-node-1`. */
  readonly nodeName?: string;
  /** The lifecycle of pods that bring no script of their own. */
  readonly defaultLifecycle?: LifecycleScript;
  /** Seed of the generator behind `generateName` suffixes. Default 1. */
  readonly seed?: number;
  /**
   * The hot-loop watchdog's limit on requests through `transport()` and servers: over `maxRequests`
   * within `perMs` of cluster-clock time, requests are refused with 429 and a violation is recorded
   * (see {@link FakeCluster.assertNoHotLoop}). Default {@link DEFAULT_WATCHDOG} (2 000 per 1 000 ms);
   * `false` turns it off.
   */
  readonly watchdog?: WatchdogOptions | false;
  /** Where the cluster reports what a test should know (a tripped watchdog). Default: warnings to the console. */
  readonly logger?: Logger;
  /**
   * How a watch from a resourceVersion newer than the cluster's (a client resuming after the cluster
   * lost history: {@link FakeCluster.restore}) is answered, unless it asks for `sendInitialEvents`
   * (always `error`, as the apiserver). `error` (default): one ERROR event, 504 Timeout with cause
   * `ResourceVersionTooLarge`, and the end, so the client learns at once. `wait`: what the apiserver's
   * watch cache does: the watch is accepted and stays silent (no events, no bookmarks) until the
   * cluster's version passes the requested one; changes up to it are never sent.
   */
  readonly futureWatch?: 'error' | 'wait';
}

/**
 * The state of a cluster at one moment, taken by {@link FakeCluster.snapshot} and put back by
 * {@link FakeCluster.restore}: every object and the resourceVersion counter (not the history).
 */
export interface ClusterSnapshot {
  /** The cluster's resourceVersion when the snapshot was taken. */
  readonly resourceVersion: string;
}

/** Counters for leak checks and for asserting how many requests and watches a client made. */
export interface FakeClusterStats {
  /** Watch streams open now (stalled ones included, until their client aborts). */
  readonly activeWatches: number;
  /** Watch streams opened since the cluster started. */
  readonly watchesOpened: number;
  /** Requests made through `transport()` (or a server), by verb. */
  readonly requests: Record<RequestVerb, number>;
  /** How many times the hot-loop watchdog tripped (see {@link FakeCluster.watchdog}). */
  readonly watchdogViolations: number;
}

/** The object a watch stream carries for a resource. */
export type WatchObject<R extends 'pods' | 'events'> = R extends 'pods' ? Pod : KubernetesEvent;

const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

const LIST_KINDS: Record<StoredResource, string> = {
  pods: 'PodList',
  events: 'EventList',
  namespaces: 'NamespaceList',
};
const OBJECT_KINDS: Record<StoredResource, string> = {
  pods: 'Pod',
  events: 'Event',
  namespaces: 'Namespace',
};

const consoleWarnings: Logger = {
  debug: () => {},
  info: () => {},
  warn: (_fields, message) => console.warn(message),
  error: (fields, message) => console.error(message, fields),
};

function copy<T>(value: T): T {
  return structuredClone(value);
}

function parseResourceVersion(value: string, parameter = 'resourceVersion'): number {
  if (!/^\d+$/.test(value))
    throw badRequest(`${parameter}: Invalid value: "${value}": must be a resource version`);
  return Number(value);
}

function listOptionsInvalid(field: string, message: string): never {
  throw statusError(422, `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    kind: 'ListOptions',
    group: 'meta.k8s.io',
    causes: [{ reason: 'FieldValueForbidden', field, message }],
  });
}

interface ContinueToken {
  readonly resourceVersion: number;
  readonly start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.resourceVersion, start: token.start }),
  ).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {
      v?: unknown;
      rv?: unknown;
      start?: unknown;
    };
    if (parsed.v !== 'meta.k8s.io/v1' || !Number.isInteger(parsed.rv) || typeof parsed.start !== 'string')
      throw new Error();
    return { resourceVersion: parsed.rv as number, start: parsed.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

interface Matcher {
  readonly namespace: string | undefined;
  readonly fields: readonly FieldRequirement[];
  readonly labels: readonly LabelRequirement[];
}

/** An open watch's filter, and (for a watch from a future version in `wait` mode) the version it waits past. */
interface WatchEntry extends Matcher {
  readonly after?: number;
}

// What each snapshot holds; the object handed out carries only its resourceVersion.
const SNAPSHOTS = new WeakMap<ClusterSnapshot, StoreState>();

/**
 * An in-memory Kubernetes cluster for tests: namespaces, pods and core/v1 events with one global
 * resourceVersion, a bounded change history (old versions expire with 410), watches with bookmarks,
 * field and label selectors, paged lists, graceful deletion, a scheduler/kubelet simulator and fault
 * injection. Everything runs on {@link FakeCluster.clock}, so tests drive time instead of sleeping.
 *
 * Objects handed in are copied, and objects handed out are copies: nothing a caller does to them
 * changes the cluster.
 */
export class FakeCluster {
  /** The clock every timer of the cluster runs on. */
  readonly clock: FakeClock;
  /** Breaks watches and requests on purpose. */
  readonly faults: FaultInjector;
  /** Counts requests and refuses a client that hot-loops (see {@link FakeClusterOptions.watchdog}). */
  readonly watchdog: RequestWatchdog;
  readonly #faults: FaultInjectorImplementation;
  readonly #watchdog: RequestWatchdogImplementation;
  readonly #store: ObjectStore;
  readonly #mode: 'simulated' | 'manual';
  readonly #bookmarkIntervalMs: number;
  readonly #watchTimeoutSeconds: number;
  readonly #nodeName: string;
  readonly #defaultLifecycle: LifecycleScript;
  readonly #random: SeededRandom;
  readonly #simulator: LifecycleSimulator;
  readonly #watchers = new Map<Watcher<StoredObject>, WatchEntry>();
  readonly #futureWatch: 'error' | 'wait';
  readonly #deletionTimers = new Map<string, TimerHandle>();
  readonly #requests: Record<RequestVerb, number> = {
    get: 0,
    list: 0,
    watch: 0,
    delete: 0,
    create: 0,
    update: 0,
  };
  #watchesOpened = 0;
  #eventSequence = 0;

  constructor(options: FakeClusterOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.#mode = options.mode ?? 'simulated';
    this.#store = new ObjectStore(options.historySize ?? 1_000);
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 1_800;
    this.#nodeName = options.nodeName ?? 'fake-node-1';
    this.#defaultLifecycle = options.defaultLifecycle ?? {};
    this.#futureWatch = options.futureWatch ?? 'error';
    this.#random = new SeededRandom(options.seed ?? 1);
    this.#faults = new FaultInjectorImplementation({
      clock: this.clock,
      targets: () => this.#watchers.keys(),
      compact: () => this.#store.compact(),
    });
    this.faults = this.#faults;
    this.#watchdog = new RequestWatchdogImplementation({
      clock: this.clock,
      logger: options.logger ?? consoleWarnings,
      limit: options.watchdog,
    });
    this.watchdog = this.#watchdog;
    this.#simulator = new LifecycleSimulator({
      clock: this.clock,
      nodeName: this.#nodeName,
      pod: (key) => this.#store.get('pods', key) as Pod | undefined,
      update: (key, change) => {
        const next = copy(this.#store.get('pods', key)) as MutablePod;
        change(next);
        this.#store.commit('pods', 'MODIFIED', key, next as StoredObject);
      },
      record: (pod, event) => {
        this.#recordEvent(pod, event);
      },
    });
    this.#store.subscribe((change) => this.#dispatch(change));
    for (const namespace of options.namespaces ?? ['default']) this.createNamespace(namespace);
  }

  /**
   * A new in-process {@link PodTransport} over this cluster: honours faults, latency and abort signals,
   * reports what it holds (`openHandles()`) and closes (`close()`, `await using`) as the network ones do.
   */
  transport(): FakeClusterTransport {
    return createInProcessTransport(this);
  }

  /** The current global resourceVersion, as a decimal string. */
  resourceVersion(): string {
    return String(this.#store.resourceVersion);
  }

  /** Counters of open watches and requests. */
  stats(): FakeClusterStats {
    return {
      activeWatches: [...this.#watchers.keys()].filter((watcher) => watcher.active).length,
      watchesOpened: this.#watchesOpened,
      requests: { ...this.#requests },
      watchdogViolations: this.#watchdog.violations().length,
    };
  }

  /**
   * Throws if the watchdog ever tripped: a client made more requests than its limit allows (the Error
   * gives the rate, the verbs and the window). Call it when a test ends.
   */
  assertNoHotLoop(): void {
    this.#watchdog.assertNoHotLoop();
  }

  /**
   * The request layer shared by `transport()` and servers: counts the request, lets the watchdog refuse
   * it (429) when the client hot-loops, then applies injected latency, failures (throws their
   * `KubernetesError`) and, for watches, a stall before headers. Rejects with the signal's reason once
   * it aborts.
   */
  async beginRequest(
    verb: RequestVerb,
    resource: 'pods' | 'events',
    namespace: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    this.#requests[verb]++;
    const held = this.#watchdog.admit(verb, signal);
    if (held !== undefined) await held;
    await this.#faults.beforeRequest({ verb, resource, namespace, signal });
  }

  /**
   * Takes a copy of every object and of the resourceVersion counter, for {@link FakeCluster.restore}:
   * an etcd backup. The snapshot of a new `FakeCluster` is the state of a freshly started fake.
   */
  snapshot(): ClusterSnapshot {
    const snapshot: ClusterSnapshot = Object.freeze({ resourceVersion: this.resourceVersion() });
    SNAPSHOTS.set(snapshot, this.#store.state());
    return snapshot;
  }

  /**
   * Loses history, as an etcd restore or a restarted API server does: objects and the resourceVersion
   * counter go back to `snapshot` (of this cluster or another), the change history is forgotten, and
   * every open watch breaks with a connection reset, as at a restart. A client that resumes from a
   * version newer than the snapshot's then gets 504 Timeout `ResourceVersionTooLarge` on watches and
   * on lists with that resourceVersion, until it lists afresh (see {@link FakeClusterOptions.futureWatch});
   * older versions are expired (410). Once new changes carry the counter past a client's version again,
   * that version is valid, but names a different state: a client that kept it misses changes, as on a
   * real cluster. The simulated kubelet keeps running pods that are still there with the same uid;
   * restored pods in graceful deletion finish it on the clock. Counters (`stats()`), pending faults and
   * the watchdog are the test's, and stay.
   */
  restore(snapshot: ClusterSnapshot): void {
    const state = SNAPSHOTS.get(snapshot);
    if (state === undefined)
      throw new TypeError('FakeCluster.restore: not a snapshot taken by FakeCluster.snapshot()');
    // Copy first: failing a watcher removes it from the map.
    for (const watcher of [...this.#watchers.keys()]) watcher.fail(connectionResetError());
    this.#store.restore(state);
    this.#simulator.retain((key, uid) => this.#store.get('pods', key)?.metadata?.uid === uid);
    for (const timer of this.#deletionTimers.values()) this.clock.clearTimeout(timer);
    this.#deletionTimers.clear();
    for (const pod of this.#store.values('pods') as Pod[]) {
      const deletion = pod.metadata?.deletionTimestamp;
      if (deletion === undefined) continue;
      const left = Math.max(0, Math.ceil((Date.parse(deletion) - this.clock.date().getTime()) / 1_000));
      this.#scheduleDeletion(
        objectKey(pod.metadata?.namespace, pod.metadata?.name ?? ''),
        pod.metadata?.uid,
        left,
      );
    }
  }

  // ---------------------------------------------------------------- namespaces

  /** Creates a namespace (409 if it exists, 422 if the name is not an RFC 1123 label). */
  createNamespace(name: string): Namespace {
    const problem = labelProblem(name);
    if (problem) throw invalid('Namespace', name, [problem]);
    if (this.#store.get('namespaces', name)) throw alreadyExists('namespaces', name);
    const namespace: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        uid: crypto.randomUUID(),
        creationTimestamp: kubernetesTime(this.clock.date()),
        labels: { 'kubernetes.io/metadata.name': name },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    return copy(this.#store.commit('namespaces', 'ADDED', name, namespace)) as Namespace;
  }

  /** Every namespace, by name. */
  listNamespaces(): Namespace[] {
    return this.#store.values('namespaces').map((namespace) => copy(namespace) as Namespace);
  }

  /** The namespace, or `undefined`. */
  getNamespace(name: string): Namespace | undefined {
    const namespace = this.#store.get('namespaces', name);
    return namespace === undefined ? undefined : (copy(namespace) as Namespace);
  }

  /** Lists namespaces as the API server does (a `NamespaceList`), with label selectors and paging. */
  queryNamespaces(query: ListQuery = {}): ListResult<Namespace> {
    return this.#list('namespaces', undefined, query) as ListResult<Namespace>;
  }

  // ---------------------------------------------------------------- pods

  /**
   * Creates a pod as the API server does: namespace from `metadata.namespace` (default `default`), name
   * from `metadata.name` or `generateName`, fresh uid, creationTimestamp and resourceVersion, status
   * reset to `Pending`, `terminationGracePeriodSeconds` defaulted to 30. A pod without containers gets
   * one (`main`, image `busybox`) so the simulator has something to run. In simulated mode the pod's
   * lifecycle starts: `options.lifecycle`, else the `podstorage.dev/lifecycle` annotation, else the default.
   */
  createPod(pod: Pod, options: { lifecycle?: LifecycleScript } = {}): Pod {
    const input = copy(pod);
    const metadata = input.metadata ?? {};
    const namespace = metadata.namespace || 'default';
    const name = this.#nameFor('Pod', metadata.name, metadata.generateName, (candidate) =>
      this.#store.get('pods', objectKey(namespace, candidate)),
    );
    this.#requireNamespace(namespace);
    const key = objectKey(namespace, name);
    if (this.#store.get('pods', key)) throw alreadyExists('pods', name);
    let script: LifecycleScript = options.lifecycle ?? {};
    const annotation = metadata.annotations?.[LIFECYCLE_ANNOTATION];
    if (options.lifecycle === undefined && annotation !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(annotation);
      } catch {
        parsed = undefined;
      }
      const problem = parsed === undefined ? 'must be valid JSON' : lifecycleScriptProblem(parsed);
      if (problem) {
        throw invalid('Pod', name, [
          {
            reason: 'FieldValueInvalid',
            field: `metadata.annotations[${LIFECYCLE_ANNOTATION}]`,
            message: `Invalid value: ${JSON.stringify(annotation)}: ${problem}`,
          },
        ]);
      }
      script = parsed as LifecycleScript;
    }
    const { resourceVersion: _ignoredVersion, deletionTimestamp: _ignoredDeletion, ...rest } = metadata;
    const created: MutablePod = {
      ...(input as MutablePod),
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...rest,
        name,
        namespace,
        uid: crypto.randomUUID(),
        creationTimestamp: kubernetesTime(this.clock.date()),
      },
      spec: {
        ...input.spec,
        containers:
          input.spec?.containers && input.spec.containers.length > 0
            ? input.spec.containers
            : [{ name: 'main', image: 'busybox' }],
        terminationGracePeriodSeconds: input.spec?.terminationGracePeriodSeconds ?? 30,
      },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    };
    delete created.metadata?.deletionGracePeriodSeconds;
    const stored = this.#store.commit('pods', 'ADDED', key, created as StoredObject) as Pod;
    if (this.#mode === 'simulated')
      this.#simulator.start(key, stored, { ...this.#defaultLifecycle, ...script });
    return copy(stored);
  }

  /** The pod, or `undefined`. */
  getPod(namespace: string, name: string): Pod | undefined {
    const pod = this.#store.get('pods', objectKey(namespace, name));
    return pod === undefined ? undefined : (copy(pod) as Pod);
  }

  /** Lists pods of a namespace (or all, with `undefined`), with selectors, paging and resourceVersion semantics. */
  listPods(namespace: string | undefined, query: ListQuery = {}): ListResult<Pod> {
    return this.#list('pods', namespace, query) as ListResult<Pod>;
  }

  /**
   * Replaces a pod, with optimistic concurrency: a `metadata.resourceVersion` other than the current one
   * is a 409 Conflict. Like a PUT to `pods/{name}`, the status is kept; with `subresource: 'status'`
   * (a PUT to `pods/{name}/status`) only the status changes. An update that changes nothing writes
   * nothing. Removing the last finalizer of a pod whose grace period is over deletes it.
   */
  updatePod(pod: Pod, options: { subresource?: 'status' } = {}): Pod {
    const { namespace, name, key, existing } = this.#existingForUpdate<Pod>('pods', 'Pod', pod);
    const input = copy(pod);
    const next: MutablePod =
      options.subresource === 'status'
        ? { ...copy(existing), status: input.status ?? {} }
        : {
            ...input,
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              ...keptOnUpdate(input.metadata, existing.metadata, namespace, name),
              ...(existing.metadata?.deletionTimestamp
                ? {
                    deletionTimestamp: existing.metadata.deletionTimestamp,
                    deletionGracePeriodSeconds: existing.metadata.deletionGracePeriodSeconds,
                  }
                : {}),
            },
            status: copy(existing.status),
          };
    if (!next.metadata?.deletionTimestamp) {
      delete next.metadata?.deletionTimestamp;
      delete next.metadata?.deletionGracePeriodSeconds;
    }
    if (JSON.stringify(next) === JSON.stringify(existing)) return copy(existing);
    const stored = this.#store.commit('pods', 'MODIFIED', key, next) as Pod;
    return this.#finishDeletionIfDue(key) ?? copy(stored);
  }

  /**
   * Sets a pod's phase (and merges `patch` into its status) as the kubelet would: a status update, seen
   * by watchers as MODIFIED. When the phase changes and `patch` brings no conditions or container
   * statuses, consistent ones are filled in. `phase` undefined keeps the phase.
   */
  setPodPhase(
    namespace: string,
    name: string,
    phase: PodPhase | undefined,
    patch: Partial<PodStatus> = {},
  ): Pod {
    const key = objectKey(namespace, name);
    const existing = this.#store.get('pods', key) as Pod | undefined;
    if (existing === undefined) throw notFound('pods', name);
    const next = copy(existing) as MutablePod;
    const previousPhase = existing.status?.phase;
    next.status = { ...next.status, ...copy(patch) };
    if (phase !== undefined) next.status.phase = phase;
    if (phase !== undefined && phase !== previousPhase) {
      const derived = statusForPhase(existing, phase, this.clock.date());
      if (patch.conditions === undefined && derived.conditions !== undefined)
        next.status.conditions = derived.conditions;
      if (patch.containerStatuses === undefined && derived.containerStatuses !== undefined) {
        next.status.containerStatuses = derived.containerStatuses;
      }
      if (phase === 'Running' && next.status.startTime === undefined)
        next.status.startTime = kubernetesTime(this.clock.date());
    }
    if (phase === 'Succeeded' || phase === 'Failed') this.#simulator.stop(key);
    if (JSON.stringify(next) === JSON.stringify(existing)) return copy(existing);
    return copy(this.#store.commit('pods', 'MODIFIED', key, next)) as Pod;
  }

  /**
   * Deletes a pod gracefully, as the API server does. Preconditions that do not hold: 409 Conflict.
   * With a grace period (the option, else `spec.terminationGracePeriodSeconds`), the pod gets
   * `deletionTimestamp` and `deletionGracePeriodSeconds` (MODIFIED), the kubelet stops its containers
   * (Killing events), and it goes (DELETED) when the period ends on the clock, unless finalizers remain.
   * Grace 0, an unscheduled pod or a finished one goes at once. Deleting again can only shorten the period.
   * Returns the pod as it is after the call (for an immediate delete, its last state).
   */
  deletePod(namespace: string, name: string, options: DeleteQuery = {}): Pod {
    const key = objectKey(namespace, name);
    const existing = this.#store.get('pods', key) as Pod | undefined;
    if (existing === undefined) throw notFound('pods', name);
    this.#checkDeleteOptions('pods', name, existing, options);
    let grace = options.gracePeriodSeconds ?? existing.spec?.terminationGracePeriodSeconds ?? 30;
    if (grace < 0) grace = 1;
    const phase = existing.status?.phase;
    if (!existing.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    const finalizers = existing.metadata?.finalizers ?? [];
    const current = existing.metadata?.deletionGracePeriodSeconds;
    if (existing.metadata?.deletionTimestamp && current !== undefined && grace >= current)
      return copy(existing);
    const wasTerminating = existing.metadata?.deletionTimestamp !== undefined;
    if (grace === 0 && finalizers.length === 0) return this.#remove('pods', key, existing) as Pod;
    const next = copy(existing);
    next.metadata = {
      ...next.metadata,
      deletionTimestamp: kubernetesTime(new Date(this.clock.date().getTime() + grace * 1_000)),
      deletionGracePeriodSeconds: grace,
      generation: (existing.metadata?.generation ?? 1) + 1,
    };
    const stored = this.#store.commit('pods', 'MODIFIED', key, next) as Pod;
    if (!wasTerminating) this.#simulator.terminate(key);
    this.#scheduleDeletion(key, stored.metadata?.uid, grace);
    return copy(stored);
  }

  /**
   * Clears a pod's finalizers (MODIFIED). A pod being deleted whose grace period is over then goes
   * (DELETED) and `undefined` is returned; so is `undefined` for an absent pod.
   */
  removeFinalizers(namespace: string, name: string): Pod | undefined {
    const key = objectKey(namespace, name);
    const existing = this.#store.get('pods', key) as Pod | undefined;
    if (existing === undefined) return undefined;
    if ((existing.metadata?.finalizers ?? []).length > 0) {
      const next = copy(existing);
      next.metadata = { ...next.metadata, finalizers: [] };
      delete next.metadata.finalizers;
      this.#store.commit('pods', 'MODIFIED', key, next);
    }
    const finished = this.#finishDeletionIfDue(key);
    if (finished !== undefined) return undefined;
    const pod = this.#store.get('pods', key);
    return pod === undefined ? undefined : (copy(pod) as Pod);
  }

  // ---------------------------------------------------------------- events

  /** Creates a core/v1 event as given (namespace from metadata, else involvedObject, else `default`). */
  createEvent(event: KubernetesEvent): KubernetesEvent {
    const input = copy(event);
    const namespace = input.metadata?.namespace || input.involvedObject?.namespace || 'default';
    const name = this.#nameFor('Event', input.metadata?.name, input.metadata?.generateName, (candidate) =>
      this.#store.get('events', objectKey(namespace, candidate)),
    );
    this.#requireNamespace(namespace);
    const key = objectKey(namespace, name);
    if (this.#store.get('events', key)) throw alreadyExists('events', name);
    const { resourceVersion: _ignored, ...metadata } = input.metadata ?? {};
    const created: KubernetesEvent = {
      ...input,
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        ...metadata,
        name,
        namespace,
        uid: crypto.randomUUID(),
        creationTimestamp: kubernetesTime(this.clock.date()),
      },
    };
    return copy(this.#store.commit('events', 'ADDED', key, created)) as KubernetesEvent;
  }

  /**
   * Records an event about a pod the way the kubelet's event recorder does: named `<pod>.<16 hex>`,
   * with involvedObject (kind Pod, apiVersion v1, name, namespace, uid), source, count and timestamps.
   * The same reason and message on the same pod again bumps `count` and `lastTimestamp` (MODIFIED).
   */
  recordPodEvent(
    pod: { namespace: string; name: string },
    event: {
      reason: string;
      message: string;
      type?: 'Normal' | 'Warning';
      /** Default `kubelet`. */
      component?: string;
      /** Such as `spec.containers{main}`. */
      fieldPath?: string;
    },
  ): KubernetesEvent {
    const stored = this.#store.get('pods', objectKey(pod.namespace, pod.name)) as Pod | undefined;
    const target: Pod = stored ?? { metadata: { name: pod.name, namespace: pod.namespace } };
    return copy(
      this.#recordEvent(target, {
        reason: event.reason,
        message: event.message,
        type: event.type ?? 'Normal',
        component: event.component ?? 'kubelet',
        ...(event.fieldPath === undefined ? {} : { fieldPath: event.fieldPath }),
      }),
    );
  }

  /** The event, or `undefined`. */
  getEvent(namespace: string, name: string): KubernetesEvent | undefined {
    const event = this.#store.get('events', objectKey(namespace, name));
    return event === undefined ? undefined : (copy(event) as KubernetesEvent);
  }

  /** Lists events of a namespace (or all), with selectors, paging and resourceVersion semantics. */
  listEvents(namespace: string | undefined, query: ListQuery = {}): ListResult<KubernetesEvent> {
    return this.#list('events', namespace, query) as ListResult<KubernetesEvent>;
  }

  /**
   * Replaces an event, with optimistic concurrency on `metadata.resourceVersion` (409 Conflict when
   * stale). uid and creationTimestamp are kept; an update that changes nothing writes nothing.
   */
  updateEvent(event: KubernetesEvent): KubernetesEvent {
    const { namespace, name, key, existing } = this.#existingForUpdate<KubernetesEvent>(
      'events',
      'Event',
      event,
    );
    const input = copy(event);
    const next: KubernetesEvent = {
      ...input,
      apiVersion: 'v1',
      kind: 'Event',
      metadata: keptOnUpdate(input.metadata, existing.metadata, namespace, name),
    };
    if (JSON.stringify(next) === JSON.stringify(existing)) return copy(existing);
    return copy(this.#store.commit('events', 'MODIFIED', key, next)) as KubernetesEvent;
  }

  /**
   * The stored object an update replaces, after the checks every PUT makes: a name (422), an existing
   * object (404), the same resourceVersion when one is given and the same uid when one is given (409).
   */
  #existingForUpdate<T extends StoredObject>(
    resource: StoredResource,
    kind: 'Pod' | 'Event',
    object: T,
  ): { namespace: string; name: string; key: string; existing: T } {
    const namespace = object.metadata?.namespace || 'default';
    const name = object.metadata?.name;
    if (!name) {
      throw invalid(kind, '', [
        { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name is required' },
      ]);
    }
    const key = objectKey(namespace, name);
    const existing = this.#store.get(resource, key) as T | undefined;
    if (existing === undefined) throw notFound(resource, name);
    const version = object.metadata?.resourceVersion;
    if (version !== undefined && version !== '' && version !== existing.metadata?.resourceVersion) {
      throw staleUpdate(resource, name);
    }
    if (object.metadata?.uid && object.metadata.uid !== existing.metadata?.uid) {
      throw conflict(
        resource,
        name,
        `Precondition failed: UID in precondition: ${object.metadata.uid}, UID in object meta: ${existing.metadata?.uid}`,
      );
    }
    return { namespace, name, key, existing };
  }

  /** Deletes an event at once (404 if absent, 409 if a precondition fails); returns its last state. */
  deleteEvent(namespace: string, name: string, options: DeleteQuery = {}): KubernetesEvent {
    const key = objectKey(namespace, name);
    const existing = this.#store.get('events', key) as KubernetesEvent | undefined;
    if (existing === undefined) throw notFound('events', name);
    this.#checkDeleteOptions('events', name, existing, options);
    return this.#remove('events', key, existing) as KubernetesEvent;
  }

  // ---------------------------------------------------------------- watch

  /**
   * Opens a watch, as the API server serves `?watch=true`. Without `resourceVersion` (or with "0"), the
   * current matching state comes first as ADDED events; from a version, every later change; from a
   * version older than the history, one ERROR event (410 Expired) and the end. Field and label selectors
   * filter with the server's transition rules (an object that stops matching is sent as DELETED, one
   * that starts matching as ADDED). Throws a `KubernetesError` for bad selectors or options.
   * Aborting `signal` closes the stream and releases its timers at once.
   */
  watch<R extends 'pods' | 'events'>(
    resource: R,
    namespace: string | undefined,
    options: WatchQuery & { readonly signal: AbortSignal },
  ): AsyncIterable<WatchEvent<WatchObject<R>>> {
    const matcher = this.#matcher(resource, namespace, options);
    if (options.sendInitialEvents && !options.allowWatchBookmarks) {
      listOptionsInvalid(
        'allowWatchBookmarks',
        'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true',
      );
    }
    const requested = options.resourceVersion;
    const from =
      requested === undefined || requested === '' || requested === '0'
        ? undefined
        : parseResourceVersion(requested);
    if (options.signal.aborted)
      throw options.signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

    this.#watchesOpened++;
    const watcher = new Watcher<StoredObject>({
      resource,
      namespace,
      signal: options.signal,
      onClose: (closed) => this.#watchers.delete(closed),
    });
    // A cut budget for upcoming watches counts from the first event, initial state included.
    this.#faults.onWatchOpened(watcher);
    const kind = OBJECT_KINDS[resource];
    const bookmark = (annotations?: Record<string, string>): WatchEvent<StoredObject> => {
      const object: BookmarkObject = {
        kind,
        apiVersion: 'v1',
        metadata: { resourceVersion: this.resourceVersion(), ...(annotations ? { annotations } : {}) },
      };
      return { type: 'BOOKMARK', object };
    };

    if (from !== undefined && !options.sendInitialEvents && from < this.#store.oldestServable) {
      watcher.push({
        type: 'ERROR',
        object: expiredStatus(`too old resource version: ${from} (${this.#store.oldestServable})`),
      });
      watcher.end();
      return watcher as unknown as AsyncIterable<WatchEvent<WatchObject<R>>>;
    }
    // The watch cache answers a streaming list from the future with this error, and accepts a plain
    // watch from the future, waiting for the version (Cacher.waitUntilWatchCacheFreshAndForceAllEvents).
    const future = from !== undefined && from > this.#store.resourceVersion;
    if (future && (options.sendInitialEvents || this.#futureWatch === 'error')) {
      watcher.push({ type: 'ERROR', object: tooLargeResourceVersion(from, this.#store.resourceVersion) });
      watcher.end();
      return watcher as unknown as AsyncIterable<WatchEvent<WatchObject<R>>>;
    }
    const after = future ? from : undefined;

    if (from === undefined || options.sendInitialEvents) {
      for (const object of this.#store.values(resource)) {
        if (this.#matches(matcher, resource, object)) watcher.push({ type: 'ADDED', object: copy(object) });
      }
      if (options.sendInitialEvents) watcher.push(bookmark({ 'k8s.io/initial-events-end': 'true' }));
    } else {
      for (const change of this.#store.changesAfter(from)) {
        if (change.resource !== resource) continue;
        const event = this.#transition(matcher, change);
        if (event !== undefined) watcher.push(event);
      }
    }
    if (!watcher.open) return watcher as unknown as AsyncIterable<WatchEvent<WatchObject<R>>>;
    this.#watchers.set(watcher, after === undefined ? matcher : { ...matcher, after });

    if (options.allowWatchBookmarks) {
      let timer: TimerHandle | undefined;
      const arm = () => {
        timer = this.clock.setTimeout(() => {
          // A watch waiting past a future version gets no bookmark older than that version.
          if (after === undefined || this.#store.resourceVersion >= after) watcher.push(bookmark());
          if (watcher.open) arm();
        }, this.#bookmarkIntervalMs);
      };
      arm();
      watcher.onRelease(() => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
      });
    }
    const timeoutSeconds = options.timeoutSeconds ?? this.#watchTimeoutSeconds;
    const closer = this.clock.setTimeout(() => watcher.end(), Math.max(0, timeoutSeconds) * 1_000);
    watcher.onRelease(() => this.clock.clearTimeout(closer));
    return watcher as unknown as AsyncIterable<WatchEvent<WatchObject<R>>>;
  }

  // ---------------------------------------------------------------- internals

  #dispatch(change: Change): void {
    for (const [watcher, matcher] of [...this.#watchers]) {
      if (!watcher.open || watcher.resource !== change.resource) continue;
      if (matcher.after !== undefined && change.resourceVersion <= matcher.after) continue;
      const event = this.#transition(matcher, change);
      if (event !== undefined) watcher.push(event);
    }
  }

  #transition(matcher: Matcher, change: Change): WatchEvent<StoredObject> | undefined {
    const now = change.type !== 'DELETED' && this.#matches(matcher, change.resource, change.object);
    const before = change.previous !== undefined && this.#matches(matcher, change.resource, change.previous);
    if (now && !before) return { type: 'ADDED', object: copy(change.object) };
    if (now && before) return { type: 'MODIFIED', object: copy(change.object) };
    if (!now && before) {
      // As the apiserver does: the last state that matched, stamped with the change's resourceVersion.
      const last = copy(change.type === 'DELETED' ? change.object : (change.previous as StoredObject));
      last.metadata = { ...last.metadata, resourceVersion: String(change.resourceVersion) };
      return { type: 'DELETED', object: last };
    }
    return undefined;
  }

  #matcher(
    resource: StoredResource,
    namespace: string | undefined,
    query: { fieldSelector?: string | FieldSelector; labelSelector?: string },
  ): Matcher {
    const fields = parseFieldSelector(query.fieldSelector);
    const text =
      typeof query.fieldSelector === 'string'
        ? query.fieldSelector
        : JSON.stringify(query.fieldSelector ?? {});
    checkSelectableFields(
      resource,
      fields.map((requirement) => requirement.field),
      text,
    );
    return { namespace: namespace || undefined, fields, labels: parseLabelSelector(query.labelSelector) };
  }

  #matches(matcher: Matcher, resource: StoredResource, object: StoredObject): boolean {
    if (matcher.namespace !== undefined && object.metadata?.namespace !== matcher.namespace) return false;
    return (
      matchesFields(matcher.fields, selectableFields(resource, object)) &&
      matchesLabels(matcher.labels, object.metadata?.labels)
    );
  }

  #list(resource: StoredResource, namespace: string | undefined, query: ListQuery): ListResult<StoredObject> {
    const matcher = this.#matcher(resource, namespace, query);
    const limit = query.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0)
      throw badRequest(`limit: Invalid value: ${limit}: must be an integer >= 0`);
    let snapshotVersion: number;
    let start = '';
    if (query.continue) {
      if (query.resourceVersion && query.resourceVersion !== '0') {
        throw badRequest('specifying resource version is not allowed when using continue');
      }
      const token = decodeContinue(query.continue);
      if (token.resourceVersion < this.#store.oldestServable)
        throw statusErrorFrom(expiredStatus(EXPIRED_CONTINUE_MESSAGE));
      if (token.resourceVersion > this.#store.resourceVersion)
        throw badRequest('continue key is not valid: resourceVersion is in the future');
      snapshotVersion = token.resourceVersion;
      start = token.start;
    } else {
      const requested = query.resourceVersion;
      const match = query.resourceVersionMatch;
      if (match !== undefined && match !== 'NotOlderThan' && match !== 'Exact') {
        listOptionsInvalid(
          'resourceVersionMatch',
          `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
        );
      }
      if (match !== undefined && (requested === undefined || requested === '')) {
        listOptionsInvalid(
          'resourceVersionMatch',
          'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
        );
      }
      if (match === 'Exact' && requested === '0') {
        listOptionsInvalid(
          'resourceVersionMatch',
          'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        );
      }
      const version =
        requested === undefined || requested === '' ? undefined : parseResourceVersion(requested);
      if (version !== undefined && version > this.#store.resourceVersion) {
        throw statusErrorFrom(tooLargeResourceVersion(version, this.#store.resourceVersion));
      }
      if (match === 'Exact' && version !== undefined) {
        if (version < this.#store.oldestServable) {
          throw statusErrorFrom(expiredStatus('The resourceVersion for the provided list is too old.'));
        }
        snapshotVersion = version;
      } else {
        snapshotVersion = this.#store.resourceVersion;
      }
    }
    const all = this.#store
      .snapshot(resource, snapshotVersion)
      .filter((object) => this.#matches(matcher, resource, object))
      .map((object) => ({
        key: objectKey(
          resource === 'namespaces' ? undefined : object.metadata?.namespace,
          object.metadata?.name ?? '',
        ),
        object,
      }))
      .filter(({ key }) => key >= start);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const metadata: ListResult<StoredObject>['metadata'] = { resourceVersion: String(snapshotVersion) };
    if (page.length < all.length) {
      const last = page[page.length - 1] as { key: string };
      metadata.continue = encodeContinue({ resourceVersion: snapshotVersion, start: `${last.key}\u0000` });
      if (matcher.fields.length === 0 && matcher.labels.length === 0)
        metadata.remainingItemCount = all.length - page.length;
    }
    return {
      apiVersion: 'v1',
      kind: LIST_KINDS[resource],
      metadata,
      items: page.map(({ object }) => copy(object)),
    };
  }

  #nameFor(
    kind: string,
    name: string | undefined,
    generateName: string | undefined,
    exists: (candidate: string) => unknown,
  ): string {
    let chosen = name;
    if (!chosen && generateName) {
      for (let attempt = 0; attempt < 8; attempt++) {
        chosen = generatedName(generateName, this.#random.nameSuffix());
        if (!exists(chosen)) break;
      }
    }
    if (!chosen) {
      throw invalid(kind, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    const problem = subdomainProblem(chosen);
    if (problem) throw invalid(kind, chosen, [problem]);
    return chosen;
  }

  #requireNamespace(namespace: string): void {
    if (!this.#store.get('namespaces', namespace)) throw notFound('namespaces', namespace);
  }

  #checkDeleteOptions(
    resource: StoredResource,
    name: string,
    existing: StoredObject,
    options: DeleteQuery,
  ): void {
    const policy = options.propagationPolicy;
    if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      throw statusError(
        422,
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        {
          kind: 'DeleteOptions',
          group: 'meta.k8s.io',
          causes: [
            {
              reason: 'FieldValueNotSupported',
              field: 'propagationPolicy',
              message: `Unsupported value: "${policy}"`,
            },
          ],
        },
      );
    }
    const { uid, resourceVersion } = options.preconditions ?? {};
    if (uid !== undefined && uid !== existing.metadata?.uid) {
      throw conflict(
        resource,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${existing.metadata?.uid}`,
      );
    }
    if (resourceVersion !== undefined && resourceVersion !== existing.metadata?.resourceVersion) {
      throw conflict(
        resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${existing.metadata?.resourceVersion}`,
      );
    }
  }

  #remove(resource: StoredResource, key: string, existing: StoredObject): StoredObject {
    const timer = this.#deletionTimers.get(key);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.#deletionTimers.delete(key);
    if (resource === 'pods') this.#simulator.stop(key);
    return copy(this.#store.commit(resource, 'DELETED', key, existing));
  }

  #scheduleDeletion(key: string, uid: string | undefined, grace: number): void {
    const previous = this.#deletionTimers.get(key);
    if (previous !== undefined) this.clock.clearTimeout(previous);
    this.#deletionTimers.delete(key);
    const complete = () => {
      this.#deletionTimers.delete(key);
      const pod = this.#store.get('pods', key) as Pod | undefined;
      if (pod === undefined || pod.metadata?.uid !== uid) return;
      if ((pod.metadata?.finalizers ?? []).length === 0) {
        this.#remove('pods', key, pod);
      } else if (pod.metadata?.deletionGracePeriodSeconds !== 0) {
        // The kubelet's final delete: grace 0; the object stays until its finalizers are removed.
        const next = copy(pod);
        next.metadata = { ...next.metadata, deletionGracePeriodSeconds: 0 };
        this.#store.commit('pods', 'MODIFIED', key, next);
      }
    };
    if (grace === 0) complete();
    else this.#deletionTimers.set(key, this.clock.setTimeout(complete, grace * 1_000));
  }

  #finishDeletionIfDue(key: string): Pod | undefined {
    const pod = this.#store.get('pods', key) as Pod | undefined;
    if (pod?.metadata?.deletionTimestamp === undefined) return undefined;
    if (pod.metadata.deletionGracePeriodSeconds !== 0 || (pod.metadata.finalizers ?? []).length > 0)
      return undefined;
    return this.#remove('pods', key, pod) as Pod;
  }

  #recordEvent(pod: Pod, event: PodEventRecord): KubernetesEvent {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid;
    const now = kubernetesTime(this.clock.date());
    for (const existing of this.#store.values('events') as KubernetesEvent[]) {
      const involved = existing.involvedObject;
      if (
        existing.metadata?.namespace === namespace &&
        involved.kind === 'Pod' &&
        involved.name === name &&
        involved.uid === uid &&
        involved.fieldPath === event.fieldPath &&
        existing.reason === event.reason &&
        existing.message === event.message &&
        existing.type === event.type &&
        existing.source?.component === event.component
      ) {
        const next = copy(existing);
        next.count = (existing.count ?? 1) + 1;
        next.lastTimestamp = now;
        const key = objectKey(namespace, existing.metadata?.name ?? '');
        return this.#store.commit('events', 'MODIFIED', key, next) as KubernetesEvent;
      }
    }
    const nanos =
      BigInt(this.clock.date().getTime()) * 1_000_000n + BigInt(this.#eventSequence++ % 1_000_000);
    const eventName = `${name}.${nanos.toString(16).padStart(16, '0')}`;
    const host = event.component === 'kubelet' ? this.#nodeName : undefined;
    const created: KubernetesEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName, namespace, uid: crypto.randomUUID(), creationTimestamp: now },
      involvedObject: {
        kind: 'Pod',
        apiVersion: 'v1',
        name,
        namespace,
        ...(uid === undefined ? {} : { uid }),
        ...(pod.metadata?.resourceVersion === undefined
          ? {}
          : { resourceVersion: pod.metadata.resourceVersion }),
        ...(event.fieldPath === undefined ? {} : { fieldPath: event.fieldPath }),
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      source: { component: event.component, ...(host === undefined ? {} : { host }) },
      reportingComponent: event.component,
      reportingInstance: host ?? '',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    if (!this.#store.get('namespaces', namespace)) throw notFound('namespaces', namespace);
    return this.#store.commit('events', 'ADDED', objectKey(namespace, eventName), created) as KubernetesEvent;
  }
}

function statusErrorFrom(status: Status) {
  return statusError(status.code ?? 500, status.message ?? '', status.details ?? {}, status.reason);
}

/** The metadata of an update: what the client sent, with what the server owns kept from the stored object. */
function keptOnUpdate(
  sent: ObjectMeta | undefined,
  stored: ObjectMeta | undefined,
  namespace: string,
  name: string,
): ObjectMeta {
  return {
    ...sent,
    name,
    namespace,
    uid: stored?.uid,
    creationTimestamp: stored?.creationTimestamp,
    resourceVersion: stored?.resourceVersion,
  };
}
