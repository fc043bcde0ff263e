import type { ObjectMeta } from './kubernetes.js';
import { sameResourceVersion } from './resource-versions.js';
import type { StoreChange, SyncView, WatchSubscriber, WatchSubscription } from './watch-engine.js';

type KubernetesObject = { metadata?: ObjectMeta };

/** What {@link followObject} needs: how to join the watch and how to read the object itself. */
export interface FollowOptions<T extends KubernetesObject> {
  /** The object's name. */
  readonly name: string;
  /** Joins the shared watch that covers the object. */
  subscribe(subscriber: WatchSubscriber<T>): WatchSubscription<T>;
  /** Reads the object now (a GET, retried as the caller sees fit); `undefined` when it does not exist. */
  read(signal: AbortSignal): Promise<T | undefined>;
  readonly signal: AbortSignal;
}

/**
 * Decides from a state of the object: a result ends the follow, `undefined` goes on. `undefined` state
 * means the object is gone (never existed, or deleted).
 */
export type Decide<T, Result> = (state: T | undefined) => Result | undefined;

type Item<T> = { readonly type: StoreChange<T>['type'] | 'SYNC'; readonly object: T | undefined };

/**
 * Follows one object through a shared watch and hands `decide` only states that are authoritative: each
 * as new as the object was when the follow began, and none older than one already decided from. This is
 * the one place that knows the consistency contract of a late joiner:
 *
 * - A consumer whose watch lists after it joined ({@link WatchSubscription.fresh}) trusts the watch.
 * - Any other consumer reads the object itself at once (also while the watch is still listing), and
 *   trusts the watch only once the watch holds the very resourceVersion it read (versions are opaque:
 *   equality is all that is promised, see `sameResourceVersion`). Until then every change the watch
 *   reports for the object may be older than the read, so it triggers a new read instead of a decision.
 * - A deletion of the incarnation (uid) being followed is news whatever the version it carries: a uid
 *   never comes back, so even a deletion inferred from a relist, or from a new uid under the same name,
 *   is final.
 * - A relist is news to a consumer that does not trust the watch yet: the object it read may have
 *   lived and gone inside the gap the relist covers, where no change reports it. It reads again.
 *
 * Resolves with `decide`'s first result and leaves the watch synchronously, inside the callback that
 * decided (so a wait decided by the first list never opens a stream). Rejects with the watch's error, a
 * failed read, or the signal's reason.
 */
export function followObject<T extends KubernetesObject, Result>(
  options: FollowOptions<T>,
  decide: Decide<T, Result>,
): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    new ObjectFollower(options, decide, resolve, reject).start();
  });
}

/**
 * The state of one follow. A class, not closures: 10,000 waits each hold one, and its methods are
 * shared, so a follow costs its fields alone (and the young generation has that much less to copy).
 * It is the watch's subscriber and the signal's abort listener itself.
 */
class ObjectFollower<T extends KubernetesObject, Result> implements WatchSubscriber<T> {
  readonly #options: FollowOptions<T>;
  readonly #decide: Decide<T, Result>;
  readonly #resolve: (result: Result) => void;
  readonly #reject: (error: unknown) => void;
  // waiting: for the fresh first view, or for the initial read to start; reading: a read is in flight.
  #mode: 'waiting' | 'reading' | 'untrusted' | 'trusted' = 'waiting';
  #settled = false;
  #joining = true;
  #subscription: WatchSubscription<T> | undefined;
  #followedUid: string | undefined;
  #decidedVersion: string | undefined;
  // Reports that came while the follow could not decide from them yet; made when the first one comes.
  #queued: Item<T>[] | undefined;

  constructor(
    options: FollowOptions<T>,
    decide: Decide<T, Result>,
    resolve: (result: Result) => void,
    reject: (error: unknown) => void,
  ) {
    this.#options = options;
    this.#decide = decide;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    const { signal } = this.#options;
    if (signal.aborted) {
      this.#reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', this, { once: true });
    let subscription: WatchSubscription<T>;
    try {
      subscription = this.#options.subscribe(this);
      this.#subscription = subscription;
    } catch (error) {
      this.#fail(error);
      return;
    } finally {
      this.#joining = false;
    }
    if (this.#settled) subscription.close();
    else if (!subscription.fresh) void this.#read();
  }

  // The watch's callbacks.

  onSync(objects: ReadonlyMap<string, T>, { fresh }: SyncView<T>): void {
    if (this.#settled) return;
    if (fresh && this.#mode === 'waiting') {
      this.#mode = 'trusted';
      this.#offer(objects.get(this.#options.name));
    } else if (!this.#joining) {
      // Not when joining a synced watch: that view is older than the read that follows.
      this.#handle({ type: 'SYNC', object: objects.get(this.#options.name) });
    }
  }

  onChange(change: StoreChange<T>): void {
    if (change.object.metadata?.name === this.#options.name) this.#handle(change);
  }

  // The relist reported the object's differences, but not an object that lived and went inside the
  // gap: one we read and the watch never held. Until the watch is trusted, that is news.
  onRelist(): void {
    if (!this.#settled && this.#mode !== 'trusted') {
      this.#handle({ type: 'SYNC', object: this.#subscription?.get(this.#options.name) });
    }
  }

  onError(error: unknown): void {
    this.#fail(error);
  }

  /** The signal's abort. */
  handleEvent(): void {
    this.#fail(this.#options.signal.reason);
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#options.signal.removeEventListener('abort', this);
    this.#subscription?.close();
    return true;
  }

  #fail(error: unknown): void {
    if (this.#finish()) this.#reject(error);
  }

  /** Hands an authoritative state to `decide`; true when that ended the follow. */
  #offer(state: T | undefined): boolean {
    this.#decidedVersion = state?.metadata?.resourceVersion;
    this.#followedUid ??= state?.metadata?.uid;
    let result: Result | undefined;
    try {
      result = this.#decide(state);
    } catch (error) {
      this.#fail(error);
      return true;
    }
    if (result === undefined) return false;
    if (this.#finish()) this.#resolve(result);
    return true;
  }

  #readInFlight(): boolean {
    return this.#mode === 'reading';
  }

  #watchHoldsDecidedState(): boolean {
    // Two absences are no version match: a watch that lags behind a pod's whole life holds nothing too.
    const held = this.#subscription?.get(this.#options.name);
    return held !== undefined && sameResourceVersion(held.metadata?.resourceVersion, this.#decidedVersion);
  }

  async #read(): Promise<void> {
    this.#mode = 'reading';
    let state: T | undefined;
    try {
      state = await this.#options.read(this.#options.signal);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#settled || this.#offer(state)) return;
    // Changes the watch reported while we read are older than what it holds now; if what it holds is
    // what we read, they are all behind us and the watch can be trusted from here on.
    const queued = this.#queued ?? [];
    this.#queued = undefined;
    if (this.#watchHoldsDecidedState()) {
      this.#mode = 'trusted';
      return;
    }
    this.#mode = 'untrusted';
    // A change that sends us to read again is older than that read (a GET without resourceVersion is
    // a quorum read of the latest state), and so are the ones queued behind it.
    for (const item of queued) if (this.#handle(item) || this.#readInFlight()) break;
  }

  /** Takes one report of the watch about the object; true when it ended the follow. */
  #handle(item: Item<T>): boolean {
    if (this.#settled) return true;
    if (this.#mode === 'waiting' || this.#mode === 'reading') {
      if (this.#queued === undefined) this.#queued = [item];
      else this.#queued.push(item);
      return false;
    }
    if (this.#mode === 'trusted') return this.#offer(item.type === 'DELETED' ? undefined : item.object);
    const uid = item.object?.metadata?.uid;
    if (item.type === 'DELETED' && this.#followedUid !== undefined && uid === this.#followedUid) {
      return this.#offer(undefined);
    }
    if (
      uid === this.#followedUid &&
      sameResourceVersion(item.object?.metadata?.resourceVersion, this.#decidedVersion)
    ) {
      // The watch has reached the state we read: what follows is newer.
      this.#mode = 'trusted';
      return false;
    }
    void this.#read();
    return false;
  }
}
