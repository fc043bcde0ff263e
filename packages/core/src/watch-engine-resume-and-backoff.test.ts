import { describe, expect, it } from 'vitest';
import { delay } from './clock.js';
import { KubernetesError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { ManualClock } from './test-clock.js';
import { advance, engineSettings, podObject, ScriptedTransport, turns } from './test-transport.js';
import { WatchEngine, type WatchEngineSettings, type WatchSubscriber } from './watch-engine.js';

// When a shared watch reconnects, from where, and after how long (issue 9, defects 3, 6 and 7): on a
// manual clock, with every watch stream scripted.

const quiet: WatchSubscriber<Pod> = { onSync: () => {}, onChange: () => {}, onError: () => {} };

function setup(settings: Partial<WatchEngineSettings> = {}) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  const engine = new WatchEngine(transport, { ...engineSettings(clock), ...settings });
  const opened: number[] = [];
  transport.onWatch = () => {
    opened.push(clock.now());
  };
  return { clock, transport, engine, opened };
}

const gaps = (times: readonly number[]) => times.slice(1).map((time, index) => time - (times[index] ?? 0));

describe('a shared watch resumes', () => {
  it('from the last resourceVersion it saw, in events and bookmarks', async () => {
    const { clock, transport, engine } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    expect(transport.stream.options.resourceVersion).toBe('10');
    expect(engine.counters()).toMatchObject({ watchesOpened: 1, resumes: 0 });
    transport.stream.send('ADDED', podObject('web', 'u1', '11'));
    transport.stream.send('MODIFIED', podObject('web', 'u1', '12'));
    // An object without a resourceVersion does not move the resume point.
    transport.stream.send('ADDED', { metadata: { name: 'odd', uid: 'u2' } });
    await advance(clock, 5_000, 1_000);
    transport.stream.end();
    await turns();
    expect(transport.streams).toHaveLength(2);
    expect(transport.stream.options.resourceVersion).toBe('12');
    expect(engine.counters()).toMatchObject({ watchesOpened: 2, resumes: 1, lists: 1 });
    transport.stream.bookmark('15');
    await advance(clock, 5_000, 1_000);
    transport.stream.end();
    await turns();
    expect(transport.stream.options.resourceVersion).toBe('15');
    expect(engine.counters()).toMatchObject({ watchesOpened: 3, resumes: 2, lists: 1, retries: 0 });
  });

  it('at once after a short stream that moved the resourceVersion on', async () => {
    const { clock, transport, engine, opened } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.stream.send('ADDED', podObject('web', 'u1', '11'));
    await advance(clock, 10, 10);
    transport.stream.end();
    await turns();
    expect(opened).toEqual([0, 10]);
  });

  it('at once after a quiet stream that stayed open for seconds and then ended', async () => {
    const { clock, transport, engine, opened } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    await advance(clock, 5_000, 1_000);
    transport.stream.end();
    await turns();
    expect(opened).toEqual([0, 5_000]);
  });

  it('after a backoff when a stream ends at once with nothing', async () => {
    const { clock, transport, engine, opened } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.stream.end();
    await advance(clock, 1_000);
    expect(opened).toEqual([0, 500]);
    expect(engine.counters().retries).toBe(1);
  });
});

describe('a shared watch detects stalls', () => {
  for (const endOnAbort of [false, true]) {
    it(`backs off, and relists after the second silent stall, a server that stays silent (a stream that ${endOnAbort ? 'ends quietly' : 'throws'} when aborted)`, async () => {
      const { clock, transport, engine, opened } = setup();
      transport.endStreamsOnAbort = endOnAbort;
      engine.subscribe('pods', 'default', undefined, quiet);
      await turns();
      await advance(clock, 4 * 90_000 + 10_000, 500);
      // Stalls are measured until the last thing a stream sent: a silent one was never healthy.
      expect(gaps(opened)).toEqual([90_000 + 500, 90_000 + 1_000, 90_000 + 2_000, 90_000 + 4_000]);
      expect(engine.counters()).toMatchObject({ stalls: 4, lists: 3, relists: 2 });
      expect(transport.streams[0]?.signal.reason).toMatchObject({
        name: 'TimeoutError',
        message: 'no data for 90000 ms',
      });
    });
  }

  it('not while events keep coming, however far apart within the inactivity timeout', async () => {
    const { clock, transport, engine } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    for (let version = 11; version < 15; version += 1) {
      await advance(clock, 60_000, 1_000);
      transport.stream.send('MODIFIED', podObject('web', 'u1', String(version)));
      await turns();
    }
    expect(engine.counters()).toMatchObject({ stalls: 0, watchesOpened: 1 });
  });

  it('counting from the response headers, however long they took', async () => {
    const { clock, transport, engine } = setup();
    transport.onWatch = (call) => delay(clock, 80_000, call.options.signal);
    engine.subscribe('pods', 'default', undefined, quiet);
    await advance(clock, 80_000 + 89_000, 1_000);
    expect(transport.streams).toHaveLength(1);
    expect(engine.counters().stalls).toBe(0);
    await advance(clock, 1_000, 100);
    expect(engine.counters().stalls).toBe(1);
  });
});

describe('a shared watch closes each stream it is done with', () => {
  it('with an AbortError the transport can tell from a failure', async () => {
    const { clock, transport, engine } = setup();
    const subscription = engine.subscribe('pods', 'default', { 'metadata.name': 'web' }, quiet);
    await turns();
    const ended = transport.stream;
    await advance(clock, 5_000, 1_000);
    ended.end();
    await turns();
    expect(ended.signal.reason).toMatchObject({
      name: 'AbortError',
      message: 'watch stream no longer needed',
    });
    const open = transport.stream;
    subscription.close();
    await turns();
    expect(open.signal.reason).toMatchObject({
      name: 'AbortError',
      message: 'watch of pods in default where metadata.name=web stopped',
    });
  });

  it('naming the watch of a whole namespace by its resource and namespace alone', async () => {
    const { transport, engine } = setup();
    const subscription = engine.subscribe('events', 'other', undefined, {
      onSync: () => {},
      onChange: () => {},
      onError: () => {},
    });
    await turns();
    subscription.close();
    await turns();
    expect(transport.stream.signal.reason).toMatchObject({
      name: 'AbortError',
      message: 'watch of events in other stopped',
    });
  });
});

describe('a shared watch after failures', () => {
  it('backs off lists that fail', async () => {
    const { clock, transport, engine } = setup();
    const lists: number[] = [];
    let failures = 3;
    transport.onList = () => {
      lists.push(clock.now());
      if (failures > 0) {
        failures -= 1;
        throw new KubernetesError(503, 'ServiceUnavailable', 'etcd is busy');
      }
      return { metadata: { resourceVersion: '10' }, items: [] };
    };
    engine.subscribe('pods', 'default', undefined, quiet);
    await advance(clock, 5_000);
    expect(gaps(lists)).toEqual([500, 1_000, 2_000]);
    expect(transport.streams).toHaveLength(1);
  });

  it('backs off watch requests the server refuses slowly: a refusal is not a working stream', async () => {
    const { clock, transport, engine } = setup();
    const refused: number[] = [];
    let refusals = 3;
    // Each watch request is answered 503 only after 2 s (an overloaded apiserver or a slow proxy): the
    // request lasted longer than a working stream must, but no stream ever opened.
    transport.onWatch = async () => {
      if (refusals === 0) return;
      refusals -= 1;
      await delay(clock, 2_000, AbortSignal.timeout(600_000));
      refused.push(clock.now());
      throw new KubernetesError(
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    };
    const sent: number[] = [];
    const onWatch = transport.onWatch;
    transport.onWatch = (call) => {
      sent.push(clock.now());
      return onWatch(call);
    };
    engine.subscribe('pods', 'default', undefined, quiet);
    await advance(clock, 20_000);
    // Sent at 0, refused at 2 s, backed off 500 ms; refused at 4.5 s, backed off 1 s; and so on.
    expect(refused).toEqual([2_000, 4_500, 7_500]);
    expect(gaps(sent)).toEqual([2_500, 3_000, 4_000]);
    expect(transport.streams).toHaveLength(1);
    expect(engine.counters().retries).toBe(3);
  });

  it('relists at once after an in-stream 410, and resumes after an in-stream 500 with a backoff', async () => {
    const { clock, transport, engine, opened } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.resourceVersion = '20';
    transport.stream.error({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    await turns();
    expect(engine.counters().lists).toBe(2);
    expect(transport.stream.options.resourceVersion).toBe('20');
    transport.stream.error({ kind: 'Status', status: 'Failure', code: 500, reason: 'InternalError' });
    // The expiry counted as a failure: the next one waits the second step.
    await advance(clock, 1_000);
    expect(engine.counters().lists).toBe(2);
    expect(gaps(opened)).toEqual([0, 1_000]);
    expect(transport.stream.options.resourceVersion).toBe('20');
  });

  it('fails its consumers with an in-stream error that is final, named for the watch', async () => {
    const { transport, engine } = setup();
    const errors: unknown[] = [];
    engine.subscribe('pods', 'default', undefined, { ...quiet, onError: (error) => errors.push(error) });
    await turns();
    transport.stream.error({
      kind: 'Status',
      status: 'Failure',
      code: 403,
      reason: 'Forbidden',
      message: 'no',
    });
    await turns();
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(KubernetesError.isInstance(error) && error.code).toBe(403);
    expect((error as Error).message).toBe('watch pods: 403 Forbidden (default): no');
    expect(engine.counters().lists).toBe(1);
  });

  it('resumes a stream the transport aborted by itself, as a broken connection', async () => {
    const { clock, transport, engine } = setup();
    const errors: unknown[] = [];
    engine.subscribe('pods', 'default', undefined, { ...quiet, onError: (error) => errors.push(error) });
    await turns();
    transport.stream.fail(new DOMException('body timeout', 'AbortError'));
    await advance(clock, 1_000);
    expect(errors).toEqual([]);
    expect(transport.streams).toHaveLength(2);
  });

  it('opens no stream when its only consumer had all it needed from the first list', async () => {
    const { transport, engine } = setup();
    let subscription: { close(): void } | undefined;
    subscription = engine.subscribe('pods', 'default', undefined, {
      ...quiet,
      onSync: () => subscription?.close(),
    });
    await turns();
    expect(transport.callsOf('list')).toHaveLength(1);
    expect(transport.callsOf('watch')).toHaveLength(0);
    expect(engine.counters().watchesOpened).toBe(0);
  });

  it('counts every page it lists', async () => {
    const { transport, engine } = setup({ pageSize: 1 });
    transport.onList = (call) =>
      'continue' in call.options && call.options.continue === 'next'
        ? { metadata: { resourceVersion: '10' }, items: [podObject('b', 'u2', '9')] }
        : { metadata: { resourceVersion: '10', continue: 'next' }, items: [podObject('a', 'u1', '8')] };
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    expect(engine.counters().lists).toBe(2);
  });
});

describe('a shared watch after 401', () => {
  const unauthorized = () => new KubernetesError(401, 'Unauthorized', 'token expired');

  it('fails with the 401 when the transport cannot refresh credentials', async () => {
    const { transport, engine } = setup();
    const refused = unauthorized();
    transport.onWatch = () => {
      throw refused;
    };
    const errors: unknown[] = [];
    engine.subscribe('pods', 'default', undefined, { ...quiet, onError: (error) => errors.push(error) });
    await turns();
    expect(errors).toEqual([refused]);
  });

  it('refreshes once, with a signal that ends with the watch, and fails on a second 401 in a row', async () => {
    const { transport, engine } = setup();
    const signals: AbortSignal[] = [];
    transport.refreshCredentials = async ({ signal }) => {
      signals.push(signal);
    };
    const second = unauthorized();
    let refusals = 0;
    transport.onWatch = () => {
      refusals += 1;
      throw refusals === 1 ? unauthorized() : second;
    };
    const errors: unknown[] = [];
    engine.subscribe('pods', 'default', undefined, { ...quiet, onError: (error) => errors.push(error) });
    await turns();
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(errors).toEqual([second]);
  });

  it('fails with the error of a refresh that failed', async () => {
    const { transport, engine } = setup();
    const broken = new Error('exec plugin crashed');
    transport.refreshCredentials = async () => {
      throw broken;
    };
    transport.onWatch = () => {
      throw unauthorized();
    };
    const errors: unknown[] = [];
    engine.subscribe('pods', 'default', undefined, { ...quiet, onError: (error) => errors.push(error) });
    await turns();
    expect(errors).toEqual([broken]);
  });

  it('abandons a refresh still running when the watch stops', async () => {
    const { transport, engine } = setup();
    let refreshSignal: AbortSignal | undefined;
    transport.refreshCredentials = ({ signal }) =>
      new Promise((_, reject) => {
        refreshSignal = signal;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    transport.onWatch = () => {
      throw unauthorized();
    };
    const errors: unknown[] = [];
    const subscription = engine.subscribe('pods', 'default', undefined, {
      ...quiet,
      onError: (error) => errors.push(error),
    });
    await turns();
    expect(refreshSignal?.aborted).toBe(false);
    subscription.close();
    await turns();
    expect(refreshSignal?.aborted).toBe(true);
    expect(errors).toEqual([]);
  });
});
