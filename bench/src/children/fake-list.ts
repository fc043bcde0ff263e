// The fake API server's list cost, in its own process: a full paged list (500 a page, every page) of a
// FakeCluster holding `small` pods and one holding `large` pods, called in-process (no HTTP, so only
// the fake's own work is timed), their pages interleaved, `runs` times.
import { PerformanceObserver } from 'node:perf_hooks';
import { FakeCluster } from '@podstorage/fake';
import { realisticPod } from '../pods.ts';
import { cpuMs, serveCalls } from '../processes.ts';

const NAMESPACE = 'bench';
const PAGE = 500;

function clusterOf(pods: number): FakeCluster {
  const cluster = new FakeCluster({ mode: 'manual', watchdog: false, historySize: 1_000 });
  cluster.createNamespace(NAMESPACE);
  for (let index = 0; index < pods; index++) cluster.createPod(realisticPod(index, NAMESPACE));
  return cluster;
}

// Garbage-collection pauses, summed, so the report can say how much of a list's time they are.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

/** A full paged list in progress: its cluster, its continue token, and what it has cost so far. */
class PagedList {
  readonly #cluster: FakeCluster;
  readonly #pods: number;
  #next: string | undefined;
  #started = false;
  #items = 0;
  cpuMs = 0;

  constructor(cluster: FakeCluster, pods: number) {
    this.#cluster = cluster;
    this.#pods = pods;
  }

  get done(): boolean {
    return this.#started && this.#next === undefined;
  }

  /** Lists the next page, in CPU time (this process's: on a loaded machine wall time says more about
   * the neighbours than about the fake). */
  page(): void {
    const started = process.cpuUsage();
    const page = this.#cluster.listPods(NAMESPACE, {
      limit: PAGE,
      ...(this.#next ? { continue: this.#next } : {}),
    });
    this.cpuMs += cpuMs(started);
    this.#started = true;
    this.#items += page.items.length;
    this.#next = page.metadata.continue;
    if (this.done && this.#items !== this.#pods) {
      throw new Error(`the fake listed ${this.#items} pods, expected ${this.#pods}`);
    }
  }
}

/**
 * One full list of each store, their pages interleaved in proportion (one page of the small store, then
 * as many of the large one as it has pages per small page), so that both see the same machine: on a
 * shared host the speed of a CPU drifts over seconds, and two lists made one after the other compare
 * two moments rather than two sizes. Returns each list's CPU time and the GC pauses of the pass.
 */
async function interleavedLists(
  small: FakeCluster,
  smallPods: number,
  large: FakeCluster,
  largePods: number,
): Promise<{ smallMs: number; largeMs: number; gcMs: number }> {
  const gcBefore = gcMs;
  const smallList = new PagedList(small, smallPods);
  const largeList = new PagedList(large, largePods);
  const perSmallPage = Math.max(1, Math.round(largePods / smallPods));
  while (!smallList.done || !largeList.done) {
    if (!smallList.done) smallList.page();
    for (let step = 0; step < perSmallPage && !largeList.done; step++) largeList.page();
  }
  // The GC observer hears of the lists' collections a moment later: let it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { smallMs: smallList.cpuMs, largeMs: largeList.cpuMs, gcMs: gcMs - gcBefore };
}

serveCalls({
  run: async (options: { small: number; large: number; runs: number }) => {
    const small = clusterOf(options.small);
    const large = clusterOf(options.large);
    // A warm-up pass, then the measured ones.
    await interleavedLists(small, options.small, large, options.large);
    const runs: { smallMs: number; largeMs: number; gcMs: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
      runs.push(await interleavedLists(small, options.small, large, options.large));
    }
    return { runs };
  },
});
