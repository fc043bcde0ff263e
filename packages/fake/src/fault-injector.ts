import type { KubernetesError } from '@podstorage/core';
import { KubernetesError as CoreKubernetesError } from '@podstorage/core';
import type { FakeClock } from './fake-clock.js';
import { failureStatus } from './status.js';
import { connectionResetError } from './watcher.js';

/** The API verbs a fault can target. */
export type RequestVerb = 'get' | 'list' | 'watch' | 'delete' | 'create' | 'update';

/** Which requests or streams a fault applies to; an absent field matches everything. */
export interface FaultFilter {
  readonly resource?: 'pods' | 'events';
  readonly namespace?: string;
}

/** A {@link FaultFilter} that can also name the verbs it applies to. */
export interface RequestFaultFilter extends FaultFilter {
  readonly verbs?: readonly RequestVerb[];
}

/** The Status a `failNext` fault answers with. */
export interface InjectedStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message?: string;
  /** Sent as `details.retryAfterSeconds` (the `Retry-After` header over HTTP). */
  readonly retryAfterSeconds?: number;
}

/**
 * Breaks the fake cluster the ways real clusters and networks break, so tests can prove a client copes.
 * Stream faults act on watches that are open now (or, where said, on those opened next); request faults
 * act on calls made through `transport()` (and the HTTP server), never on the cluster's own methods that
 * tests use to set the scene.
 */
export interface FaultInjector {
  /** Open watch streams throw a connection-reset error (`code: 'ECONNRESET'`). Returns how many. */
  resetWatches(filter?: FaultFilter): number;
  /** Open watch streams stay open but deliver nothing more (no events, bookmarks or end) until aborted. */
  stallWatches(filter?: FaultFilter): number;
  /** The next matching watch stalls before its headers: the transport's `watch()` resolves only by abort. */
  stallNextWatch(filter?: FaultFilter): void;
  /** Open watch streams end cleanly, as at the server's `timeoutSeconds`. Returns how many. */
  endWatches(filter?: FaultFilter): number;
  /**
   * Open watches end cleanly after `events` more events (every event counts, bookmarks included). With
   * `upcoming: n`, the next n watches to open get that budget instead of the open ones.
   */
  cutWatchesAfter(events: number, filter?: FaultFilter & { readonly upcoming?: number }): void;
  /**
   * Open following log streams (`pods/log?follow=true`) break with a connection reset, as when the
   * apiserver or the kubelet behind it goes away mid-stream (over HTTP the socket is destroyed).
   * Returns how many. The containers keep running and printing.
   */
  resetLogStreams(filter?: { readonly namespace?: string; readonly pod?: string }): number;
  /** Forgets all history: every resourceVersion before now expires (410 on watch and on continue tokens). */
  compact(): void;
  /** The next `count` matching calls throw a `KubernetesError` built from this Status. */
  failNext(count: number, status: InjectedStatus, filter?: RequestFaultFilter): void;
  /** Each matching call first waits `ms` on the cluster clock (0 removes the latency for that filter). */
  latency(ms: number, filter?: RequestFaultFilter): void;
  /** Removes every pending fault (failures, latency, upcoming stalls and cuts). Open streams stay as they are. */
  clear(): void;
}

/** What the injector needs to see of an open watch. */
export interface FaultTarget {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly open: boolean;
  end(): void;
  fail(error: unknown): void;
  stall(): void;
  cutAfter(events: number): void;
}

/** A request as the fault layer sees it. */
export interface RequestInfo {
  readonly verb: RequestVerb;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly signal: AbortSignal;
}

function matches(filter: FaultFilter | undefined, resource: string, namespace: string | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.resource !== undefined && filter.resource !== resource) return false;
  if (filter.namespace !== undefined && filter.namespace !== namespace) return false;
  return true;
}

function matchesRequest(
  filter: RequestFaultFilter | undefined,
  request: Omit<RequestInfo, 'signal'>,
): boolean {
  if (!matches(filter, request.resource, request.namespace)) return false;
  return filter?.verbs === undefined || filter.verbs.includes(request.verb);
}

function sameFilter(a: RequestFaultFilter | undefined, b: RequestFaultFilter | undefined): boolean {
  const normalize = (filter: RequestFaultFilter | undefined) =>
    JSON.stringify([
      filter?.resource,
      filter?.namespace,
      filter?.verbs ? [...filter.verbs].sort() : undefined,
    ]);
  return normalize(a) === normalize(b);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The fault injector of one cluster; the cluster calls {@link FaultInjectorImplementation.beforeRequest}. */
export class FaultInjectorImplementation implements FaultInjector {
  readonly #clock: FakeClock;
  readonly #targets: () => Iterable<FaultTarget>;
  readonly #compact: () => void;
  #failures: { remaining: number; status: InjectedStatus; filter: RequestFaultFilter | undefined }[] = [];
  #latencies: { ms: number; filter: RequestFaultFilter | undefined }[] = [];
  #stalls: (FaultFilter | undefined)[] = [];
  #cuts: { events: number; remaining: number; filter: FaultFilter | undefined }[] = [];

  constructor(options: { clock: FakeClock; targets: () => Iterable<FaultTarget>; compact: () => void }) {
    this.#clock = options.clock;
    this.#targets = options.targets;
    this.#compact = options.compact;
  }

  readonly #logStreams = new Set<{ namespace: string; pod: string; fail: (error: unknown) => void }>();

  /** Registers an open following log stream for {@link resetLogStreams}; call the result when it ends. */
  onLogStreamOpened(namespace: string, pod: string, fail: (error: unknown) => void): () => void {
    const entry = { namespace, pod, fail };
    this.#logStreams.add(entry);
    return () => this.#logStreams.delete(entry);
  }

  resetLogStreams(filter: { readonly namespace?: string; readonly pod?: string } = {}): number {
    const hit = [...this.#logStreams].filter(
      (entry) =>
        (filter.namespace === undefined || filter.namespace === entry.namespace) &&
        (filter.pod === undefined || filter.pod === entry.pod),
    );
    for (const entry of hit) {
      this.#logStreams.delete(entry);
      entry.fail(connectionResetError());
    }
    return hit.length;
  }

  resetWatches(filter?: FaultFilter): number {
    return this.#each(filter, (target) => target.fail(connectionResetError()));
  }

  stallWatches(filter?: FaultFilter): number {
    return this.#each(filter, (target) => target.stall());
  }

  stallNextWatch(filter?: FaultFilter): void {
    this.#stalls.push(filter);
  }

  endWatches(filter?: FaultFilter): number {
    return this.#each(filter, (target) => target.end());
  }

  cutWatchesAfter(events: number, filter?: FaultFilter & { readonly upcoming?: number }): void {
    if (!Number.isInteger(events) || events < 0)
      throw new RangeError(`events must be an integer >= 0, got ${events}`);
    if (filter?.upcoming !== undefined) {
      this.#cuts.push({ events, remaining: filter.upcoming, filter });
      return;
    }
    this.#each(filter, (target) => target.cutAfter(events));
  }

  compact(): void {
    this.#compact();
  }

  failNext(count: number, status: InjectedStatus, filter?: RequestFaultFilter): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be an integer >= 0, got ${count}`);
    if (count > 0) this.#failures.push({ remaining: count, status, filter });
  }

  latency(ms: number, filter?: RequestFaultFilter): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ms must be a finite number >= 0, got ${ms}`);
    this.#latencies = this.#latencies.filter((rule) => !sameFilter(rule.filter, filter));
    if (ms > 0) this.#latencies.push({ ms, filter });
  }

  clear(): void {
    this.#failures = [];
    this.#latencies = [];
    this.#stalls = [];
    this.#cuts = [];
  }

  /**
   * Applies request faults to one call, in the order a real call meets them: network latency, then the
   * server's failure answer, then (watches) a stall before the response headers. Rejects with the
   * signal's reason as soon as it aborts.
   */
  async beforeRequest(request: RequestInfo): Promise<void> {
    const { signal } = request;
    if (signal.aborted) throw abortReason(signal);
    const latency = Math.max(
      0,
      ...this.#latencies.filter((rule) => matchesRequest(rule.filter, request)).map((rule) => rule.ms),
    );
    if (latency > 0) await this.#wait(latency, signal);
    const failure = this.#failures.find((rule) => rule.remaining > 0 && matchesRequest(rule.filter, request));
    if (failure !== undefined) {
      failure.remaining--;
      this.#failures = this.#failures.filter((rule) => rule.remaining > 0);
      throw this.#error(failure.status);
    }
    if (request.verb === 'watch') {
      const stall = this.#stalls.findIndex((filter) => matches(filter, request.resource, request.namespace));
      if (stall !== -1) {
        this.#stalls.splice(stall, 1);
        await new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
        });
      }
    }
  }

  /** Hands a newly opened watch its pending `cutWatchesAfter({ upcoming })` budget, if one matches. */
  onWatchOpened(target: FaultTarget): void {
    const cut = this.#cuts.find(
      (rule) => rule.remaining > 0 && matches(rule.filter, target.resource, target.namespace),
    );
    if (cut === undefined) return;
    cut.remaining--;
    this.#cuts = this.#cuts.filter((rule) => rule.remaining > 0);
    target.cutAfter(cut.events);
  }

  #each(filter: FaultFilter | undefined, act: (target: FaultTarget) => void): number {
    // Copy first: acting on a target may remove it from the live set.
    const targets = [...this.#targets()].filter(
      (target) => target.open && matches(filter, target.resource, target.namespace),
    );
    for (const target of targets) act(target);
    return targets.length;
  }

  #error(injected: InjectedStatus): KubernetesError {
    const details =
      injected.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: injected.retryAfterSeconds };
    const status = failureStatus(
      injected.code,
      injected.message ?? `injected failure (${injected.code})`,
      details,
      injected.reason,
    );
    return CoreKubernetesError.fromStatus(status);
  }

  #wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        reject(abortReason(signal));
      };
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
