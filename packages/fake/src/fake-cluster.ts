import type {
  KubernetesEvent,
  Logger,
  Pod,
  PodPhase,
  PodStatus,
  PodTransport,
  WatchEvent,
} from '@podstorage/core';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Namespace, Node } from 'kubernetes-types/core/v1.js';
import { deleteCollection } from './cluster/collections.js';
import { type ClusterContext, copy } from './cluster/context.js';
import { DeletionTimers } from './cluster/deletion.js';
import { createEvent, deleteEvent, recordEvent, updateEvent } from './cluster/events.js';
import { listObjects } from './cluster/list.js';
import {
  createNamespace,
  deleteNamespace,
  finishNamespaceIfEmpty,
  isTerminating,
  SYSTEM_NAMESPACES,
} from './cluster/namespaces.js';
import { NodeLeases } from './cluster/node-leases.js';
import {
  admitUnderPressure,
  EvictionManager,
  type NodePressure,
  type PressureResource,
} from './cluster/node-pressure.js';
import {
  addNode,
  cordonNode,
  type FakeNodeOptions,
  NodeEvictions,
  type NodeReadiness,
  removeNode,
  setNodeReadiness,
} from './cluster/nodes.js';
import { bindPod, createPod, deletePod, removeFinalizers, setPodPhase, updatePod } from './cluster/pods.js';
import type { DeleteQuery, ListQuery, ListResult, WatchObject, WatchQuery } from './cluster/queries.js';
import { WatchHub } from './cluster/watch-dispatch.js';
import { FakeClock } from './fake-clock.js';
import { type FaultInjector, FaultInjectorImplementation, type RequestVerb } from './fault-injector.js';
import { createInProcessTransport, type FakeClusterTransport } from './in-process-transport.js';
import { kubernetesTime, type LifecycleScript, LifecycleSimulator } from './lifecycle.js';
import { SeededRandom } from './names.js';
import {
  type MutablePod,
  ObjectStore,
  objectKey,
  type StoredObject,
  type StoreState,
} from './object-store.js';
import { checkLogQuery, followLog, logTarget, type PodLogQuery, readLog } from './pod-logs.js';
import { notFound } from './status.js';
import { type RequestWatchdog, RequestWatchdogImplementation, type WatchdogOptions } from './watchdog.js';
import { connectionResetError } from './watcher.js';

export type { NodePressure, PressureResource } from './cluster/node-pressure.js';
export type { FakeNodeOptions, NodeReadiness } from './cluster/nodes.js';
export type { DeleteQuery, ListQuery, ListResult, WatchObject, WatchQuery } from './cluster/queries.js';
export type { PodLogQuery } from './pod-logs.js';
export type { Lease, Namespace, Node };

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
  /** Namespaces created at start, besides `default`, `kube-system`, `kube-public` and `kube-node-lease`, which every cluster has. */
  readonly namespaces?: readonly string[];
  /** The name of the one node the cluster has when `nodes` is not given. Default `fake-node-1`. */
  readonly nodeName?: string;
  /**
   * The simulated nodes the scheduler places pods on (Node objects with capacity, conditions and
   * taints). Default: one node, `nodeName`, with 4 CPUs, 16Gi and room for 110 pods.
   */
  readonly nodes?: readonly FakeNodeOptions[];
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

const consoleWarnings: Logger = {
  debug: () => {},
  info: () => {},
  warn: (_fields, message) => console.warn(message),
  error: (fields, message) => console.error(message, fields),
};

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
  readonly #context: ClusterContext;
  readonly #watches: WatchHub;
  readonly #requests: Record<RequestVerb, number> = {
    get: 0,
    list: 0,
    watch: 0,
    delete: 0,
    create: 0,
    update: 0,
  };

  constructor(options: FakeClusterOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    const clock = this.clock;
    const store = new ObjectStore(options.historySize ?? 1_000);
    this.#store = store;
    this.#watches = new WatchHub({
      clock,
      store,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 1_800,
      futureWatch: options.futureWatch ?? 'error',
      onOpened: (watcher) => this.#faults.onWatchOpened(watcher),
    });
    this.#faults = new FaultInjectorImplementation({
      clock,
      targets: () => this.#watches.watchers(),
      compact: () => store.compact(),
    });
    this.faults = this.#faults;
    this.#watchdog = new RequestWatchdogImplementation({
      clock,
      logger: options.logger ?? consoleWarnings,
      limit: options.watchdog,
    });
    this.watchdog = this.#watchdog;
    const nodeName = options.nodeName ?? options.nodes?.[0]?.name ?? 'fake-node-1';
    const simulator = new LifecycleSimulator({
      clock,
      pod: (key) => store.get('pods', key) as Pod | undefined,
      pods: () => store.values('pods') as Pod[],
      nodes: () => store.values('nodes') as Node[],
      update: (key, change) => {
        const existing = store.get('pods', key);
        const next = copy(existing) as MutablePod;
        change(next);
        // A status write that changes nothing is no write (and no resourceVersion).
        if (JSON.stringify(next) === JSON.stringify(existing)) return;
        store.commit('pods', 'MODIFIED', key, next as StoredObject);
      },
      record: (pod, event) => {
        // A kubelet's event in a namespace being deleted is refused (403) and dropped.
        if (!isTerminating(this.#context, pod.metadata?.namespace ?? 'default'))
          recordEvent(this.#context, pod, event);
      },
      finishDeletion: (key, uid) => this.#context.deletion.schedule(key, uid, 0),
      admit: (pod, node) => admitUnderPressure(pod, node),
    });
    this.#context = {
      clock,
      store,
      random: new SeededRandom(options.seed ?? 1),
      mode: options.mode ?? 'simulated',
      nodeName,
      defaultLifecycle: options.defaultLifecycle ?? {},
      simulator,
      deletion: new DeletionTimers({ clock, store, simulator: () => simulator }),
      nodeEvictions: new NodeEvictions(
        () => this.#context,
        (pod) => this.#evict(pod),
      ),
      evictionManager: new EvictionManager(() => this.#context),
      nodeLeases: new NodeLeases(() => this.#context),
      eventSequence: { value: 0 },
    };
    // The namespace controller's last step: a Terminating namespace goes once its content is gone.
    store.subscribe((change) => {
      const namespace = change.object.metadata?.namespace;
      if (change.type === 'DELETED' && change.resource !== 'namespaces' && namespace !== undefined)
        finishNamespaceIfEmpty(this.#context, namespace);
    });
    for (const namespace of new Set([...SYSTEM_NAMESPACES, ...(options.namespaces ?? [])]))
      this.createNamespace(namespace);
    for (const node of options.nodes ?? [{ name: nodeName }]) addNode(this.#context, node);
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
      activeWatches: [...this.#watches.watchers()].filter((watcher) => watcher.active).length,
      watchesOpened: this.#watches.opened,
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
    for (const watcher of [...this.#watches.watchers()]) watcher.fail(connectionResetError());
    this.#store.restore(state);
    this.#context.simulator.retain((key, uid) => this.#store.get('pods', key)?.metadata?.uid === uid);
    this.#context.deletion.rearm();
  }

  // ---------------------------------------------------------------- namespaces

  /** Creates a namespace (409 if it exists, 422 if the name is not an RFC 1123 label). */
  createNamespace(name: string): Namespace {
    return createNamespace(this.#context, name);
  }

  /**
   * Deletes a namespace as the apiserver and its namespace controller do: it turns Terminating
   * (`deletionTimestamp`, phase `Terminating`: MODIFIED), its events are deleted and its pods deleted
   * gracefully, new content is refused (403), and once it is empty the namespace goes (DELETED).
   * `default`, `kube-system` and `kube-public` cannot be deleted (403). Returns its state after the call.
   */
  deleteNamespace(name: string, options: DeleteQuery = {}): Namespace {
    return deleteNamespace(this.#context, name, options);
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
    return listObjects(this.#store, 'namespaces', undefined, query) as ListResult<Namespace>;
  }

  // ---------------------------------------------------------------- pods

  /**
   * Creates a pod as the API server does: namespace from `metadata.namespace` (default `default`), name
   * from `metadata.name` or `generateName`, fresh uid, creationTimestamp and resourceVersion, status
   * reset to `Pending`, the apiserver's defaults and default admission (restartPolicy, dnsPolicy,
   * schedulerName, imagePullPolicy from the tag, serviceAccountName `default`, the 300 s not-ready and
   * unreachable tolerations, priority 0, ...), then its validation (422 Invalid with causes: no
   * containers, a missing image, duplicate container names, ...). For tests that give minimal pods, a
   * pod without containers gets one (`main`, image `busybox`) unless `strict` is set, as the HTTP
   * server and `transport()` set it. In simulated mode the pod's lifecycle starts: `options.lifecycle`,
   * else the `podstorage.dev/lifecycle` annotation, else the default.
   */
  createPod(pod: Pod, options: { lifecycle?: LifecycleScript; strict?: boolean } = {}): Pod {
    return createPod(this.#context, pod, options);
  }

  /** The pod, or `undefined`. */
  getPod(namespace: string, name: string): Pod | undefined {
    const pod = this.#store.get('pods', objectKey(namespace, name));
    return pod === undefined ? undefined : (copy(pod) as Pod);
  }

  /** Lists pods of a namespace (or all, with `undefined`), with selectors, paging and resourceVersion semantics. */
  listPods(namespace: string | undefined, query: ListQuery = {}): ListResult<Pod> {
    return listObjects(this.#store, 'pods', namespace, query) as ListResult<Pod>;
  }

  /**
   * Replaces a pod, with optimistic concurrency: a `metadata.resourceVersion` other than the current one
   * is a 409 Conflict. Like a PUT to `pods/{name}`, the status is kept and the spec gets the decoder's
   * defaults; with `subresource: 'status'` (a PUT to `pods/{name}/status`) only the status changes. An
   * update that changes nothing writes nothing. Removing the last finalizer of a pod whose grace period
   * is over deletes it. With `strict` (the HTTP server sets it), the apiserver's update validation
   * applies: only images, activeDeadlineSeconds, added tolerations and the like may change in `spec`
   * (422 otherwise); without it, tests may change any field (bind a pod with `spec.nodeName`).
   */
  updatePod(pod: Pod, options: { subresource?: 'status'; strict?: boolean } = {}): Pod {
    return updatePod(this.#context, pod, options);
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
    return setPodPhase(this.#context, namespace, name, phase, patch);
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
    return deletePod(this.#context, namespace, name, options);
  }

  /**
   * Clears a pod's finalizers (MODIFIED). A pod being deleted whose grace period is over then goes
   * (DELETED) and `undefined` is returned; so is `undefined` for an absent pod.
   */
  removeFinalizers(namespace: string, name: string): Pod | undefined {
    return removeFinalizers(this.#context, namespace, name);
  }

  // ---------------------------------------------------------------- logs

  /**
   * What a container of the pod printed, as `GET pods/{name}/log` answers without `follow`: per
   * container (`container` required when the pod has several), the `previous` instance of a restarted
   * one, `tailLines`, `sinceSeconds`/`sinceTime`, `timestamps`, `limitBytes`. Errors as the apiserver
   * and kubelet word them (404 for the pod, 400 for a bad container or a missing previous instance).
   */
  podLogs(namespace: string, name: string, query: PodLogQuery = {}): string {
    const { instance } = this.#logTarget(namespace, name, query);
    return readLog(instance, query, this.clock.date().getTime());
  }

  /**
   * `GET pods/{name}/log?follow=true`: what {@link FakeCluster.podLogs} answers, then each line as the
   * container prints it, ending when the container's run ends (or the pod goes) or `signal` aborts.
   */
  followPodLogs(
    namespace: string,
    name: string,
    query: PodLogQuery & { readonly signal: AbortSignal },
  ): AsyncIterable<string> {
    const { instance } = this.#logTarget(namespace, name, query);
    // faults.resetLogStreams() breaks the stream: the follow stops, and the reader gets the reset.
    const cut = new AbortController();
    let failure: unknown;
    const lines = followLog(
      instance,
      query,
      this.clock.date().getTime(),
      AbortSignal.any([query.signal, cut.signal]),
    );
    const faults = this.#faults;
    return (async function* () {
      const forget = faults.onLogStreamOpened(namespace, name, (error) => {
        failure = error;
        cut.abort(error);
      });
      try {
        for await (const chunk of lines) {
          if (failure !== undefined) break;
          yield chunk;
        }
        if (failure !== undefined) throw failure;
      } finally {
        forget();
      }
    })();
  }

  #logTarget(namespace: string, name: string, query: PodLogQuery) {
    const pod = this.#store.get('pods', objectKey(namespace, name)) as Pod | undefined;
    if (pod === undefined) throw notFound('pods', name);
    checkLogQuery(query, name);
    const logs = this.#context.simulator.logs(objectKey(namespace, name), pod.metadata?.uid);
    return { pod, ...logTarget(pod, logs, query) };
  }

  // ---------------------------------------------------------------- nodes

  /** Adds a simulated node (409 if the name is taken); pods waiting for room are retried. */
  addNode(options: FakeNodeOptions): Node {
    return addNode(this.#context, options);
  }

  /** The node, or `undefined`. */
  getNode(name: string): Node | undefined {
    const node = this.#store.get('nodes', name);
    return node === undefined ? undefined : (copy(node) as Node);
  }

  /** Lists nodes as the API server does (a `NodeList`), with selectors and paging. */
  listNodes(query: ListQuery = {}): ListResult<Node> {
    return listObjects(this.#store, 'nodes', undefined, query) as ListResult<Node>;
  }

  /** A lease (the kubelets' heartbeats are `kube-node-lease/<node>`), or `undefined`. */
  getLease(namespace: string, name: string): Lease | undefined {
    const lease = this.#store.get('leases', objectKey(namespace, name));
    return lease === undefined ? undefined : (copy(lease) as Lease);
  }

  /**
   * Lists leases (a `LeaseList`, coordination.k8s.io/v1) of a namespace or all: in simulated mode, each
   * node's kubelet keeps `kube-node-lease/<node>`, renewed every 10 s.
   */
  listLeases(namespace: string | undefined, query: ListQuery = {}): ListResult<Lease> {
    return listObjects(this.#store, 'leases', namespace, query) as ListResult<Lease>;
  }

  /** Cordons a node (`kubectl cordon`: no new pods), or uncordons it with `false`. */
  cordonNode(name: string, cordoned = true): Node {
    return cordonNode(this.#context, name, cordoned);
  }

  /**
   * Makes a node Ready (`true`/`'True'`), NotReady (`false`/`'False'`: the kubelet reports it) or
   * unreachable (`'Unknown'`: the kubelet stopped posting status), with the node lifecycle
   * controller's taints, the pods' Ready condition, and eviction of its pods once their tolerations'
   * seconds (300 by default) are over.
   */
  setNodeReady(name: string, ready: boolean | NodeReadiness): Node {
    const status: NodeReadiness = ready === true ? 'True' : ready === false ? 'False' : ready;
    return setNodeReadiness(this.#context, name, status);
  }

  /**
   * Puts a node under memory or disk (`ephemeral-storage`) pressure, as its kubelet's eviction manager
   * sees it: `available` is what the node has left while the pods now on it run (pods that stop give
   * back what they use: see the `usage` script field). Below the threshold (default the kubelet's:
   * 100Mi of memory, 10% of the disk) the node reports MemoryPressure or DiskPressure, gets the
   * `node.kubernetes.io/memory-pressure` or `disk-pressure` NoSchedule taint (no new pods without a
   * toleration), and its pods are evicted one at a time, lowest ranked first (using more than they
   * request, then lower priority, then more over their requests): phase Failed, reason `Evicted`, the
   * kubelet's message, a DisruptionTarget condition and an `Evicted` event; their containers stop. The
   * condition stays True for 5 minutes after the threshold was last met, as the kubelet's pressure
   * transition period. `false` ends the pressure (available again). Returns the node after the call.
   */
  setNodePressure(name: string, resource: PressureResource, pressure: NodePressure | false): Node {
    this.#context.evictionManager.set(name, resource, pressure);
    return this.getNode(name) as Node;
  }

  /** Removes a node; the pod garbage collector deletes its pods after 40 s. */
  removeNode(name: string): void {
    this.#context.evictionManager.forget(name);
    removeNode(this.#context, name, (pod) => {
      const key = objectKey(pod.metadata?.namespace, pod.metadata?.name ?? '');
      const next = copy(pod) as MutablePod;
      const time = kubernetesTime(this.clock.date());
      next.status = {
        ...next.status,
        phase: 'Failed',
        conditions: [
          ...(next.status?.conditions ?? []).filter((condition) => condition.type !== 'DisruptionTarget'),
          {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'DeletionByPodGC',
            message: 'PodGC: node no longer exists',
            lastTransitionTime: time,
            lastProbeTime: null as unknown as string,
          },
        ],
      };
      this.#store.commit('pods', 'MODIFIED', key, next as StoredObject);
      this.#context.simulator.stop(key);
      deletePod(this.#context, pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', {
        gracePeriodSeconds: 0,
      });
    });
  }

  /** The taint-eviction controller deletes a pod on a node with a NoExecute taint it no longer tolerates. */
  #evict(pod: Pod): void {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const key = objectKey(namespace, name);
    const next = copy(pod) as MutablePod;
    next.status = {
      ...next.status,
      conditions: [
        ...(next.status?.conditions ?? []),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByTaintManager',
          message: 'Taint manager: deleting due to NoExecute taint',
          lastTransitionTime: kubernetesTime(this.clock.date()),
          lastProbeTime: null as unknown as string,
        },
      ],
    };
    this.#store.commit('pods', 'MODIFIED', key, next as StoredObject);
    recordEvent(this.#context, this.#store.get('pods', key) as Pod, {
      reason: 'TaintManagerEviction',
      message: `Marking for deletion Pod ${namespace}/${name}`,
      type: 'Normal',
      component: 'taint-eviction-controller',
    });
    deletePod(this.#context, namespace, name, {});
  }

  /**
   * Binds a pod to a node as the scheduler does through `pods/{name}/binding`: `spec.nodeName` and the
   * PodScheduled condition (MODIFIED); 409 Conflict if it is already assigned or being deleted.
   */
  bindPod(namespace: string, name: string, nodeName: string): Pod {
    return bindPod(this.#context, namespace, name, nodeName);
  }

  // ---------------------------------------------------------------- events

  /** Creates a core/v1 event as given (namespace from metadata, else involvedObject, else `default`). */
  createEvent(event: KubernetesEvent): KubernetesEvent {
    return createEvent(this.#context, event);
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
      recordEvent(this.#context, target, {
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
    return listObjects(this.#store, 'events', namespace, query) as ListResult<KubernetesEvent>;
  }

  /**
   * Replaces an event, with optimistic concurrency on `metadata.resourceVersion` (409 Conflict when
   * stale). uid and creationTimestamp are kept; an update that changes nothing writes nothing.
   */
  updateEvent(event: KubernetesEvent): KubernetesEvent {
    return updateEvent(this.#context, event);
  }

  /** Deletes an event at once (404 if absent, 409 if a precondition fails); returns its last state. */
  deleteEvent(namespace: string, name: string, options: DeleteQuery = {}): KubernetesEvent {
    return deleteEvent(this.#context, namespace, name, options);
  }

  /**
   * Deletes every pod or event of a namespace that the selectors match, as `DELETE` on the collection
   * (deletecollection) does: each as a single delete with `options` would (pods gracefully). Returns a
   * list of them as the deletes left them.
   */
  deleteCollection<R extends 'pods' | 'events'>(
    resource: R,
    namespace: string,
    options: Pick<ListQuery, 'fieldSelector' | 'labelSelector'> & DeleteQuery = {},
  ): ListResult<WatchObject<R>> {
    return deleteCollection(this.#context, resource, namespace, options) as ListResult<WatchObject<R>>;
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
  watch<R extends 'pods' | 'events' | 'namespaces' | 'nodes' | 'leases'>(
    resource: R,
    namespace: string | undefined,
    options: WatchQuery & { readonly signal: AbortSignal },
  ): AsyncIterable<WatchEvent<WatchObject<R>>> {
    return this.#watches.open(resource, namespace, options);
  }
}
