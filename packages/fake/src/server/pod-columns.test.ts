// podColumns: READY, STATUS and RESTARTS as kubectl 1.32 prints them (pkg/printers/internalversion/
// printers.go printPod), the same cells the server's Table rows carry (kubectl-tables.test.ts checks
// those against kubectl itself), for pages that show pods as `kubectl get pods` does.
import { describe, expect, it } from 'vitest';
import { FakeCluster } from '../fake-cluster.js';
import { podColumns } from '../index.js';
import { toTable } from './tables.js';

describe('podColumns', () => {
  it('says Running, then CrashLoopBackOff with the restarts and how long ago, then Terminating', async () => {
    const cluster = new FakeCluster();
    cluster.createPod({
      metadata: { name: 'loop' },
      spec: {
        containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 1; exit 3'] }],
      },
    });
    const columns = () => podColumns(cluster.getPod('default', 'loop') as never, cluster.clock.date());
    expect(columns()).toEqual({ ready: '0/1', status: 'Pending', restarts: '0' });
    await cluster.clock.advance(1_200);
    expect(columns()).toEqual({ ready: '1/1', status: 'Running', restarts: '0' });
    // Exit 3 at once restarted; the second exit waits out the 10 s back-off.
    await cluster.clock.advance(2_000);
    expect(columns()).toEqual({ ready: '0/1', status: 'CrashLoopBackOff', restarts: '1 (0s ago)' });
    await cluster.clock.advance(5_000);
    expect(columns().restarts).toBe('1 (5s ago)');
    // The same cells as the server's Table row for kubectl.
    const table = toTable(
      'pods',
      { items: [cluster.getPod('default', 'loop') as never] },
      { version: 'v1', includeObject: 'None' },
      cluster.clock.date(),
    ) as { rows: { cells: unknown[] }[] };
    expect(table.rows[0]?.cells.slice(1, 4)).toEqual([columns().ready, columns().status, columns().restarts]);
    // Being deleted (a deletionTimestamp), whatever the containers say.
    const deleting = cluster.deletePod('default', 'loop');
    expect(podColumns(deleting, cluster.clock.date()).status).toBe('Terminating');
  });
});
