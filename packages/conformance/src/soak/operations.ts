import type { PodChange, PodPhase } from '@podstorage/core';

/** A `waitForPhase` or `deleteAfterCompletion` the soak started, and how it ended. */
export interface WaitOperation {
  readonly id: number;
  readonly kind: 'waitForPhase' | 'deleteAfterCompletion';
  readonly name: string;
  readonly untilNot: readonly PodPhase[];
  readonly timeoutMs: number;
  readonly startSeq: number;
  /** Storage clock, read just before the call. */
  readonly startTime: number;
  readonly controller: AbortController | undefined;
  status: 'pending' | 'fulfilled' | 'rejected';
  value: PodPhase | null | undefined;
  reason: unknown;
  /** The last observation made before it settled. */
  settleSeq: number | undefined;
  settleTime: number | undefined;
  cancelled: boolean;
  checked: boolean;
}

/** A consumer the soak runs in the background: what it received and how it ended. */
export interface ConsumerState<T> {
  readonly id: number;
  readonly startSeq: number;
  readonly startTime: number;
  readonly iterator: AsyncIterator<T>;
  readonly items: { readonly value: T; readonly seq: number }[];
  status: 'running' | 'done' | 'failed';
  error: unknown;
  endSeq: number | undefined;
  endTime: number | undefined;
  /** `return()` was called (by a stop command or at the end). */
  stopped: boolean;
  /** The loop that pulls it, settled once it ended. */
  readonly pulled: Promise<void>;
}

/** An `eventsForPod` the soak started. */
export interface EventsOperation extends ConsumerState<string> {
  readonly name: string;
  readonly timeoutMs: number;
}

/** A `watchPodChanges` the soak started. */
export type ChangesOperation = ConsumerState<PodChange>;

/** Pulls `iterator` in the background into a consumer state. */
export function consume<T, Extra extends object>(
  iterator: AsyncIterator<T>,
  start: { id: number; startSeq: number; startTime: number },
  extra: Extra,
  now: () => { seq: number; time: number },
): ConsumerState<T> & Extra {
  const items: { value: T; seq: number }[] = [];
  const state = {
    ...start,
    ...extra,
    iterator,
    items,
    status: 'running' as ConsumerState<T>['status'],
    error: undefined as unknown,
    endSeq: undefined as number | undefined,
    endTime: undefined as number | undefined,
    stopped: false,
    pulled: Promise.resolve(),
  };
  state.pulled = (async () => {
    try {
      for (;;) {
        const result = await iterator.next();
        if (result.done) {
          state.status = 'done';
          return;
        }
        items.push({ value: result.value, seq: now().seq });
      }
    } catch (error) {
      state.status = 'failed';
      state.error = error;
    } finally {
      const at = now();
      state.endSeq = at.seq;
      state.endTime = at.time;
    }
  })();
  return state;
}
