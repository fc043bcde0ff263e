// Container logs as the kubelet serves them through the apiserver (pkg/kubelet/kuberuntime/logs/logs.go:
// RFC3339Nano timestamps, tail, since, limitBytes; pkg/registry/core/pod/strategy.go LogLocation and
// pkg/kubelet/kubelet_pods.go validateContainerLogStatus for the errors), in process.
import { createPodStorage } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';
import { serveFakeCluster } from './server/serve.js';
import { pod } from './test-support.js';

async function text(stream: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const chunk of stream) all += chunk;
  return all;
}

describe('pod logs', () => {
  it('selects by tailLines, sinceSeconds, sinceTime and limitBytes, with kubelet timestamps', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { output: ['a', 'b', 'c', 'd'], runMs: 4_000 } });
    await cluster.clock.advance(1_100 + 4_000);
    expect(cluster.podLogs('default', 'web')).toBe('a\nb\nc\nd\n');
    expect(cluster.podLogs('default', 'web', { tailLines: 2 })).toBe('c\nd\n');
    expect(cluster.podLogs('default', 'web', { tailLines: 0 })).toBe('');
    expect(cluster.podLogs('default', 'web', { sinceSeconds: 2 })).toBe('c\nd\n');
    expect(cluster.podLogs('default', 'web', { sinceTime: '2026-01-01T00:00:03.100Z' })).toBe('c\nd\n');
    expect(cluster.podLogs('default', 'web', { limitBytes: 3 })).toBe('a\nb');
    expect(cluster.podLogs('default', 'web', { timestamps: true, tailLines: 1 })).toBe(
      '2026-01-01T00:00:04.100000000Z d\n',
    );
  });

  it('answers the errors of the apiserver and kubelet', async () => {
    const cluster = new FakeCluster();
    const two = pod('two');
    cluster.createPod(
      {
        ...two,
        spec: { ...two.spec, containers: [...two.spec.containers, { name: 'side', image: 'busybox' }] },
      },
      { lifecycle: { pullMs: 60_000 } },
    );
    expect(() => cluster.podLogs('default', 'nope')).toThrow(expect.objectContaining({ code: 404 }));
    expect(() => cluster.podLogs('default', 'two')).toThrow(
      'a container name must be specified for pod two, choose one of: [main side]',
    );
    expect(() => cluster.podLogs('default', 'two', { container: 'x' })).toThrow(
      'container x is not valid for pod two',
    );
    // Not scheduled yet: nothing to read, an empty answer.
    expect(cluster.podLogs('default', 'two', { container: 'main' })).toBe('');
    await cluster.clock.advance(200);
    expect(() => cluster.podLogs('default', 'two', { container: 'main' })).toThrow(
      'container "main" in pod "two" is waiting to start: ContainerCreating',
    );
    expect(() => cluster.podLogs('default', 'two', { container: 'main', previous: true })).toThrow(
      'previous terminated container "main" in pod "two" not found',
    );
    expect(() => cluster.podLogs('default', 'two', { container: 'main', tailLines: -1 })).toThrow(
      /tailLines/,
    );
  });

  it('follows a container until it ends, and through the in-process transport and core logsForPod', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { output: ['one', 'two'], runMs: 2_000 } });
    await cluster.clock.advance(1_100);
    const followed = text(
      cluster.followPodLogs('default', 'web', { follow: true, signal: AbortSignal.timeout(60_000) }),
    );
    const chunks = await cluster.transport().readPodLog?.('default', 'web', {
      follow: true,
      signal: AbortSignal.timeout(60_000),
    });
    const viaTransport = text(chunks as AsyncIterable<string>);
    await using storage = createPodStorage(cluster.transport(), { clock: cluster.clock });
    const lines: string[] = [];
    const viaCore = (async () => {
      for await (const line of storage.logsForPod('web', 'default', 60_000)) lines.push(line.text);
    })();
    await cluster.clock.advance(2_000);
    expect(await followed).toBe('one\ntwo\n');
    expect(await viaTransport).toBe('one\ntwo\n');
    for (let step = 0; step < 20 && lines.length < 2; step++) await cluster.clock.advance(1_000);
    await cluster.clock.advance(60_000);
    await viaCore;
    expect(lines).toEqual(['one', 'two']);
  });

  it('faults.resetLogStreams breaks an open follow with ECONNRESET, in process and over HTTP', async () => {
    const cluster = new FakeCluster();
    cluster.createPod(pod('web'), { lifecycle: { output: ['one', 'two'], runMs: 2_000 } });
    await cluster.clock.advance(1_100);
    const chunks: string[] = [];
    const inProcess = (async () => {
      for await (const chunk of cluster.followPodLogs('default', 'web', {
        follow: true,
        signal: AbortSignal.timeout(60_000),
      }))
        chunks.push(chunk);
    })().then(
      () => 'ended',
      (error: { code?: string }) => error.code,
    );
    const server = await serveFakeCluster(cluster);
    try {
      const response = await fetch(`${server.url}/api/v1/namespaces/default/pods/web/log?follow=true`);
      expect(response.status).toBe(200);
      const body = response.text().then(
        () => 'ended',
        () => 'broken',
      );
      // Both are open: the server registers its follow before it sends the headers fetch waited for.
      for (let turn = 0; turn < 200 && chunks.length === 0; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(chunks).toEqual(['one\n']);
      expect(cluster.faults.resetLogStreams({ pod: 'web' })).toBe(2);
      expect(await inProcess).toBe('ECONNRESET');
      expect(await body).toBe('broken');
      // The container printed on; a new follow reads it all.
      await cluster.clock.advance(2_000);
      expect(cluster.podLogs('default', 'web')).toBe('one\ntwo\n');
      expect(cluster.faults.resetLogStreams()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
