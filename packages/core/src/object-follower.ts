import type { ObjectMeta } from './kubernetes.js';
import { sameResourceVersion } from './resource-versions.js';
import type { StoreChange, WatchSubscriber, WatchSubscription } from './watch-engine.js';

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
  const { name, signal } = options;
  return new Promise<Result>((resolve, reject) => {
    // waiting: for the fresh first view, or for the initial read to start; reading: a read is in flight.
    let mode: 'waiting' | 'reading' | 'untrusted' | 'trusted' = 'waiting';
    let settled = false;
    let subscription: WatchSubscription<T> | undefined;
    let followedUid: string | undefined;
    let decidedVersion: string | undefined;
    const queued: Item<T>[] = [];

    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      subscription?.close();
      settle();
    };
    const onAbort = () => finish(() => reject(signal.reason));

    /** Hands an authoritative state to `decide`; true when that ended the follow. */
    const offer = (state: T | undefined): boolean => {
      decidedVersion = state?.metadata?.resourceVersion;
      followedUid ??= state?.metadata?.uid;
      let result: Result | undefined;
      try {
        result = decide(state);
      } catch (error) {
        finish(() => reject(error));
        return true;
      }
      if (result === undefined) return false;
      finish(() => resolve(result));
      return true;
    };

    const readInFlight = () => mode === 'reading';
    const watchHoldsDecidedState = (): boolean => {
      // Two absences are no version match: a watch that lags behind a pod's whole life holds nothing too.
      const held = subscription?.get(name);
      return held !== undefined && sameResourceVersion(held.metadata?.resourceVersion, decidedVersion);
    };

    const read = async (): Promise<void> => {
      mode = 'reading';
      let state: T | undefined;
      try {
        state = await options.read(signal);
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      if (settled || offer(state)) return;
      // Changes the watch reported while we read are older than what it holds now; if what it holds is
      // what we read, they are all behind us and the watch can be trusted from here on.
      if (watchHoldsDecidedState()) {
        mode = 'trusted';
        queued.length = 0;
        return;
      }
      mode = 'untrusted';
      // A change that sends us to read again is older than that read (a GET without resourceVersion is
      // a quorum read of the latest state), and so are the ones queued behind it.
      for (const item of queued.splice(0)) if (handle(item) || readInFlight()) break;
    };

    /** Takes one report of the watch about the object; true when it ended the follow. */
    const handle = (item: Item<T>): boolean => {
      if (settled) return true;
      if (mode === 'waiting' || mode === 'reading') {
        queued.push(item);
        return false;
      }
      if (mode === 'trusted') return offer(item.type === 'DELETED' ? undefined : item.object);
      const uid = item.object?.metadata?.uid;
      if (item.type === 'DELETED' && followedUid !== undefined && uid === followedUid)
        return offer(undefined);
      if (
        uid === followedUid &&
        sameResourceVersion(item.object?.metadata?.resourceVersion, decidedVersion)
      ) {
        // The watch has reached the state we read: what follows is newer.
        mode = 'trusted';
        return false;
      }
      void read();
      return false;
    };

    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    let joining = true;
    try {
      subscription = options.subscribe({
        onSync: (objects, { fresh }) => {
          if (settled) return;
          if (fresh && mode === 'waiting') {
            mode = 'trusted';
            offer(objects.get(name));
          } else if (!joining) {
            // Not when joining a synced watch: that view is older than the read that follows.
            handle({ type: 'SYNC', object: objects.get(name) });
          }
        },
        onChange: (change) => {
          if (change.object.metadata?.name === name) handle(change);
        },
        // The relist reported the object's differences, but not an object that lived and went inside
        // the gap: one we read and the watch never held. Until the watch is trusted, that is news.
        onRelist: () => {
          if (!settled && mode !== 'trusted') handle({ type: 'SYNC', object: subscription?.get(name) });
        },
        onError: (error) => finish(() => reject(error)),
      });
    } catch (error) {
      finish(() => reject(error));
      return;
    } finally {
      joining = false;
    }
    if (settled) subscription.close();
    else if (!subscription.fresh) void read();
  });
}
