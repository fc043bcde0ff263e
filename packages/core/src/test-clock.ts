// A manual clock for core's own tests (core cannot depend on @podstorage/fake). Not exported.
import type { Clock, TimerHandle } from './clock.js';

interface Scheduled {
  readonly at: number;
  readonly callback: () => void;
}

/**
 * Time moves only through `advance()` or `set()`. `earlyMs` makes timers of 2 ms or more fire that
 * much before their due time, as Node's timers can against `performance.now()`.
 */
export class ManualClock implements Clock {
  #now = 0;
  readonly #timers = new Map<object, Scheduled>();
  readonly earlyMs: number;

  constructor(options: { earlyMs?: number } = {}) {
    this.earlyMs = options.earlyMs ?? 0;
  }

  now(): number {
    return this.#now;
  }

  date(): Date {
    return new Date(Date.UTC(2026, 0, 1) + this.#now);
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = {};
    if (ms !== Number.POSITIVE_INFINITY) {
      // Like Node, a timer never fires before at least a millisecond passed; longer ones may come early.
      const early = ms >= 2 ? this.earlyMs : 0;
      this.#timers.set(handle, { at: this.#now + Math.max(0, ms - early), callback });
    }
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time without firing any timer (as when the event loop is busy). */
  set(now: number): void {
    this.#now = now;
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [object, Scheduled] | undefined;
      for (const entry of this.#timers) if (next === undefined || entry[1].at < next[1].at) next = entry;
      if (next === undefined || next[1].at > target) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].callback();
    }
    this.#now = target;
  }
}
