import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import type { BackendName } from './backend.js';
import { startSpawner } from './server.js';
import { eventually, openStream } from './test-support.js';

// The network backends are written alongside this app; each runs here once its package exports its
// factory, and says so where it does not yet.
async function exports(specifier: string, name: string): Promise<boolean> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    return typeof module[name] === 'function';
  } catch {
    return false;
  }
}
const available: Record<Exclude<BackendName, 'fake'>, boolean> = {
  undici: await exports('@podstorage/undici', 'createUndiciTransport'),
  'client-node': await exports('@podstorage/client-node', 'createClientNodeTransport'),
};
for (const [backend, present] of Object.entries(available)) {
  if (!present)
    console.warn(
      `spawner-web: the ${backend} backend test is SKIPPED: @podstorage/${backend} is not built yet`,
    );
}

describe.each(['undici', 'client-node'] as const)('the %s backend', (backend) => {
  it.skipIf(!available[backend])(
    "starts, follows and stops a pod on the fake cluster served over HTTP, in the kubeconfig context's namespace",
    async (context) => {
      const cluster = new FakeCluster({
        namespaces: ['default', 'sandbox'],
        defaultLifecycle: { scheduleAfterMs: 100, pullMs: 1_000, runMs: 2_000 },
      });
      const server = await serveFakeCluster(cluster);
      const directory = await mkdtemp(join(tmpdir(), 'spawner-kubeconfig-'));
      const kubeconfig = join(directory, 'config');
      // As kubectl and pod-runner: without --namespace, the context's namespace.
      const withNamespace = server.kubeconfig.replace('namespace: "default"', 'namespace: "sandbox"');
      expect(withNamespace).not.toBe(server.kubeconfig);
      await writeFile(kubeconfig, withNamespace, { mode: 0o600 });
      const spawner = await startSpawner({ backend, kubeconfig, port: 0 }).catch(async (error: unknown) => {
        // Creating pods is optional in PodTransport; a backend still being written may not have it yet.
        if (!(error instanceof Error && /PodTransport.create is missing/.test(error.message))) throw error;
        console.warn(
          `spawner-web: the ${backend} backend test is SKIPPED: its transport has no create() yet`,
        );
        await server.close();
        await rm(directory, { recursive: true, force: true });
        return undefined;
      });
      if (spawner === undefined) {
        context.skip();
        return;
      }
      try {
        expect(spawner.backend).toBe(backend);
        expect(spawner.namespace).toBe('sandbox');
        const url = (path: string) => new URL(path, spawner.url).toString();
        const started = await fetch(url('/api/pods'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ seconds: 60 }),
        });
        expect(started.status).toBe(201);
        const pod = (await started.json()) as { name: string; uid: string };
        expect(cluster.getPod('sandbox', pod.name)).toBeDefined();
        const stream = await openStream(url(`/api/pods/${pod.name}/watch`));
        const table = await openStream(url('/api/watch'));
        await eventually(() => expect(stream.named('snapshot')).toHaveLength(1));
        // The cluster's clock is the test's: each step lets the watches over HTTP catch up.
        for (
          let step = 0;
          step < 100 && !stream.named('phase').some((event) => event.data.phase === 'Running');
          step++
        ) {
          await cluster.clock.advance(100);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await eventually(() =>
          expect(stream.named('event').map((event) => event.data.message)).toContain(
            'Started container main',
          ),
        );
        const stopped = await fetch(url(`/api/pods/${pod.name}?uid=${pod.uid}`), { method: 'DELETE' });
        expect(stopped.status).toBe(202);
        await eventually(async () => {
          await cluster.clock.advance(500);
          expect(stream.named('gone')).toHaveLength(1);
          expect(table.named('removed').map((event) => event.data.name)).toContain(pod.name);
        });
        stream.close();
        table.close();
      } finally {
        await spawner.close();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      }
      expect(server.openConnections()).toBe(0);
    },
    20_000,
  );
  it.skipIf(!available[backend])(
    'follows a crash-looping pod over HTTP: STATUS CrashLoopBackOff, and each instance’s log with a restart between',
    async () => {
      const cluster = new FakeCluster({
        defaultLifecycle: { scheduleAfterMs: 100, pullMs: 1_000, runMs: 2_000 },
      });
      const server = await serveFakeCluster(cluster);
      const directory = await mkdtemp(join(tmpdir(), 'spawner-kubeconfig-'));
      const kubeconfig = join(directory, 'config');
      await writeFile(kubeconfig, server.kubeconfig, { mode: 0o600 });
      const spawner = await startSpawner({ backend, kubeconfig, port: 0 });
      try {
        const url = (path: string) => new URL(path, spawner.url).toString();
        const started = await fetch(url('/api/pods'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ seconds: 1, exitCode: 3, restartPolicy: 'Always' }),
        });
        expect(started.status).toBe(201);
        const pod = (await started.json()) as { name: string; uid: string };
        const stream = await openStream(url(`/api/pods/${pod.name}/watch?uid=${pod.uid}`));
        const logs = await openStream(url(`/api/pods/${pod.name}/logs?uid=${pod.uid}`));
        await eventually(() => expect(stream.named('snapshot')).toHaveLength(1));
        // The cluster's clock is the test's. It moves until the cluster shows the next state, then
        // holds while the streams over HTTP catch up (the container waits for the clock), so no
        // instance passes before the page's log follow has read it.
        const container = () => cluster.getPod('default', pod.name)?.status?.containerStatuses?.[0];
        const advanceUntil = async (condition: () => boolean) => {
          for (let step = 0; step < 300 && !condition(); step++) await cluster.clock.advance(100);
          expect(condition()).toBe(true);
        };
        await advanceUntil(() => container()?.state?.running !== undefined);
        await eventually(() => expect(logs.named('line')).toHaveLength(1));
        // Exit 3: restarted at once (the first exit has no back-off yet).
        await advanceUntil(() => (container()?.restartCount ?? 0) >= 1);
        await eventually(() => expect(logs.named('line')).toHaveLength(2));
        // The second exit falls in the 10 s back-off: CrashLoopBackOff.
        await advanceUntil(() => container()?.state?.waiting?.reason === 'CrashLoopBackOff');
        await eventually(() => {
          expect(logs.named('waiting')).toHaveLength(1);
          expect(stream.named('pod').some((event) => event.data.pod.status === 'CrashLoopBackOff')).toBe(
            true,
          );
        });
        const order = logs.events
          .filter((event) => event.event !== 'reset')
          .map((event) => (event.event === 'line' ? event.data.text : event.event));
        expect(order.slice(0, 3)).toEqual(['spawned by podstorage', 'restart', 'spawned by podstorage']);
        expect(logs.named('restart')[0]?.data.container).toMatchObject({
          restartCount: 1,
          lastTermination: { exitCode: 3, reason: 'Error' },
        });
        expect(logs.named('waiting')[0]?.data.container).toMatchObject({ reason: 'CrashLoopBackOff' });
        const stopped = await fetch(url(`/api/pods/${pod.name}?uid=${pod.uid}`), { method: 'DELETE' });
        expect(stopped.status).toBe(202);
        await eventually(async () => {
          await cluster.clock.advance(500);
          expect(logs.named('end')).toHaveLength(1);
          expect(stream.named('gone')).toHaveLength(1);
        });
        stream.close();
        logs.close();
      } finally {
        await spawner.close();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
