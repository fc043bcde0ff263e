import type { Pod, PodPhase } from '@podstorage/core';
import { type Progress, ProgressTracker } from './progress.js';

/** A change of one pod's progress, as {@link ProgressBook} reports it. */
export interface ProgressChange {
  readonly name: string;
  readonly uid: string;
  readonly progress: Progress;
}

/**
 * The one place that knows how far each pod is: every stream and every table row reads its progress
 * here, so the bar of the followed pod and its row in the table never disagree (the pod stream learns
 * "Pulling image" from an event while the table sees only the pod object; both feed the same tracker).
 * Keyed by uid, so a new pod under an old name starts from scratch.
 */
export class ProgressBook {
  readonly #pods = new Map<string, { name: string; tracker: ProgressTracker; touched: number }>();
  readonly #listeners = new Set<(change: ProgressChange) => void>();
  #sequence = 0;
  readonly #forgetAfterMs: number;

  /** @param forgetAfterMs How long a pod is remembered once gone (real time), for late streams. */
  constructor(forgetAfterMs = 60_000) {
    this.#forgetAfterMs = forgetAfterMs;
  }

  /** Takes in a pod object (as read, listed, created or watched). */
  pod(pod: Pod): Progress {
    const uid = pod.metadata?.uid ?? '';
    return this.#update(uid, pod.metadata?.name ?? '', (tracker) => tracker.pod(pod));
  }

  /** Takes in an event message about the pod. */
  message(uid: string, name: string, message: string): Progress {
    return this.#update(uid, name, (tracker) => tracker.message(message));
  }

  /** Takes in a phase of the pod. */
  phase(uid: string, name: string, phase: PodPhase): Progress {
    return this.#update(uid, name, (tracker) => tracker.phase(phase));
  }

  /** Takes in that the API server accepted the pod's deletion. */
  stopping(uid: string, name: string): Progress {
    return this.#update(uid, name, (tracker) => tracker.stopping());
  }

  /**
   * Takes in that the pod is gone. It is forgotten a while later: other streams of the same pod may
   * still hear of its end, and must not start it again from scratch.
   */
  gone(uid: string, name: string): Progress {
    const progress = this.#update(uid, name, (tracker) => tracker.gone());
    const entry = this.#pods.get(uid);
    setTimeout(() => {
      if (this.#pods.get(uid) === entry) this.#pods.delete(uid);
    }, this.#forgetAfterMs).unref();
    return progress;
  }

  /** The pod's progress, if the book knows the pod. */
  current(uid: string): Progress | undefined {
    return this.#pods.get(uid)?.tracker.current();
  }

  /** A mark to pass to {@link ProgressBook.retain}, taken before a list. */
  mark(): number {
    return this.#sequence;
  }

  /**
   * Forgets the pods a full list (begun at `mark`) no longer has, unless the book heard of them since
   * the list began (a pod created meanwhile): it does not grow with every pod that ever lived.
   */
  retain(uids: ReadonlySet<string>, mark: number): void {
    for (const [uid, entry] of this.#pods) {
      if (!uids.has(uid) && entry.touched <= mark) this.#pods.delete(uid);
    }
  }

  /** Calls `listener` for every change of any pod's progress until `signal` aborts. */
  listen(listener: (change: ProgressChange) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.#listeners.add(listener);
    signal.addEventListener('abort', () => this.#listeners.delete(listener), { once: true });
  }

  #update(uid: string, name: string, apply: (tracker: ProgressTracker) => Progress): Progress {
    let entry = this.#pods.get(uid);
    if (entry === undefined) {
      entry = { name, tracker: new ProgressTracker(), touched: 0 };
      this.#pods.set(uid, entry);
    }
    entry.touched = ++this.#sequence;
    const before = entry.tracker.current();
    const after = apply(entry.tracker);
    if (!sameProgress(before, after)) {
      for (const listener of [...this.#listeners]) listener({ name: entry.name, uid, progress: after });
    }
    return after;
  }
}

/** Whether two progresses say the same. */
export function sameProgress(a: Progress, b: Progress): boolean {
  return a.stage === b.stage && a.failed === b.failed && a.ending === b.ending;
}
