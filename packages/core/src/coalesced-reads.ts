import { nextTurn } from './clock.js';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { listPages, type PagerSettings } from './pager.js';
import { type RetrySettings, requestWithRetries } from './retry-policy.js';
import type { Timeout } from './timeout.js';

/** What {@link CoalescedPodReads} needs. */
export interface CoalescedReadSettings {
  readonly retry: RetrySettings;
  readonly pager: PagerSettings;
  /** Up to this many different pods read together are read with one GET each; more share one list. */
  readonly listAbove: number;
  /** How many pods a list of the namespace returns, when a watch of it knows; else `undefined`. */
  namespaceSize(namespace: string): number | undefined;
  /** Called once per GET sent, for the engine's counters. */
  onGet?(): void;
}

interface PendingRead {
  readonly name: string;
  readonly deadline: Timeout;
  settled: boolean;
  resolve(pod: Pod | undefined): void;
  reject(error: unknown): void;
}

/** The reads of one namespace waiting to be sent, and whether a list for earlier ones is in flight. */
interface NamespaceReads {
  pending: PendingRead[];
  scheduled: boolean;
  listing: boolean;
}

/**
 * Reads of pods by name, coalesced per namespace: the reads started in one turn of the event loop go out
 * together, as one GET per pod when they are few, or as one paged list of the namespace when they are
 * many (and more than the pages such a list takes), each read taking its pod's state from the list.
 * While such a list is in flight, newer reads wait for the next batch rather than join it: every read is
 * answered by a request sent after it started, so it is as new as anything its caller knew (a pod
 * re-created under the same name a moment ago is the new pod), exactly as a GET of its own would be.
 * The number of requests then grows with the bursts of reads, not with the reads.
 */
export class CoalescedPodReads {
  readonly #settings: CoalescedReadSettings;
  readonly #namespaces = new Map<string, NamespaceReads>();
  // Namespaces where listing pods was refused (403): RBAC may allow get but not list; GETs there.
  readonly #listForbidden = new Set<string>();

  constructor(settings: CoalescedReadSettings) {
    this.#settings = settings;
  }

  /**
   * The pod `name` in `namespace` now (`undefined` when it does not exist), read with retries within
   * `deadline`; rejects at once with the signal's reason when `signal` aborts.
   */
  read(name: string, namespace: string, deadline: Timeout, signal: AbortSignal): Promise<Pod | undefined> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => read.reject(signal.reason);
      const settle =
        <A>(settleWith: (value: A) => void) =>
        (value: A) => {
          if (read.settled) return;
          read.settled = true;
          signal.removeEventListener('abort', onAbort);
          settleWith(value);
        };
      const read: PendingRead = {
        name,
        deadline,
        settled: false,
        resolve: settle(resolve),
        reject: settle(reject),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let reads = this.#namespaces.get(namespace);
      if (reads === undefined) {
        reads = { pending: [], scheduled: false, listing: false };
        this.#namespaces.set(namespace, reads);
      }
      reads.pending.push(read);
      this.#schedule(namespace, reads);
    });
  }

  #schedule(namespace: string, reads: NamespaceReads): void {
    if (reads.scheduled || reads.listing) return;
    reads.scheduled = true;
    nextTurn(() => {
      reads.scheduled = false;
      this.#flush(namespace, reads);
    });
  }

  #flush(namespace: string, reads: NamespaceReads): void {
    const batch = reads.pending.filter((read) => !read.settled);
    reads.pending = [];
    if (batch.length === 0) {
      if (!reads.listing) this.#namespaces.delete(namespace);
      return;
    }
    const byName = new Map<string, PendingRead[]>();
    for (const read of batch) {
      const same = byName.get(read.name);
      if (same === undefined) byName.set(read.name, [read]);
      else same.push(read);
    }
    const size = this.#settings.namespaceSize(namespace);
    const pages = size === undefined ? 0 : Math.ceil(size / this.#settings.pager.pageSize);
    if (byName.size <= Math.max(this.#settings.listAbove, pages) || this.#listForbidden.has(namespace)) {
      for (const [name, same] of byName) void this.#get(name, namespace, same);
      this.#namespaces.delete(namespace);
      return;
    }
    reads.listing = true;
    void this.#list(namespace, byName).finally(() => {
      reads.listing = false;
      if (reads.pending.length > 0) this.#schedule(namespace, reads);
      else if (!reads.scheduled) this.#namespaces.delete(namespace);
    });
  }

  /** One GET for every read of the same pod in the batch. */
  async #get(name: string, namespace: string, same: readonly PendingRead[]): Promise<void> {
    const { deadline, signal, done } = together(same);
    try {
      const pod = await requestWithRetries(
        `get pod ${namespace}/${name}`,
        this.#settings.retry,
        deadline,
        signal,
        (attempt) => {
          this.#settings.onGet?.();
          return this.#settings.retry.transport.get('pods', namespace, name, { signal: attempt });
        },
      );
      for (const read of same) read.resolve(pod);
    } catch (error) {
      if (KubernetesError.isInstance(error) && error.code === 404)
        for (const read of same) read.resolve(undefined);
      else for (const read of same) read.reject(error);
    } finally {
      done();
    }
  }

  /** One paged list of the namespace for the whole batch: each read takes its pod from it. */
  async #list(namespace: string, byName: ReadonlyMap<string, readonly PendingRead[]>): Promise<void> {
    const all = [...byName.values()].flat();
    const { deadline, signal, done } = together(all);
    const found = new Map<string, Pod>();
    try {
      // Each page is bounded by the request timeout inside the pager; the whole list by the deadline.
      await requestWithRetries(
        `list pods in ${namespace} for ${byName.size} reads`,
        { ...this.#settings.retry, requestTimeoutMs: Number.POSITIVE_INFINITY },
        deadline,
        signal,
        (attempt) => {
          found.clear();
          return listPages(
            this.#settings.pager,
            'pods',
            namespace,
            undefined,
            attempt,
            (items, { restarted }) => {
              if (restarted) found.clear();
              for (const pod of items) {
                const name = pod.metadata?.name;
                if (name !== undefined && byName.has(name)) found.set(name, pod);
              }
            },
          );
        },
      );
      for (const [name, same] of byName) for (const read of same) read.resolve(found.get(name));
    } catch (error) {
      if (KubernetesError.isInstance(error) && error.code === 403) {
        // Allowed to get pods but not to list them: each read as the GET it would have been.
        this.#settings.retry.logger.info(
          { namespace, reads: byName.size },
          'listing pods is forbidden: reading them one by one',
        );
        this.#listForbidden.add(namespace);
        for (const [name, same] of byName) void this.#get(name, namespace, same);
        return;
      }
      for (const read of all) read.reject(error);
    } finally {
      done();
    }
  }
}

/**
 * One request on behalf of several reads: it runs until the read with the most time left runs out, and
 * is abandoned once every read it serves has been settled (each by its own signal, or answered).
 */
function together(reads: readonly PendingRead[]): {
  deadline: Timeout;
  signal: AbortSignal;
  done: () => void;
} {
  let deadline = (reads[0] as PendingRead).deadline;
  for (const read of reads) if (read.deadline.left() > deadline.left()) deadline = read.deadline;
  const controller = new AbortController();
  const check = () => {
    if (reads.every((read) => read.settled))
      controller.abort(new DOMException('every read this request served has ended', 'AbortError'));
  };
  // A read settled early is one that was rejected (its signal aborted): check after each rejection.
  for (const read of reads) {
    const reject = read.reject;
    read.reject = (error) => {
      reject(error);
      check();
    };
  }
  return { deadline, signal: controller.signal, done: () => controller.abort() };
}
