import { createPodStorage } from '@podstorage/core';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { expect, it } from 'vitest';
import { waitFor } from './test-support.js';
import { createUndiciTransport } from './undici-transport.js';

function tally(resources: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of resources) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The resources (sockets, timers, handles) `after` holds beyond `before`, such as `TCPSocketWrap×2`. */
function extra(before: Map<string, number>, after: readonly string[]): string {
  return [...tally(after)]
    .filter(([type, count]) => count > (before.get(type) ?? 0))
    .map(([type, count]) => `${type}×${count - (before.get(type) ?? 0)}`)
    .join(', ');
}

it.each(['http', 'websocket'] as const)(
  'over %s: once closed, the process holds no more sockets, timers or handles than before',
  async (watch) => {
    const before = tally(process.getActiveResourcesInfo());
    const cluster = new FakeCluster({ mode: 'manual' });
    const server = await serveFakeCluster(cluster, { tls: true, token: 'leak-check' });
    const transport = createUndiciTransport({ kubeconfig: server.kubeconfig, watch });
    const storage = createPodStorage(transport, { clock: cluster.clock });
    cluster.createPod({
      metadata: { name: 'job' },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
    });
    const phase = storage.waitForPhase('job', 'default', 60_000, { untilNot: ['Pending'] });
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch');
    cluster.setPodPhase('default', 'job', 'Succeeded');
    expect(await phase).toBe('Succeeded');
    const changes = storage.watchPodChanges('default')[Symbol.asyncIterator]();
    const next = changes.next();
    await waitFor(
      () => cluster.stats().watchesOpened === 2 && cluster.stats().activeWatches === 1,
      'the changes watch',
    );
    cluster.setPodPhase('default', 'job', 'Failed');
    expect((await next).value?.phase).toBe('Failed');
    await changes.return?.();
    await storage.close();
    await transport.close();
    // Only the server's listening socket may remain: the client let go of every connection by itself.
    await waitFor(
      () => extra(before, process.getActiveResourcesInfo()) === 'TCPServerWrap×1',
      'the client side to let go of everything',
    );
    await server.close();
    await waitFor(
      () => extra(before, process.getActiveResourcesInfo()) === '',
      'the process to hold no more resources than before',
    );
    expect(extra(before, process.getActiveResourcesInfo())).toBe('');
  },
);
