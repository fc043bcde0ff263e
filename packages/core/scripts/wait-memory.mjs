// Measures what one armed waitForPhase holds: `node --expose-gc wait-memory.mjs [waits]`. Prints one JSON
// line. Run by src/wait-memory.test.ts against the built package (dist), in a child process so that the
// heap it measures holds nothing but this. Not a timed test: sizes only.
import { createPodStorage } from '../dist/index.js';

const count = Number(process.argv[2] ?? 5_000);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const pod = (index) => ({
  metadata: {
    name: `pod-${index}`,
    namespace: 'default',
    uid: `uid-${index}`,
    resourceVersion: String(100 + index),
  },
  status: { phase: 'Pending' },
});

/** Lists every pod, then a watch that stays open and silent until it is aborted. */
const transport = {
  async list() {
    return {
      metadata: { resourceVersion: '99999' },
      items: Array.from({ length: count + 1 }, (_, i) => pod(i)),
    };
  },
  async get(_resource, _namespace, name) {
    return pod(Number(name.slice('pod-'.length)));
  },
  async watch(_resource, _namespace, { signal }) {
    return {
      async *[Symbol.asyncIterator]() {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      },
    };
  },
  async delete() {},
};

const turns = async (n) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await turns(2);
  }
  return process.memoryUsage().heapUsed;
};

const storage = createPodStorage(transport);
// One wait first: the namespace's pods are listed and held, and every code path has run once.
const first = storage.waitForPhase(`pod-${count}`, 'default', 600_000, { untilNot: ['Pending'] });
first.catch(() => {});
await turns(50);
const before = await heap();
const waits = [];
for (let index = 0; index < count; index++) {
  const wait = storage.waitForPhase(`pod-${index}`, 'default', 600_000, { untilNot: ['Pending'] });
  wait.catch(() => {});
  waits.push(wait);
}
await turns(50);
const after = await heap();
const counters = storage.counters();
await storage.close();
console.log(JSON.stringify({ waits: count, bytesPerWait: (after - before) / count, counters }));
