// 1,000 (or `iterators`) concurrent eventsForPod iterators in one namespace, in their own process:
// `arm` resolves once every iterator has yielded its pod's existing event, `finish` once every one has
// yielded the new event the server records after that, with the time each did (monotonic ms).
import { createPodStorage, type ManagedPodStorage } from '@podstorage/core';
import { createUndiciTransport, type UndiciTransport } from '@podstorage/undici';
import { kubeconfigFor, podName } from '../pods.ts';
import { monotonicMs, peakRssMiB, serveCalls } from '../processes.ts';

const TIMEOUT_MS = 300_000;

let transport: UndiciTransport | undefined;
let storage: ManagedPodStorage | undefined;
let started = 0;
let armed: Promise<void> = Promise.resolve();
let done: Promise<void> = Promise.resolve();
let newAt: number[] = [];
let marker = '';

serveCalls({
  arm: async (options: { url: string; namespace: string; iterators: number; marker: string }) => {
    marker = options.marker;
    transport = createUndiciTransport({ kubeconfig: kubeconfigFor(options.url) });
    storage = createPodStorage(transport);
    newAt = new Array(options.iterators).fill(Number.NaN);
    started = monotonicMs();
    const firsts: Promise<void>[] = [];
    const lasts: Promise<void>[] = [];
    for (let index = 0; index < options.iterators; index++) {
      const iterator = storage.eventsForPod(podName(index), options.namespace, TIMEOUT_MS);
      let first!: () => void;
      firsts.push(new Promise<void>((resolve) => (first = resolve)));
      lasts.push(
        (async () => {
          let seen = 0;
          for await (const message of iterator) {
            seen += 1;
            if (seen === 1) first();
            if (message.startsWith(marker)) {
              newAt[index] = monotonicMs();
              return;
            }
          }
          throw new Error(`events of ${podName(index)} ended before the new event`);
        })(),
      );
    }
    done = Promise.all(lasts).then(() => {});
    done.catch(() => {});
    armed = Promise.all(firsts).then(() => {});
    await Promise.race([armed, done]);
    return monotonicMs() - started;
  },
  finish: async () => {
    await done;
    const result = {
      totalMs: Math.max(...newAt) - started,
      newAt,
      peakRssMiB: peakRssMiB(),
    };
    await storage?.close();
    await transport?.close();
    return result;
  },
});
