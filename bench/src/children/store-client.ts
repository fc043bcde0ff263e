// Retained heap of a namespace-wide watch of many pods, in its own process (run with --expose-gc):
// the heap after a full GC once the watch has listed everything, minus the heap before it started.
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { createPodStorage } from '@podstorage/core';
import { createUndiciTransport } from '@podstorage/undici';
import { request } from 'undici';
import type { StoreCandidate } from '../candidates.ts';
import { kubeconfigFor } from '../pods.ts';
import { collectGarbage, peakRssMiB, serveCalls } from '../processes.ts';

const PAGE = 500;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function heapAfterGc(): number {
  collectGarbage('the store benchmark', 4);
  return process.memoryUsage().heapUsed;
}

async function listAll(url: string, namespace: string): Promise<V1Pod[]> {
  const items: V1Pod[] = [];
  let next = '';
  do {
    const query = `limit=${PAGE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
    const { body } = await request(`${url}/api/v1/namespaces/${namespace}/pods?${query}`);
    const page = (await body.json()) as V1PodList;
    items.push(...page.items);
    next = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue ?? '';
  } while (next);
  return items;
}

// Kept alive until the measurement ends, so the GC cannot take what is measured.
const keep: unknown[] = [];

async function hold(candidate: StoreCandidate, url: string, namespace: string, pods: number) {
  if (candidate === 'whole parsed pods (Map)') {
    const byName = new Map<string, V1Pod>();
    for (const pod of await listAll(url, namespace)) byName.set(pod.metadata?.name ?? '', pod);
    keep.push(byName);
    return async () => {};
  }
  if (candidate === 'client-node informer') {
    const { CoreV1Api, KubeConfig, makeInformer } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigFor(url));
    const api = kubeConfig.makeApiClient(CoreV1Api);
    // Paged, as a careful user would write it for a big namespace (ListWatch takes one list).
    const listFn = async (): Promise<V1PodList> => {
      const items: V1Pod[] = [];
      let next: string | undefined;
      let resourceVersion: string | undefined;
      do {
        const page = await api.listNamespacedPod({ namespace, limit: PAGE, _continue: next });
        items.push(...page.items);
        resourceVersion = page.metadata?.resourceVersion;
        next = page.metadata?._continue;
      } while (next);
      return { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion }, items };
    };
    const informer = makeInformer(kubeConfig, `/api/v1/namespaces/${namespace}/pods`, listFn);
    await informer.start();
    if (informer.list().length !== pods) throw new Error(`informer holds ${informer.list().length} pods`);
    keep.push(informer);
    return () => informer.stop();
  }
  const transport = createUndiciTransport({ kubeconfig: kubeconfigFor(url) });
  const storage = createPodStorage(transport);
  const changes = storage.watchPodChanges(namespace);
  void (async () => {
    for await (const _change of changes);
  })();
  const pages = Math.ceil(pods / PAGE);
  for (let held = 0; held < 2; ) {
    await pause(20);
    const counters = storage.counters();
    held = counters.lists >= pages && counters.watchesActive > 0 ? held + 1 : 0;
  }
  keep.push(storage, transport, changes);
  return async () => {
    await changes.return?.();
    await storage.close();
    await transport.close();
  };
}

serveCalls({
  run: async (options: { candidate: StoreCandidate; url: string; namespace: string; pods: number }) => {
    // The module is loaded before the first measurement: its code is not the store.
    if (options.candidate === 'client-node informer') await import('@kubernetes/client-node');
    const before = heapAfterGc();
    const stop = await hold(options.candidate, options.url, options.namespace, options.pods);
    const after = heapAfterGc();
    const result = { retainedMiB: (after - before) / 1_048_576, peakRssMiB: peakRssMiB() };
    await stop();
    return result;
  },
});
