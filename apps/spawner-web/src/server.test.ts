import { FakeCluster } from '@podstorage/fake';
import { afterEach, describe, expect, it } from 'vitest';
import { type Spawner, startSpawner } from './server.js';
import { eventually, openStream, type StreamClient } from './test-support.js';

// The cluster's clock moves only when a test advances it; waits are on conditions, never on sleeps.
const LIFECYCLE = { scheduleAfterMs: 100, pullMs: 1_000, runMs: 2_000 } as const;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected field by field.
type Json = any;

interface Setup {
  cluster: FakeCluster;
  spawner: Spawner;
  streams: StreamClient[];
  url(path: string): string;
  open(path: string): Promise<StreamClient>;
  json(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json; headers: Headers }>;
}

let current: Setup | undefined;

async function setup(options: { lifecycle?: object; heartbeatMs?: number } = {}): Promise<Setup> {
  const cluster = new FakeCluster({ defaultLifecycle: { ...LIFECYCLE, ...options.lifecycle } });
  const spawner = await startSpawner({
    cluster,
    port: 0,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
  });
  const streams: StreamClient[] = [];
  const url = (path: string) => new URL(path, spawner.url).toString();
  current = {
    cluster,
    spawner,
    streams,
    url,
    async open(path) {
      const stream = await openStream(url(path));
      streams.push(stream);
      return stream;
    },
    async json(method, path, body) {
      const response = await fetch(url(path), {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
  };
  return current;
}

afterEach(async () => {
  if (current === undefined) return;
  for (const stream of current.streams) stream.close();
  await current.spawner.close();
  current = undefined;
});

/** Advances the cluster's clock in steps until `condition` holds (bounded, in cluster time). */
async function advanceUntil(cluster: FakeCluster, condition: () => boolean, limitMs = 60_000): Promise<void> {
  for (let elapsed = 0; !condition(); elapsed += 100) {
    if (elapsed > limitMs) throw new Error(`condition not met within ${limitMs} ms of cluster time`);
    await cluster.clock.advance(100);
  }
}

describe('the page', () => {
  it('serves the page, its script and its stylesheet', async () => {
    const { url } = await setup();
    const page = await fetch(url('/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>podstorage spawner</title>');
    const script = await fetch(url('/app.js'));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("new EventSource('/api/watch')");
    const style = await fetch(url('/style.css'));
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('tells the page its namespace, backend, default image and stages', async () => {
    const { json } = await setup();
    const { status, body } = await json('GET', '/api/config');
    expect(status).toBe(200);
    expect(body).toMatchObject({ namespace: 'default', backend: 'fake', image: 'busybox:1.36', seconds: 5 });
    expect(body.stages).toEqual(['created', 'scheduled', 'pulling', 'pulled', 'running', 'finished']);
  });
});

describe('starting a pod and following it', () => {
  it('streams the pod from creation to completion: messages, phases and a progress that only moves forward', async () => {
    const { cluster, json, open } = await setup();
    const started = await json('POST', '/api/pods', { seconds: 3 });
    expect(started.status).toBe(201);
    const { name, uid } = started.body;
    expect(name).toMatch(/^spawn-/);
    expect(cluster.getPod('default', name)?.spec?.containers[0]?.image).toBe('busybox:1.36');

    const stream = await open(`/api/pods/${name}/watch`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache');
    await eventually(() => expect(stream.named('snapshot')).toHaveLength(1));
    expect(stream.named('snapshot')[0]?.data.pod).toMatchObject({ name, uid, phase: 'Pending' });

    await advanceUntil(cluster, () =>
      stream.named('phase').some((event) => event.data.phase === 'Succeeded'),
    );
    await eventually(() => expect(stream.named('message').length).toBeGreaterThanOrEqual(5));
    expect(stream.named('message').map((event) => event.data.message)).toEqual([
      `Successfully assigned default/${name} to fake-node-1`,
      'Pulling image "busybox:1.36"',
      expect.stringMatching(/^Successfully pulled image "busybox:1.36"/),
      'Created container: main',
      'Started container main',
    ]);
    expect(stream.named('phase').map((event) => event.data.phase)).toEqual(['Running', 'Succeeded']);

    const stages = stream.events.map((event) => event.data.progress.stage);
    expect(new Set(stages)).toEqual(
      new Set(['created', 'scheduled', 'pulling', 'pulled', 'running', 'finished']),
    );
    const percents = stream.events.map((event) => event.data.progress.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    const ids = stream.events.map((event) => Number(event.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    expect(stream.isEnded()).toBe(false);
  });

  it('runs the pod for the seconds asked, with the image asked', async () => {
    const { cluster, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { image: 'alpine:3.20', seconds: 30 });
    const pod = cluster.getPod('default', body.name);
    expect(pod?.spec?.containers[0]).toMatchObject({
      image: 'alpine:3.20',
      command: ['sh', '-c', expect.stringContaining('sleep 30')],
    });
    const stream = await open(`/api/pods/${body.name}/watch`);
    await advanceUntil(cluster, () => stream.named('phase').some((event) => event.data.phase === 'Running'));
    const runningAt = cluster.clock.now();
    await advanceUntil(cluster, () =>
      stream.named('phase').some((event) => event.data.phase === 'Succeeded'),
    );
    expect(cluster.clock.now() - runningAt).toBeGreaterThanOrEqual(29_000);
  });

  it('marks the progress failed when the pod ends Failed', async () => {
    const { cluster, json, open } = await setup({ lifecycle: { exitCode: 1 } });
    const { body } = await json('POST', '/api/pods', { seconds: 1 });
    const stream = await open(`/api/pods/${body.name}/watch`);
    await advanceUntil(cluster, () => stream.named('phase').some((event) => event.data.phase === 'Failed'));
    expect(stream.named('phase').at(-1)?.data.progress).toEqual({
      stage: 'finished',
      percent: 100,
      failed: true,
    });
  });

  it('deletes the pod after completion when asked (deleteAfterCompletion), and the stream says it is gone', async () => {
    const { cluster, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 1, deleteWhenFinished: true });
    const stream = await open(`/api/pods/${body.name}/watch`);
    await advanceUntil(cluster, () => stream.named('gone').length === 1);
    await stream.ended;
    expect(stream.named('phase').map((event) => event.data.phase)).toEqual(['Running', 'Succeeded']);
    expect(cluster.getPod('default', body.name)).toBeUndefined();
  });
});

describe('stopping a pod', () => {
  it('deletes it with its uid as precondition; the pod stream ends with gone and the table drops the row', async () => {
    const { cluster, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const stream = await open(`/api/pods/${body.name}/watch`);
    const table = await open('/api/watch');
    await advanceUntil(cluster, () => stream.named('phase').some((event) => event.data.phase === 'Running'));

    const stopped = await json('DELETE', `/api/pods/${body.name}?uid=${body.uid}`);
    expect(stopped).toMatchObject({ status: 202, body: { name: body.name, uid: body.uid, deleting: true } });
    await eventually(() =>
      expect(
        table.named('pod').some((event) => event.data.name === body.name && event.data.terminating),
      ).toBe(true),
    );
    // The grace period (2 s) runs on the cluster's clock.
    await advanceUntil(
      cluster,
      () => stream.named('gone').length === 1 && table.named('removed').length === 1,
    );
    expect(table.named('removed')[0]?.data).toEqual({ name: body.name, uid: body.uid });
    expect(stream.named('message').map((event) => event.data.message)).toContain('Stopping container main');
    await stream.ended;
    expect(cluster.getPod('default', body.name)).toBeUndefined();
  });

  it('refuses to delete a pod that was replaced: 409 for a stale uid', async () => {
    const { json } = await setup();
    const { body } = await json('POST', '/api/pods', {});
    const response = await json('DELETE', `/api/pods/${body.name}?uid=00000000-0000-0000-0000-000000000000`);
    expect(response.status).toBe(409);
    expect(response.body.error).toMatch(/Conflict/);
  });

  it('deletes without a uid by reading the current one first', async () => {
    const { cluster, json } = await setup();
    const { body } = await json('POST', '/api/pods', {});
    const response = await json('DELETE', `/api/pods/${body.name}`);
    expect(response).toMatchObject({ status: 202, body: { uid: body.uid } });
    // Not scheduled yet: the fake deletes it at once.
    expect(cluster.getPod('default', body.name)).toBeUndefined();
  });
});

describe('the pods table', () => {
  it('starts from a list, then follows pods started here, modifications (watchPodChanges) and removals', async () => {
    const { cluster, json, open } = await setup();
    cluster.createPod({
      metadata: { name: 'already-there' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    const table = await open('/api/watch');
    await eventually(() => expect(table.named('snapshot')).toHaveLength(1));
    expect(table.named('snapshot')[0]?.data.pods).toEqual([
      expect.objectContaining({ name: 'already-there', phase: 'Pending', spawned: false, image: 'nginx' }),
    ]);

    const { body } = await json('POST', '/api/pods', { seconds: 1 });
    await eventually(() =>
      expect(table.named('pod').some((event) => event.data.name === body.name && event.data.spawned)).toBe(
        true,
      ),
    );
    await advanceUntil(cluster, () =>
      table.named('pod').some((event) => event.data.name === body.name && event.data.phase === 'Succeeded'),
    );
    const rows = table.named('pod').filter((event) => event.data.name === body.name);
    expect(rows.map((event) => event.data.phase)).toContain('Running');
    expect(rows.at(-1)?.data.progress).toEqual({ stage: 'finished', percent: 100, failed: false });
    expect(rows.at(-1)?.data.node).toBe('fake-node-1');
    expect(table.named('pod').some((event) => event.data.name === 'already-there')).toBe(true);

    // Removed by someone else, at once: the DELETED is all there is, and the table still hears of it.
    cluster.deletePod('default', 'already-there', { gracePeriodSeconds: 0 });
    await eventually(() =>
      expect(table.named('removed').map((event) => event.data.name)).toEqual(['already-there']),
    );
  });

  it('GET /api/pods lists the namespace', async () => {
    const { cluster, json } = await setup();
    cluster.createPod({ metadata: { name: 'one' } });
    const { body } = await json('GET', '/api/pods');
    expect(body.pods.map((pod: { name: string }) => pod.name)).toEqual(['one']);
  });
});

describe('event streams', () => {
  it('send a heartbeat comment while nothing happens', async () => {
    const { open } = await setup({ heartbeatMs: 20 });
    const table = await open('/api/watch');
    await eventually(() =>
      expect(table.comments.filter((comment) => comment === 'heartbeat').length).toBeGreaterThanOrEqual(2),
    );
  });

  it('stop their watches the moment the browser disconnects', async () => {
    const { cluster, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const podStream = await open(`/api/pods/${body.name}/watch`);
    const table = await open('/api/watch');
    await advanceUntil(cluster, () => podStream.named('phase').length === 1 && table.named('pod').length > 1);
    expect(cluster.stats().activeWatches).toBeGreaterThan(0);
    podStream.close();
    table.close();
    await eventually(() => expect(cluster.stats().activeWatches).toBe(0));
  });

  it('end when the spawner closes, which also deletes the pods it started', async () => {
    const { cluster, spawner, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const podStream = await open(`/api/pods/${body.name}/watch`);
    const table = await open('/api/watch');
    await advanceUntil(cluster, () => podStream.named('phase').length === 1);
    await spawner.close();
    await Promise.all([podStream.ended, table.ended]);
    expect(cluster.stats().activeWatches).toBe(0);
    expect(cluster.getPod('default', body.name)).toBeUndefined();
    await spawner.close(); // idempotent
  });
});

describe('bad input', () => {
  it.each([
    ['DELETE', '/api/pods/no-such-pod', undefined, 404, /not found/],
    ['DELETE', '/api/pods/Not_A_Name', undefined, 400, /Invalid pod name "Not_A_Name"/],
    ['GET', '/api/pods/no-such-pod/watch', undefined, 404, /not found/],
    ['GET', '/api/pods/-bad-/watch', undefined, 400, /Invalid pod name/],
    ['PUT', '/api/pods', {}, 405, /method PUT not allowed/],
    ['POST', '/api/watch', {}, 405, /method POST not allowed/],
    ['GET', '/api/pods/x/y', undefined, 404, /no such page/],
    ['POST', '/api/pods', { seconds: 0 }, 400, /seconds must be a whole number/],
    ['POST', '/api/pods', { seconds: 1.5 }, 400, /seconds must be a whole number/],
    ['POST', '/api/pods', { image: 'has space' }, 400, /invalid image/],
    ['POST', '/api/pods', { deleteWhenFinished: 'yes' }, 400, /deleteWhenFinished/],
    ['POST', '/api/pods', [1], 400, /JSON object/],
  ])('%s %s %j: %i', async (method, path, body, status, message) => {
    const { json, cluster } = await setup();
    const response = await json(method, path, body);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body.error).toMatch(message);
    expect(cluster.listPods('default').items).toEqual([]);
  });

  it('names the allowed methods on a 405', async () => {
    const { json } = await setup();
    const response = await json('DELETE', '/api/pods');
    expect(response.headers.get('allow')).toBe('GET, POST');
  });

  it('refuses bodies that are not JSON, malformed or too large', async () => {
    const { url } = await setup();
    const form = await fetch(url('/api/pods'), {
      method: 'POST',
      body: 'seconds=3',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const broken = await fetch(url('/api/pods'), {
      method: 'POST',
      body: '{',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as Json).error).toBe('body is not valid JSON');
    const large = await fetch(url('/api/pods'), {
      method: 'POST',
      body: JSON.stringify({ image: 'x'.repeat(20_000) }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(large.status).toBe(413);
  });

  it('refuses to start on an invalid namespace or image, before anything is created', async () => {
    const cluster = new FakeCluster();
    await expect(startSpawner({ cluster, namespace: 'Bad_NS' })).rejects.toThrow(
      /Invalid namespace "Bad_NS"/,
    );
    await expect(startSpawner({ cluster, image: '' })).rejects.toThrow(/invalid image/);
    await expect(startSpawner({ backend: 'nope' as never })).rejects.toThrow(/unknown backend "nope"/);
    expect(cluster.stats().requests).toMatchObject({ create: 0 });
  });
});
