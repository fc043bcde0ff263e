import * as clientNode2 from '@kubernetes/client-node';
import { createPodStorage, KubernetesError, type Logger, type Pod, type WatchEvent } from '@podstorage/core';
import { FakeCluster, type FakeClusterServer } from '@podstorage/fake';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ClientNodeTransport, createClientNodeTransport } from './client-node-transport.js';
import { type ClientMajor, connect, kubeConfigFor, MAJORS, waitFor } from './clients.test-support.js';

const never = () => new AbortController().signal;
const pod = (name: string) => ({
  metadata: { name },
  spec: { containers: [{ name: 'main', image: 'busybox' }], nodeName: 'node-1' },
});
const [major2] = MAJORS as [ClientMajor, ClientMajor];

let cluster: FakeCluster;
let server: FakeClusterServer;
let transport: ClientNodeTransport;

async function start(major: ClientMajor, tls = false): Promise<void> {
  cluster = new FakeCluster({ mode: 'manual' });
  ({ server, transport } = await connect(cluster, major, tls));
}

/** Waits for `condition`, yielding real turns and moving the fake cluster clock 100 ms every 20 turns. */
async function untilWithClock(condition: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 2_000; round++) {
    for (let turn = 0; turn < 20; turn++) {
      if (condition()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await cluster.clock.advance(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterEach(async () => {
  vi.useRealTimers();
  await transport?.close();
  await server?.close();
  expect(server.openConnections()).toBe(0);
  expect(cluster.stats().activeWatches).toBe(0);
});

describe.each(MAJORS)('watches through Watch of $name', (major) => {
  it('delivers events in order, ERROR events as their Status, and ends when the server ends', async () => {
    await start(major);
    const version = cluster.resourceVersion();
    cluster.createPod(pod('a'));
    let activity = 0;
    const stream = await transport.watch('pods', 'default', {
      signal: never(),
      resourceVersion: version,
      allowWatchBookmarks: true,
      onActivity: () => {
        activity += 1;
      },
    });
    const events = stream[Symbol.asyncIterator]();
    cluster.setPodPhase('default', 'a', 'Running');
    const seen = [await events.next(), await events.next()].map(
      ({ value }) => `${value?.type}:${(value?.object as Pod | undefined)?.metadata?.name}`,
    );
    expect(seen).toEqual(['ADDED:a', 'MODIFIED:a']);
    expect(activity).toBeGreaterThanOrEqual(1);
    cluster.faults.endWatches();
    expect((await events.next()).done).toBe(true);

    cluster.faults.compact();
    const expired = await transport.watch('pods', 'default', { signal: never(), resourceVersion: version });
    const received: WatchEvent<Pod>[] = [];
    for await (const event of expired) received.push(event);
    expect(received).toHaveLength(1);
    expect(received[0]?.type).toBe('ERROR');
    expect(received[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('ends cleanly when the server cuts the stream after some events', async () => {
    await start(major);
    cluster.createPod(pod('a'));
    cluster.createPod(pod('b'));
    cluster.createPod(pod('c'));
    cluster.faults.cutWatchesAfter(2, { upcoming: 1 });
    const types: string[] = [];
    for await (const event of await transport.watch('pods', 'default', { signal: never() }))
      types.push(event.type);
    expect(types).toEqual(['ADDED', 'ADDED']);
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
  });

  it('throws when the connection breaks', async () => {
    await start(major);
    const stream = await transport.watch('pods', 'default', { signal: never(), resourceVersion: '1' });
    const events = stream[Symbol.asyncIterator]();
    const next = events.next();
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch');
    cluster.faults.resetWatches();
    await expect(next).rejects.toBeTruthy();
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
  });

  it('rejects a refused watch with its Status and Retry-After, which the client itself drops', async () => {
    await start(major);
    cluster.faults.failNext(
      1,
      { code: 429, message: 'too many watches', retryAfterSeconds: 4 },
      { verbs: ['watch'] },
    );
    const throttled = await transport.watch('pods', 'default', { signal: never() }).catch((error) => error);
    expect(KubernetesError.isInstance(throttled)).toBe(true);
    expect([throttled.code, throttled.reason, throttled.serverMessage, throttled.retryAfterSeconds]).toEqual([
      429,
      'TooManyRequests',
      'too many watches',
      4,
    ]);
    cluster.faults.failNext(
      1,
      { code: 422, reason: 'Invalid', message: 'bad selector' },
      { verbs: ['watch'] },
    );
    const invalid = await transport.watch('pods', 'default', { signal: never() }).catch((error) => error);
    expect([invalid.code, invalid.reason, invalid.serverMessage]).toEqual([422, 'Invalid', 'bad selector']);
    await waitFor(() => server.openConnections() === 0, 'the sockets to close');
  });

  it('cancels at once while waiting for headers, and closes the socket', async () => {
    await start(major, true);
    cluster.faults.stallNextWatch();
    const controller = new AbortController();
    const outcome = transport.watch('pods', 'default', { signal: controller.signal }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await waitFor(
      () => cluster.stats().requests.watch === 1 && server.openConnections() === 1,
      'the request',
    );
    const reason = new Error('no longer needed');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
  });

  it('closes at once on abort and on break while events flow', async () => {
    await start(major);
    cluster.createPod(pod('a'));
    const controller = new AbortController();
    const stream = await transport.watch('pods', 'default', { signal: controller.signal });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value?.type).toBe('ADDED');
    const next = events.next();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    await waitFor(() => server.openConnections() === 0 && cluster.stats().activeWatches === 0, 'closed');

    const again = await transport.watch('pods', 'default', { signal: never() });
    for await (const event of again) {
      expect(event.type).toBe('ADDED');
      break;
    }
    await waitFor(() => server.openConnections() === 0 && cluster.stats().activeWatches === 0, 'closed');
  });

  it('reconnects many times without leaking sockets, and leaves none after close', async () => {
    await start(major, true);
    cluster.createPod(pod('web'));
    const storage = createPodStorage(transport, { clock: cluster.clock });
    const wait = storage.waitForPhase('web', 'default', 3_600_000, { untilNot: ['Pending'] });
    const opened = () => cluster.stats().watchesOpened;
    await waitFor(() => cluster.stats().activeWatches === 1, 'the first watch');
    for (let cycle = 0; cycle < 20; cycle++) {
      const before = opened();
      if (cycle % 2 === 0) cluster.faults.endWatches();
      else cluster.faults.resetWatches();
      await untilWithClock(
        () => opened() > before && cluster.stats().activeWatches === 1 && server.openConnections() === 1,
        `watch ${cycle + 1} open on the only socket`,
      );
    }
    expect(storage.counters().resumes).toBeGreaterThanOrEqual(20);
    cluster.setPodPhase('default', 'web', 'Running');
    expect(await wait).toBe('Running');
    await storage.close();
    await waitFor(() => server.openConnections() === 0, 'every socket to close');
  });
});

describe('the 30-second inactivity abort of client-node 2.x (upstream #3020)', () => {
  it('is real: the bare Watch reports a quiet watch to done as a TimeoutError after 30 s', async () => {
    await start(major2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const errors: unknown[] = [];
    const watch = new clientNode2.Watch(kubeConfigFor(major2, server) as clientNode2.KubeConfig);
    const controller = await watch.watch(
      '/api/v1/namespaces/default/pods',
      { resourceVersion: '1' },
      () => {},
      (error) => {
        errors.push(error);
      },
    );
    vi.advanceTimersByTime(29_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
    vi.advanceTimersByTime(1);
    await waitFor(() => errors.length === 1, 'done');
    expect((errors[0] as Error).name).toBe('TimeoutError');
    controller.abort();
  });

  it('becomes a clean end of the stream, not an error', async () => {
    await start(major2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = await transport.watch('pods', 'default', { signal: never(), resourceVersion: '1' });
    const next = stream[Symbol.asyncIterator]().next();
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch');
    vi.advanceTimersByTime(30_000);
    expect(await next).toEqual({ value: undefined, done: true });
    await waitFor(() => server.openConnections() === 0, 'the socket to close');
  });

  it('makes the engine resume from the last version, with no relist and no error', async () => {
    await start(major2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cluster.createPod(pod('web'));
    const logs: string[] = [];
    const record = (level: string) => (_fields: object, message?: string) =>
      logs.push(`${level}: ${message}`);
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const storage = createPodStorage(transport, { clock: cluster.clock, logger });
    const wait = storage.waitForPhase('web', 'default', 3_600_000, { untilNot: ['Pending'] });
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch');
    for (let quiet = 1; quiet <= 3; quiet++) {
      // The same 30 s pass on the storage's clock (the cluster's) and on the client's timers.
      await cluster.clock.advance(30_000);
      vi.advanceTimersByTime(30_000);
      await waitFor(() => cluster.stats().watchesOpened === quiet + 1, `resume ${quiet}`);
    }
    cluster.setPodPhase('default', 'web', 'Running');
    expect(await wait).toBe('Running');
    expect(storage.counters()).toMatchObject({ resumes: 3, relists: 0, retries: 0 });
    expect(cluster.stats().requests.list + cluster.stats().requests.get).toBe(1);
    expect(logs.filter((line) => /^(warn|error)/.test(line))).toEqual([]);
    await storage.close();
  });

  it('does not exist in 1.x: a quiet 1.x watch stays open', async () => {
    const major1 = MAJORS[1] as ClientMajor;
    await start(major1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = await transport.watch('pods', 'default', { signal: never(), resourceVersion: '1' });
    const next = stream[Symbol.asyncIterator]().next();
    await waitFor(() => cluster.stats().activeWatches === 1, 'the watch');
    vi.advanceTimersByTime(120_000);
    cluster.createPod(pod('late'));
    expect((await next).value?.type).toBe('ADDED');
  });
});

describe('a done callback that fires twice (upstream #2387, #552)', () => {
  // A stand-in for the Watch of client-node < 1.2 (before the reentrancy fix): when the connection
  // breaks, done first gets the AbortError of its own cleanup, then the stream's "Premature close".
  class DoubleDoneWatch {
    static calls: { callback: (type: string, object: unknown) => void; done: (error: unknown) => void }[] =
      [];
    async watch(
      _path: string,
      _query: object,
      callback: (type: string, object: unknown) => void,
      done: (error: unknown) => void,
    ): Promise<AbortController> {
      DoubleDoneWatch.calls.push({ callback, done });
      return new AbortController();
    }
  }

  async function standIn() {
    DoubleDoneWatch.calls = [];
    cluster = new FakeCluster({ mode: 'manual' });
    ({ server } = await connect(cluster, major2, false));
    const debug: string[] = [];
    const logger: Logger = {
      debug: (_fields, message) => debug.push(message ?? ''),
      info: () => {},
      warn: () => {},
      error: () => {},
    };
    transport = createClientNodeTransport({
      kubeConfig: kubeConfigFor(major2, server),
      client: { ...clientNode2, Watch: DoubleDoneWatch },
      logger,
    });
    const stream = await transport.watch('pods', 'default', { signal: never() });
    const call = DoubleDoneWatch.calls[0];
    if (!call) throw new Error('the stand-in was not called');
    return { events: stream[Symbol.asyncIterator](), call, debug };
  }

  it('gives one failure for an error then another error', async () => {
    const { events, call, debug } = await standIn();
    call.callback('ADDED', pod('a'));
    const first = new DOMException('The user aborted a request.', 'AbortError');
    call.done(first);
    call.done(new Error('Premature close'));
    call.callback('MODIFIED', pod('a'));
    expect((await events.next()).value?.type).toBe('ADDED');
    await expect(events.next()).rejects.toBe(first);
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(debug).toContain('client-node called the watch done callback again: ignored');
  });

  it('gives one clean end for an end then an error', async () => {
    const { events, call } = await standIn();
    call.done(null);
    call.done(new Error('Premature close'));
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });
});

describe.each(MAJORS)('openHandles and close through $name', (major) => {
  it('counts a call in flight and an open watch until each is released; await using closes the rest', async () => {
    await start(major);
    cluster.createPod(pod('a'));
    expect(transport.openHandles()).toBe(0);
    await transport.get('pods', 'default', 'a', { signal: never() });
    await waitFor(() => transport.openHandles() === 0, 'the answered call to be released');
    cluster.faults.stallNextWatch();
    const stalled = new AbortController();
    const opening = transport.watch('pods', 'default', { signal: stalled.signal }).catch((error) => error);
    await waitFor(() => transport.openHandles() === 1, 'the watch waiting for headers to be counted');
    stalled.abort(new Error('gave up'));
    await opening;
    await waitFor(() => transport.openHandles() === 0, 'the stalled watch to be released');
    const refused = new AbortController();
    refused.abort();
    await expect(transport.watch('pods', 'default', { signal: refused.signal })).rejects.toThrow();
    expect(transport.openHandles()).toBe(0);
    {
      await using disposed = transport;
      await disposed.watch('pods', 'default', { signal: never() });
      expect(disposed.openHandles()).toBe(1);
    }
    expect(transport.openHandles()).toBe(0);
    await waitFor(() => server.openConnections() === 0, 'the server to see the watch close');
  });
});
