// The newest state of each pod in the namespace, from one watch for the whole server: the streams that
// follow one pod's container (its restarts, its back-off, the next instance's log) wait on it.
import type { Logger, ManagedPodStorage, Pod } from '@podstorage/core';

/** How many pods the feed remembers at most; the oldest-updated are forgotten first. */
const MAX_PODS = 10_000;
/** Real milliseconds before the watch is opened again after it failed. */
const RETRY_MS = 1_000;

/** Whether `candidate` is a newer state of the pod than `known` (by resourceVersion, where both are numbers). */
export function isNewer(candidate: Pod, known: Pod | undefined): boolean {
  if (known === undefined) return true;
  const a = candidate.metadata?.resourceVersion ?? '';
  const b = known.metadata?.resourceVersion ?? '';
  // resourceVersions are opaque to clients, but every apiserver (etcd's revision) and the fake count up.
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

/**
 * Keeps the newest state of each pod of a namespace, by uid, from `storage.watchPodChanges` (which
 * reports modifications: a restart, a back-off, a deletion's start), and tells who waits on a pod.
 */
export class PodFeed {
  readonly #latest = new Map<string, Pod>();
  readonly #listeners = new Set<(pod: Pod) => void>();

  /** Follows the namespace until `signal` aborts; a failed watch is opened again after a second. */
  async run(
    storage: ManagedPodStorage,
    namespace: string,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const { pod } of storage.watchPodChanges(namespace, { signal })) this.offer(pod);
        return;
      } catch (error) {
        if (signal.aborted) return;
        logger.warn({ namespace, error: String(error) }, 'pod feed failed: watching again');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_MS);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
  }

  /** Takes in a state of a pod (watched, or read by a stream); an older one than known is ignored. */
  offer(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (uid === undefined || !isNewer(pod, this.#latest.get(uid))) return;
    this.#latest.delete(uid);
    this.#latest.set(uid, pod);
    if (this.#latest.size > MAX_PODS) this.#latest.delete(this.#latest.keys().next().value as string);
    for (const listener of [...this.#listeners]) listener(pod);
  }

  /** The newest state known of the pod with `uid`. */
  latest(uid: string): Pod | undefined {
    return this.#latest.get(uid);
  }

  /** Forgets a pod that is gone. */
  forget(uid: string): void {
    this.#latest.delete(uid);
  }

  /** Calls `listener` with each newer state of the pod with `uid` until `signal` aborts. */
  listen(uid: string, listener: (pod: Pod) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    const each = (pod: Pod) => {
      if (pod.metadata?.uid === uid) listener(pod);
    };
    this.#listeners.add(each);
    signal.addEventListener('abort', () => this.#listeners.delete(each), { once: true });
  }

  /**
   * The first state of the pod with `uid`, from `from` on (the newest known if newer), for which
   * `test` holds; `undefined` if `signal` aborts first.
   */
  until(uid: string, from: Pod, test: (pod: Pod) => boolean, signal: AbortSignal): Promise<Pod | undefined> {
    this.offer(from);
    const now = this.#latest.get(uid) ?? from;
    if (test(now)) return Promise.resolve(now);
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve(undefined);
        return;
      }
      const stop = new AbortController();
      const done = (pod: Pod | undefined) => {
        stop.abort();
        resolve(pod);
      };
      signal.addEventListener('abort', () => done(undefined), { once: true, signal: stop.signal });
      this.listen(
        uid,
        (pod) => {
          if (test(pod)) done(pod);
        },
        AbortSignal.any([signal, stop.signal]),
      );
    });
  }
}
