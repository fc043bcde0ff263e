// The fake API server's list cost, in its own process: a full paged list (500 a page, every page) of a
// FakeCluster holding `small` pods and one holding `large` pods, called in-process (no HTTP, so only
// the fake's own work is timed), alternating which size goes first, `runs` times each.
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

/**
 * Lists every page; returns the CPU time taken (this process's: on a loaded machine wall time says more
 * about the neighbours than about the fake) and the pages seen.
 */
function listAll(cluster: FakeCluster, pods: number): { ms: number; pages: number } {
  const started = process.cpuUsage();
  let pages = 0;
  let items = 0;
  let next: string | undefined;
  do {
    const page = cluster.listPods(NAMESPACE, { limit: PAGE, ...(next ? { continue: next } : {}) });
    pages += 1;
    items += page.items.length;
    next = page.metadata.continue;
  } while (next);
  const ms = cpuMs(started);
  if (items !== pods) throw new Error(`the fake listed ${items} pods, expected ${pods}`);
  return { ms, pages };
}

serveCalls({
  run: (options: { small: number; large: number; runs: number }) => {
    const small = clusterOf(options.small);
    const large = clusterOf(options.large);
    // A warm-up list of each, then the measured ones.
    listAll(small, options.small);
    listAll(large, options.large);
    const smallMs: number[] = [];
    const largeMs: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      if (run % 2 === 0) {
        smallMs.push(listAll(small, options.small).ms);
        largeMs.push(listAll(large, options.large).ms);
      } else {
        largeMs.push(listAll(large, options.large).ms);
        smallMs.push(listAll(small, options.small).ms);
      }
    }
    return { smallMs, largeMs };
  },
});
