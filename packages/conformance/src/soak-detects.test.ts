import type { PodTransport, WatchEvent, WatchOptions } from '@podstorage/core';
import type { FakeCluster } from '@podstorage/fake';
import { describe, expect, it } from 'vitest';
import { resolveSoakSettings, type SoakOptions } from './soak/options.js';
import { SoakFailure, soak } from './soak.js';
import type { ConformanceFactory } from './types.js';

// A soak that cannot fail is a defect: each backend below breaks one promise on purpose, and the soak
// must say so. On the fake clock, with fixed seeds, so these tests are deterministic and quick.

/** Known open engine defects of issue 9, left out here so that each test fails for its own broken backend. */
const ENGINE_DEFECTS = /stopped iterating|injected:|with TimeoutError: |TooManyRequests|after close/;

function settings(overrides: SoakOptions = {}) {
  return resolveSoakSettings({
    clock: 'fake',
    runs: 60,
    seed: 20260101,
    shrink: false,
    env: false,
    log: false,
    ignore: ENGINE_DEFECTS,
    ...overrides,
  });
}

async function soakFailure(factory: ConformanceFactory, overrides: SoakOptions = {}): Promise<string> {
  try {
    await soak(factory, settings(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(SoakFailure);
    return (error as SoakFailure).message;
  }
  throw new Error('the soak passed a backend that breaks a promise');
}

/** Wraps the watch of the in-process transport: `change` sees each event and may drop or alter it. */
function withWatch(
  cluster: FakeCluster,
  change: (options: WatchOptions) => {
    options?: WatchOptions;
    event?: (event: WatchEvent<unknown>) => WatchEvent<unknown> | undefined;
  },
): PodTransport {
  const inner = cluster.transport();
  return {
    ...inner,
    get: inner.get.bind(inner),
    list: inner.list.bind(inner),
    delete: inner.delete.bind(inner),
    async watch(resource, namespace, options) {
      const plan = change(options);
      const stream = await inner.watch(resource, namespace, plan.options ?? options);
      const filter = plan.event;
      if (filter === undefined) return stream;
      return {
        async *[Symbol.asyncIterator]() {
          for await (const event of stream) {
            const kept = filter(event as WatchEvent<unknown>);
            if (kept !== undefined) yield kept as typeof event;
          }
        },
      };
    },
  } as PodTransport;
}

describe('the soak fails a backend that breaks a promise', () => {
  it('a backend that loses a watch event now and then: a change is missed', async () => {
    const message = await soakFailure((cluster) => {
      let count = 0;
      return {
        transport: withWatch(cluster, () => ({
          event: (event) => {
            if (event.type !== 'MODIFIED') return event;
            count += 1;
            return count % 3 === 0 ? undefined : event;
          },
        })),
      };
    });
    expect(message).toMatch(/SOAK_SEED=20260101 SOAK_PATH="\d[\d:]*"/);
    expect(message).toMatch(/has not yielded|still pending|never yielded|missed the newest state/);
  }, 60_000);

  it('a backend that loses the modifications that make a pod Running: a change in the middle is missed', async () => {
    // The pod's later states still arrive, so only the check of each consumer's newest yield finds it.
    const message = await soakFailure((cluster) => ({
      transport: withWatch(cluster, () => ({
        event: (event) => {
          const phase = (event.object as { status?: { phase?: string } }).status?.phase;
          return event.type === 'MODIFIED' && phase === 'Running' ? undefined : event;
        },
      })),
    }));
    expect(message).toMatch(/missed the newest state of/);
  }, 60_000);

  it('a backend that resumes a watch from an older version: changes are yielded twice', async () => {
    const message = await soakFailure((cluster) => ({
      transport: withWatch(cluster, (options) => {
        const version = Number(options.resourceVersion);
        if (!Number.isSafeInteger(version) || version < 4) return {};
        return { options: { ...options, resourceVersion: String(version - 3) } };
      }),
    }));
    // Each resumed watch repeats old events: a consumer yields them again (or, if the engine relists at
    // once after each 410 of an expired replay, a hot loop).
    expect(message).toMatch(/(watchPodChanges|eventsForPod)#\d+ .*: yielded|hot loop/);
  }, 60_000);

  it('a backend that reports a deletion as a modification', async () => {
    const message = await soakFailure((cluster) => ({
      transport: withWatch(cluster, () => ({
        event: (event) => (event.type === 'DELETED' ? { ...event, type: 'MODIFIED' } : event),
      })),
    }));
    expect(message).toMatch(
      /the pod.s deletion, not a modification|a version the pod never had|returned|still pending/,
    );
  }, 60_000);

  it('a backend that never closes a watch on the cluster: the stream leaks', async () => {
    const message = await soakFailure((cluster) => {
      const inner = cluster.transport();
      return {
        transport: {
          ...inner,
          get: inner.get.bind(inner),
          list: inner.list.bind(inner),
          delete: inner.delete.bind(inner),
          // The cluster's watch gets a signal that never aborts: nothing closes it.
          watch: (resource, namespace, options) =>
            inner.watch(resource, namespace, { ...options, signal: new AbortController().signal }),
        } as PodTransport,
      };
    });
    // Either the cluster still counts the watch, or the storage cannot even close (its stream never ends).
    expect(message).toMatch(/no watch active on the cluster|still pending|storage\.close\(\) to settle/);
  }, 60_000);

  it('a backend that deletes the wrong pod', async () => {
    const message = await soakFailure((cluster) => {
      const inner = cluster.transport();
      return {
        transport: {
          ...inner,
          get: inner.get.bind(inner),
          list: inner.list.bind(inner),
          watch: inner.watch.bind(inner),
          // pod-a → pod-b, pod-b → pod-c, …: what deleteAfterCompletion deletes is another pod.
          delete: (resource, namespace, name, options) =>
            inner.delete(
              resource,
              namespace,
              name.replace(/.$/, (last) => String.fromCharCode(last.charCodeAt(0) + 1)),
              {
                ...options,
                preconditions: undefined,
              },
            ),
        } as PodTransport,
      };
    });
    expect(message).toMatch(
      /began to be deleted .* by no one the soak knows|the pod that had it was not deleted/,
    );
  }, 60_000);

  it('a backend whose handles stay open after close', async () => {
    const message = await soakFailure((cluster) => ({
      transport: cluster.transport(),
      openHandles: () => 1,
    }));
    expect(message).toMatch(/backend\.openHandles\(\) to be 0/);
  }, 60_000);
});
