// The fake API server's list cost, in its own process: a full paged list (500 a page, every page) of a
// FakeCluster holding `small` pods and one holding `large` pods, called in-process (no HTTP, so only
// the fake's own work is timed), alternating which size goes first, `runs` times each.
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

/**
 * Lists every page; returns the CPU time taken (this process's: on a loaded machine wall time says more
 * about the neighbours than about the fake) and the garbage collectors' pauses during it.
 */
async function listAll(cluster: FakeCluster, pods: number): Promise<{ ms: number; gcMs: number }> {
  const gcBefore = gcMs;
  const started = process.cpuUsage();
  let items = 0;
  let next: string | undefined;
  do {
    const page = cluster.listPods(NAMESPACE, { limit: PAGE, ...(next ? { continue: next } : {}) });
    items += page.items.length;
    next = page.metadata.continue;
  } while (next);
  const ms = cpuMs(started);
  if (items !== pods) throw new Error(`the fake listed ${items} pods, expected ${pods}`);
  // The GC observer hears of the list's collections a moment later: let it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { ms, gcMs: gcMs - gcBefore };
}

serveCalls({
  run: async (options: { small: number; large: number; runs: number }) => {
    const small = clusterOf(options.small);
    const large = clusterOf(options.large);
    // A warm-up list of each, then the measured ones.
    await listAll(small, options.small);
    await listAll(large, options.large);
    const smallRuns: { ms: number; gcMs: number }[] = [];
    const largeRuns: { ms: number; gcMs: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
      if (run % 2 === 0) {
        smallRuns.push(await listAll(small, options.small));
        largeRuns.push(await listAll(large, options.large));
      } else {
        largeRuns.push(await listAll(large, options.large));
        smallRuns.push(await listAll(small, options.small));
      }
    }
    return { smallRuns, largeRuns };
  },
});
