import { FakeCluster } from '@podstorage/fake';
import { afterEach, describe, expect, it } from 'vitest';
import { type Spawner, startSpawner } from './server.js';
import { eventually, openStream, type StreamClient, withPodLogs } from './test-support.js';

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
    await eventually(() => expect(stream.named('event').length).toBeGreaterThanOrEqual(5));
    expect(stream.named('event').map((event) => event.data.message)).toEqual([
      `Successfully assigned default/${name} to fake-node-1`,
      'Pulling image "busybox:1.36"',
      expect.stringMatching(/^Successfully pulled image "busybox:1.36"/),
      'Created container main',
      'Started container main',
    ]);
    expect(stream.named('phase').map((event) => event.data.phase)).toEqual(['Running', 'Succeeded']);

    // The progress: the snapshot's, then each change, in order, never backwards.
    const progresses = [
      stream.named('snapshot')[0]?.data.progress,
      ...stream.named('progress').map((event) => event.data.progress),
    ];
    // Every stage in order, except that "pulled" may be passed over: the kubelet pulls, creates and
    // starts the container in one sync (pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer,
    // milliseconds apart on a node, one instant on the fake), and the page hears of the pull from the
    // events watch but of the running container from the pod watch, whichever comes first.
    const stages = progresses.map((progress) => progress.stage);
    expect([
      ['created', 'scheduled', 'pulling', 'pulled', 'running', 'finished'],
      ['created', 'scheduled', 'pulling', 'running', 'finished'],
    ]).toContainEqual(stages);
    const percents = progresses.map((progress) => progress.percent);
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
    await eventually(() =>
      expect(stream.named('progress').at(-1)?.data.progress).toEqual({
        stage: 'finished',
        percent: 100,
        failed: true,
        ending: null,
      }),
    );
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
    // When, by the cluster's clock (the page shows it beside the events' own times).
    expect(stream.named('gone')[0]?.data).toEqual({
      name: body.name,
      uid: body.uid,
      at: cluster.clock.date().toISOString(),
    });
    expect(stream.named('event').map((event) => event.data.message)).toContain('Stopping container main');
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
    expect(rows.at(-1)?.data.progress).toEqual({
      stage: 'finished',
      percent: 100,
      failed: false,
      ending: null,
    });
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
    // The server's own: one watch of the namespace's pods (the pod feed), for as long as it runs.
    await eventually(() => expect(cluster.stats().activeWatches).toBe(1));
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const podStream = await open(`/api/pods/${body.name}/watch`);
    const logs = await open(`/api/pods/${body.name}/logs`);
    const table = await open('/api/watch');
    await advanceUntil(
      cluster,
      () =>
        podStream.named('phase').length === 1 &&
        table.named('pod').length > 1 &&
        logs.named('line').length > 0,
    );
    expect(cluster.stats().activeWatches).toBeGreaterThan(1);
    podStream.close();
    logs.close();
    table.close();
    await eventually(() => expect(cluster.stats().activeWatches).toBe(1));
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
    [
      'POST',
      '/api/pods',
      { image: 'has space' },
      400,
      /invalid image "has space": an image reference has no spaces/,
    ],
    // The distribution reference grammar, as the kubelet parses images (ParseNormalizedNamed).
    [
      'POST',
      '/api/pods',
      { image: 'no//such::image!' },
      400,
      /invalid image "no\/\/such::image!": invalid reference format/,
    ],
    ['POST', '/api/pods', { image: 'Busybox:1.36' }, 400, /repository name must be lowercase/],
    ['POST', '/api/pods', { image: 'busybox@sha256:abc' }, 400, /invalid image/],
    ['POST', '/api/pods', { session: 'x' }, 400, /invalid session "x"/],
    ['GET', '/api/pods/no-such-pod', undefined, 404, /not found/],
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

describe('one source of progress', () => {
  it('the pod stream and the table row say the same during the pull (both from the server’s one book)', async () => {
    const { cluster, json, open } = await setup();
    const table = await open('/api/watch');
    const { body } = await json('POST', '/api/pods', { seconds: 3 });
    const stream = await open(`/api/pods/${body.name}/watch`);
    const lastRow = () =>
      table
        .named('pod')
        .filter((event) => event.data.name === body.name)
        .at(-1)?.data;
    await advanceUntil(cluster, () =>
      stream.named('event').some((event) => event.data.message.startsWith('Pulling image')),
    );
    // The pod object alone says only "scheduled" (33%) during the pull; the event says "pulling".
    await eventually(() => expect(stream.named('progress').at(-1)?.data.progress.stage).toBe('pulling'));
    await eventually(() =>
      expect(lastRow()?.progress).toEqual(stream.named('progress').at(-1)?.data.progress),
    );
    expect(lastRow()?.progress).toMatchObject({ stage: 'pulling', percent: 50 });
  });

  it('after Stop, says the pod is stopping, then deleted, on both streams', async () => {
    const { cluster, json, open } = await setup();
    const table = await open('/api/watch');
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const stream = await open(`/api/pods/${body.name}/watch`);
    await advanceUntil(cluster, () => stream.named('phase').some((event) => event.data.phase === 'Running'));
    await json('DELETE', `/api/pods/${body.name}?uid=${body.uid}`);
    await eventually(() =>
      expect(stream.named('progress').at(-1)?.data.progress).toMatchObject({
        stage: 'running',
        ending: 'stopping',
      }),
    );
    await eventually(() =>
      expect(
        table
          .named('pod')
          .filter((event) => event.data.name === body.name)
          .at(-1)?.data.progress.ending,
      ).toBe('stopping'),
    );
    await advanceUntil(cluster, () => stream.named('gone').length === 1);
    expect(stream.named('progress').at(-1)?.data.progress).toMatchObject({ ending: 'deleted' });
    const order = stream.events.map((event) => event.event);
    expect(order.lastIndexOf('progress')).toBeLessThan(order.indexOf('gone'));
  });
});

describe('one live pod per page', () => {
  const session = 'tab-0123456789';

  it('refuses a second start from the same page while its pod is pending or running, naming that pod', async () => {
    const { cluster, json, open } = await setup();
    const first = await json('POST', '/api/pods', { seconds: 2, session });
    expect(first.status).toBe(201);
    const again = await json('POST', '/api/pods', { seconds: 2, session });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(new RegExp(`this page's pod ${first.body.name} is still Pending`));
    expect(again.body.pod).toMatchObject({ name: first.body.name, uid: first.body.uid });
    // Another page (another tab) may start its own.
    expect((await json('POST', '/api/pods', { seconds: 2, session: 'tab-other-000' })).status).toBe(201);
    expect(cluster.listPods('default').items).toHaveLength(2);

    const stream = await open(`/api/pods/${first.body.name}/watch`);
    await advanceUntil(cluster, () => stream.named('phase').some((event) => event.data.phase === 'Running'));
    expect((await json('POST', '/api/pods', { session })).status).toBe(409);
    await advanceUntil(cluster, () =>
      stream.named('phase').some((event) => event.data.phase === 'Succeeded'),
    );
    // Finished: the page may start the next one.
    expect((await json('POST', '/api/pods', { seconds: 2, session })).status).toBe(201);
  });

  it('creates one pod when the page sends two starts at once', async () => {
    const { cluster, json } = await setup();
    const answers = await Promise.all([
      json('POST', '/api/pods', { session }),
      json('POST', '/api/pods', { session }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(cluster.listPods('default').items).toHaveLength(1);
  });

  it('lets the page start again once its pod is being stopped or gone', async () => {
    const { cluster, json } = await setup();
    const first = await json('POST', '/api/pods', { session });
    await json('DELETE', `/api/pods/${first.body.name}?uid=${first.body.uid}`);
    expect(cluster.getPod('default', first.body.name)).toBeUndefined();
    expect((await json('POST', '/api/pods', { session })).status).toBe(201);
  });
});

describe('recurring events', () => {
  it('update one line with their count, as kubectl shows "x12 over 3m", and 12 000 repeats are a few frames', async () => {
    const { cluster, json, open } = await setup({ lifecycle: { unschedulable: true } });
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const stream = await open(`/api/pods/${body.name}/watch`);
    await eventually(() => expect(stream.named('snapshot')).toHaveLength(1));
    const message =
      '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unschedulable: }.';
    const record = () =>
      cluster.recordPodEvent(
        { namespace: 'default', name: body.name },
        { reason: 'FailedScheduling', message, type: 'Warning', component: 'default-scheduler' },
      );
    const mine = () => stream.named('event').filter((event) => event.data.message === message);
    record();
    await eventually(() => expect(mine()).toHaveLength(1));
    expect(mine()[0]?.data).toMatchObject({
      reason: 'FailedScheduling',
      type: 'Warning',
      count: 1,
      repeat: null,
    });
    await cluster.clock.advance(3 * 60_000);
    for (let i = 1; i < 12_000; i++) record();
    await eventually(() => expect(mine().at(-1)?.data.count).toBe(12_000));
    expect(mine().at(-1)?.data.repeat).toBe('x12000 over 3m');
    // One line (one key), updated; the server sends a recurring line at most every 250 ms.
    expect(new Set(mine().map((event) => event.data.key)).size).toBe(1);
    expect(mine().length).toBeLessThan(200);
  });
});

describe('reconnecting', () => {
  it('goes on numbering after the Last-Event-ID the browser sends, and starts with a fresh snapshot', async () => {
    const { cluster, json, url } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 60 });
    const first = await openStream(url(`/api/pods/${body.name}/watch?uid=${body.uid}`));
    current?.streams.push(first);
    await eventually(() => expect(first.named('snapshot')).toHaveLength(1));
    expect(first.named('snapshot')[0]?.data).toMatchObject({ resumed: false, pod: { phase: 'Pending' } });
    first.close();
    // The phase changes while the page is away: the resumed stream must not say Pending.
    await advanceUntil(cluster, () => cluster.getPod('default', body.name)?.status?.phase === 'Running');
    const resumed = await openStream(url(`/api/pods/${body.name}/watch?uid=${body.uid}`), {
      lastEventId: '41',
    });
    current?.streams.push(resumed);
    await eventually(() => expect(resumed.named('snapshot')).toHaveLength(1));
    expect(resumed.events[0]).toMatchObject({ id: '42', event: 'snapshot' });
    expect(resumed.named('snapshot')[0]?.data).toMatchObject({ resumed: true, pod: { phase: 'Running' } });
  });

  it('answers 404 for the stream and the read of a pod whose name now holds another pod (uid)', async () => {
    const { json, url } = await setup();
    const { body } = await json('POST', '/api/pods', {});
    const stale = '00000000-0000-0000-0000-000000000000';
    const watch = await fetch(url(`/api/pods/${body.name}/watch?uid=${stale}`));
    expect(watch.status).toBe(404);
    expect(((await watch.json()) as Json).error).toMatch(/the pod of that name now is another one/);
    expect((await json('GET', `/api/pods/${body.name}?uid=${stale}`)).status).toBe(404);
    const read = await json('GET', `/api/pods/${body.name}?uid=${body.uid}`);
    expect(read).toMatchObject({ status: 200, body: { name: body.name, uid: body.uid, phase: 'Pending' } });
  });
});

describe('container logs', () => {
  it("reads them on the embedded fake: its in-process transport serves the simulated kubelet's logs", async () => {
    const { json } = await setup();
    // The fake's transport has readPodLog now (the simulated containers print what they do).
    expect((await json('GET', '/api/config')).body.logs).toBe(true);
  });

  it('streams the log lines (logsForPod) where the transport reads logs, ending with the container', async () => {
    const cluster = new FakeCluster({ defaultLifecycle: LIFECYCLE });
    const asked = withPodLogs(cluster, [
      '2026-01-01T00:00:01.000000000Z spawned by pod',
      'storage\n2026-01-01T00:00:02.000000000Z done\n',
    ]);
    const spawner = await startSpawner({ cluster });
    try {
      const url = (path: string) => new URL(path, spawner.url).toString();
      expect(((await (await fetch(url('/api/config'))).json()) as Json).logs).toBe(true);
      const created = (await (
        await fetch(url('/api/pods'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ seconds: 1 }),
        })
      ).json()) as Json;
      await advanceUntil(
        cluster,
        () => cluster.getPod('default', created.name)?.status?.phase === 'Succeeded',
      );
      const logs = await openStream(url(`/api/pods/${created.name}/logs?uid=${created.uid}`));
      await eventually(() => expect(logs.named('end')).toHaveLength(1));
      expect(logs.events[0]?.event).toBe('reset');
      expect(logs.named('line').map((event) => event.data)).toEqual([
        { text: 'spawned by podstorage', time: '2026-01-01T00:00:01.000000000Z' },
        { text: 'done', time: '2026-01-01T00:00:02.000000000Z' },
      ]);
      expect(asked[0]).toMatchObject({ timestamps: true });
      logs.close();
    } finally {
      await spawner.close();
    }
  });
});

describe('a restarting pod', () => {
  it('crash-loops with restartPolicy Always and a non-zero exit: restarts, last exit and back-off reach the page', async () => {
    const { cluster, json, open } = await setup();
    const { status, body } = await json('POST', '/api/pods', {
      seconds: 1,
      exitCode: 3,
      restartPolicy: 'Always',
    });
    expect(status).toBe(201);
    const pod = cluster.getPod('default', body.name);
    expect(pod?.spec?.restartPolicy).toBe('Always');
    expect(pod?.spec?.containers[0]?.command).toEqual([
      'sh',
      '-c',
      'echo "spawned by podstorage"; sleep 1; exit 3',
    ]);
    const podStream = await open(`/api/pods/${body.name}/watch?uid=${body.uid}`);
    const logs = await open(`/api/pods/${body.name}/logs?uid=${body.uid}`);
    const table = await open('/api/watch');
    const rows = () => podStream.named('pod').map((event) => event.data.pod);
    // The second exit falls in the kubelet's 10 s back-off: CrashLoopBackOff, as kubectl's STATUS says.
    await advanceUntil(cluster, () => rows().some((row) => row.status === 'CrashLoopBackOff'));
    const looping = rows().find((row) => row.status === 'CrashLoopBackOff');
    expect(looping).toMatchObject({
      phase: 'Running',
      ready: '0/1',
      restartCount: 1,
      restarts: expect.stringMatching(/^1 \(\d+s ago\)$/),
      container: {
        name: 'main',
        restartCount: 1,
        state: 'waiting',
        reason: 'CrashLoopBackOff',
        message: expect.stringMatching(/^back-off 10s restarting failed container=main pod=spawn-/),
        lastTermination: { exitCode: 3, reason: 'Error', signal: null },
      },
    });
    // Before: the first instance's exit (Error) was seen, and the restarted one running.
    expect(rows().some((row) => row.container?.state === 'running' && row.restartCount === 1)).toBe(true);
    // The table says the same.
    await eventually(() =>
      expect(
        table
          .named('pod')
          .some((event) => event.data.name === body.name && event.data.status === 'CrashLoopBackOff'),
      ).toBe(true),
    );
    // The log stream follows each instance in turn, with a mark between: instance 0, restart 1, then
    // the back-off wait after instance 1.
    await advanceUntil(cluster, () => logs.named('waiting').length === 1);
    const kinds = () =>
      logs.events
        .filter((event) => event.event !== 'reset')
        .map((event) =>
          event.event === 'line' ? event.data.text : `${event.event}:${event.data.container?.restartCount}`,
        );
    expect(kinds()).toEqual(['spawned by podstorage', 'restart:1', 'spawned by podstorage', 'waiting:1']);
    expect(logs.named('restart')[0]?.data.container.lastTermination).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    expect(logs.named('waiting')[0]?.data.container).toMatchObject({
      state: 'waiting',
      reason: 'CrashLoopBackOff',
      lastTermination: { exitCode: 3 },
    });
    // After the back-off, the next instance: its mark, then its lines.
    await advanceUntil(cluster, () => logs.named('restart').length === 2);
    await eventually(() => expect(kinds().at(-1)).toBe('spawned by podstorage'));
    expect(kinds().slice(4)).toEqual(['restart:2', 'spawned by podstorage']);
    expect(logs.named('end')).toHaveLength(0);
    // Deleting it ends the log: no instance follows.
    expect((await json('DELETE', `/api/pods/${body.name}?uid=${body.uid}`)).status).toBe(202);
    await advanceUntil(cluster, () => logs.named('end').length === 1);
    expect(logs.isEnded() || logs.named('end').length === 1).toBe(true);
  });

  it('ends Failed with restartPolicy Never and exit 3: STATUS Error, the exit in the log stream’s end', async () => {
    const { cluster, json, open } = await setup();
    const { body } = await json('POST', '/api/pods', { seconds: 1, exitCode: 3 });
    expect(cluster.getPod('default', body.name)?.spec?.restartPolicy).toBe('Never');
    const podStream = await open(`/api/pods/${body.name}/watch?uid=${body.uid}`);
    const logs = await open(`/api/pods/${body.name}/logs?uid=${body.uid}`);
    await advanceUntil(cluster, () =>
      podStream.named('phase').some((event) => event.data.phase === 'Failed'),
    );
    // The log follow may be in a pause on the cluster's clock (it opened before the pod had a node).
    await advanceUntil(cluster, () => logs.named('end').length === 1);
    expect(logs.named('line').map((event) => event.data.text)).toEqual(['spawned by podstorage']);
    expect(logs.named('restart')).toHaveLength(0);
    expect(logs.named('end')[0]?.data.container).toMatchObject({
      state: 'terminated',
      reason: 'Error',
      restartCount: 0,
      lastTermination: { exitCode: 3, reason: 'Error' },
    });
    await eventually(() =>
      expect(podStream.named('pod').at(-1)?.data.pod).toMatchObject({ status: 'Error', restartCount: 0 }),
    );
  });

  it('refuses an exit code or restart policy Kubernetes would not take', async () => {
    const { json } = await setup();
    expect(await json('POST', '/api/pods', { exitCode: 256 })).toMatchObject({
      status: 400,
      body: { error: "exitCode must be a whole number from 0 to 255 (a process's exit status), got 256" },
    });
    expect(await json('POST', '/api/pods', { restartPolicy: 'Sometimes' })).toMatchObject({
      status: 400,
      body: { error: 'restartPolicy must be one of Never, OnFailure, Always, got "Sometimes"' },
    });
    expect((await json('GET', '/api/config')).body.restartPolicies).toEqual(['Never', 'OnFailure', 'Always']);
  });
});
