import { type Pod, type PodPhase, phaseOf } from '@podstorage/core';
import type { FakeCluster } from '@podstorage/fake';

/**
 * The names soak pods take (`pod-a`, `pod-b`, …): few, so that names are reused (same-name replacements,
 * new uids).
 */
export function podNames(count: number): readonly string[] {
  return Array.from({ length: count }, (_, index) =>
    index < 26 ? `pod-${String.fromCharCode(97 + index)}` : `pod-${index}`,
  );
}
/** A pod outside the pool, modified at the end to learn when every watchPodChanges consumer has caught up. */
export const SENTINEL = 'soak-sentinel';

/** One state of a pod as the soak observed it: from `seq` until the next state (or the deletion). */
export interface PodState {
  readonly seq: number;
  readonly phase: PodPhase;
  readonly resourceVersion: string;
  readonly terminating: boolean;
}

/** One pod object (one uid) from creation to deletion. */
export interface Incarnation {
  readonly uid: string;
  readonly name: string;
  readonly createdSeq: number;
  readonly creationVersion: string;
  readonly states: PodState[];
  /** Every resourceVersion the object had, including ones a single cluster call went through. */
  readonly versions: Set<string>;
  /** resourceVersions of its DELETED events, when known: never a modification. */
  readonly deletionVersions: Set<string>;
  /** The first observation at which it was gone. */
  deletedSeq: number | undefined;
  /** The soak itself asked for its deletion (any deletion of it is then explained). */
  deletionRequested: boolean;
  /** Its deletion began (deletionTimestamp seen, or gone). */
  deletionStarted: boolean;
}

/** A deletion the soak did not ask for: only deleteAfterCompletion may do that, to a finished pod. */
export interface ForeignDeletion {
  readonly incarnation: Incarnation;
  readonly seq: number;
  readonly phase: PodPhase;
}

/**
 * The cluster's true history, as the soak observes it after every command and every step of time: in
 * manual mode only the soak changes phases, so each state is seen; deletions the cluster finishes on its
 * clock (grace periods) and the storage's own deletes are seen at the next observation.
 */
export class Truth {
  /** Observations made so far; the number of the latest one. */
  seq = 0;
  /** The storage clock's time at each observation. */
  readonly times: number[] = [0];
  readonly byUid = new Map<string, Incarnation>();
  readonly current = new Map<string, Incarnation>();
  readonly history = new Map<string, Incarnation[]>();
  readonly foreignDeletions: ForeignDeletion[] = [];
  readonly #cluster: FakeCluster;
  readonly #namespace: string;
  readonly #names: readonly string[];
  readonly #now: () => number;

  constructor(cluster: FakeCluster, namespace: string, names: readonly string[], now: () => number) {
    this.#cluster = cluster;
    this.#namespace = namespace;
    this.#names = names;
    this.#now = now;
    this.times[0] = now();
  }

  /** Looks at every pod now and records what changed. Returns the observation's number. */
  observe(): number {
    this.seq += 1;
    const seq = this.seq;
    this.times[seq] = this.#now();
    for (const name of this.#names) {
      const pod = this.#cluster.getPod(this.#namespace, name);
      const known = this.current.get(name);
      if (known !== undefined && (pod === undefined || pod.metadata?.uid !== known.uid)) {
        known.deletedSeq = seq;
        this.current.delete(name);
        this.#deletionStarts(known, seq);
      }
      if (pod === undefined) continue;
      const incarnation = this.current.get(name) ?? this.#born(pod, seq);
      const version = pod.metadata?.resourceVersion ?? '';
      const last = incarnation.states.at(-1);
      if (last?.resourceVersion === version) continue;
      const terminating = pod.metadata?.deletionTimestamp !== undefined;
      incarnation.states.push({ seq, phase: phaseOf(pod), resourceVersion: version, terminating });
      incarnation.versions.add(version);
      if (terminating) this.#deletionStarts(incarnation, seq);
    }
    return seq;
  }

  /** Records a version a cluster call returned (one call may go through several). */
  note(pod: Pod | undefined): void {
    const uid = pod?.metadata?.uid;
    const version = pod?.metadata?.resourceVersion;
    if (uid === undefined || version === undefined) return;
    this.byUid.get(uid)?.versions.add(version);
  }

  /** The incarnation alive at observation `seq`, if any. */
  aliveAt(name: string, seq: number): Incarnation | undefined {
    return (this.history.get(name) ?? []).find(
      (incarnation) =>
        incarnation.createdSeq <= seq &&
        (incarnation.deletedSeq === undefined || incarnation.deletedSeq > seq),
    );
  }

  /** The state of `name` at observation `seq`, or undefined when no pod had the name. */
  stateAt(name: string, seq: number): { incarnation: Incarnation; state: PodState } | undefined {
    const incarnation = this.aliveAt(name, seq);
    if (incarnation === undefined) return undefined;
    const state = [...incarnation.states].reverse().find((candidate) => candidate.seq <= seq);
    return state === undefined ? undefined : { incarnation, state };
  }

  /** True if a pod of this name had `phase` at some time between observations `from` and `to`. */
  hadPhase(name: string, phase: PodPhase, from: number, to: number): Incarnation | undefined {
    for (const incarnation of this.history.get(name) ?? []) {
      const { states } = incarnation;
      for (let index = 0; index < states.length; index += 1) {
        const state = states[index] as PodState;
        const until = states[index + 1]?.seq ?? incarnation.deletedSeq ?? Number.POSITIVE_INFINITY;
        if (state.phase === phase && state.seq <= to && until > from) return incarnation;
      }
    }
    return undefined;
  }

  /** True if the name had no pod, or a pod of it went, between observations `from` and `to`. */
  goneBetween(name: string, from: number, to: number): boolean {
    if (this.aliveAt(name, from) === undefined) return true;
    return (this.history.get(name) ?? []).some(
      (incarnation) =>
        incarnation.deletedSeq !== undefined && incarnation.deletedSeq > from && incarnation.deletedSeq <= to,
    );
  }

  /** The first observation made at or after storage-clock time `time`. */
  seqAt(time: number): number | undefined {
    for (let seq = 0; seq <= this.seq; seq += 1) if ((this.times[seq] ?? 0) >= time) return seq;
    return undefined;
  }

  /** A pod's history, for failure messages. */
  describe(name: string): string {
    const lines = (this.history.get(name) ?? []).map((incarnation) => {
      const states = incarnation.states
        .map(
          (state) =>
            `#${state.seq} ${state.phase}@${state.resourceVersion}${state.terminating ? ' (terminating)' : ''}`,
        )
        .join(', ');
      const end = incarnation.deletedSeq === undefined ? 'exists' : `gone at #${incarnation.deletedSeq}`;
      return `    ${name} uid ${incarnation.uid.slice(0, 8)}: created #${incarnation.createdSeq}; ${states}; ${end}${incarnation.deletionRequested ? ' (deleted by the soak)' : ''}`;
    });
    return lines.length > 0 ? lines.join('\n') : `    ${name}: never existed`;
  }

  #born(pod: Pod, seq: number): Incarnation {
    const name = pod.metadata?.name ?? '';
    const incarnation: Incarnation = {
      uid: pod.metadata?.uid ?? '',
      name,
      createdSeq: seq,
      creationVersion: pod.metadata?.resourceVersion ?? '',
      states: [],
      versions: new Set(),
      deletionVersions: new Set(),
      deletedSeq: undefined,
      deletionRequested: false,
      deletionStarted: false,
    };
    this.byUid.set(incarnation.uid, incarnation);
    this.current.set(name, incarnation);
    const history = this.history.get(name) ?? [];
    history.push(incarnation);
    this.history.set(name, history);
    return incarnation;
  }

  #deletionStarts(incarnation: Incarnation, seq: number): void {
    if (incarnation.deletionStarted) return;
    incarnation.deletionStarted = true;
    if (incarnation.deletionRequested) return;
    const phase = incarnation.states.at(-1)?.phase ?? 'Pending';
    this.foreignDeletions.push({ incarnation, seq, phase });
  }
}
