import { describe, expect, it } from 'vitest';
import { KubernetesError, PodStorageError } from './errors.js';
import type { Pod } from './kubernetes.js';
import { ManualClock } from './test-clock.js';
import {
  advance,
  engineSettings,
  podObject,
  recordingLogger,
  ScriptedTransport,
  turns,
} from './test-transport.js';
import { WatchEngine, type WatchSubscriber } from './watch-engine.js';

// What a shared watch tells the logger: what an operator reads to see why a watch reconnects, backs off
// or fails. Each line names the watch.

const quiet: WatchSubscriber<Pod> = { onSync: () => {}, onChange: () => {}, onError: () => {} };

function setup() {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const transport = new ScriptedTransport();
  const engine = new WatchEngine(transport, engineSettings(clock, logger));
  const saying = (message: string) => logger.lines.filter((line) => line.message === message);
  return { clock, logger, transport, engine, saying };
}

describe('a shared watch logs', () => {
  it('a stream that ended at once with nothing, and the backoff that follows', async () => {
    const { transport, engine, saying } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.stream.end();
    await turns();
    const watch = 'pods in default';
    expect(saying('watch stream ended')).toEqual([
      {
        level: 'debug',
        fields: { watch, outcome: 'closed', lastedMs: 0, progressed: false },
        message: 'watch stream ended',
      },
    ]);
    expect(saying('watch stream ended at once with nothing sent')).toEqual([
      { level: 'warn', fields: { watch }, message: 'watch stream ended at once with nothing sent' },
    ]);
    expect(saying('backing off')).toEqual([
      { level: 'debug', fields: { watch, waitMs: expect.closeTo(500, 3) }, message: 'backing off' },
    ]);
  });

  it('neither a warning nor a backoff for a stream that worked and ended', async () => {
    const { clock, transport, engine, saying } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.stream.send('ADDED', podObject('web', 'u1', '11'));
    await advance(clock, 5_000, 1_000);
    transport.stream.end();
    await turns();
    expect(saying('watch stream ended')).toHaveLength(1);
    expect(saying('watch stream ended at once with nothing sent')).toEqual([]);
    expect(saying('backing off')).toEqual([]);
  });

  it('a stall, without calling it a stream that ended at once', async () => {
    const { clock, engine, saying } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await advance(clock, 90_000, 1_000);
    expect(saying('watch stream ended')).toEqual([
      {
        level: 'debug',
        fields: { watch: 'pods in default', outcome: 'stalled', lastedMs: 0, progressed: false },
        message: 'watch stream ended',
      },
    ]);
    expect(saying('watch stream ended at once with nothing sent')).toEqual([]);
    expect(saying('backing off')).toHaveLength(1);
  });

  it('an in-stream expiry as the end of a stream, not as a failure', async () => {
    const { transport, engine, logger, saying } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    transport.stream.error({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    await turns();
    expect(saying('watch stream ended').map((line) => line.fields.outcome)).toEqual(['expired']);
    expect(logger.lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  });

  it('a failed request with what it decided, and a final failure as an error', async () => {
    const { clock, transport, engine, saying } = setup();
    const unavailable = new KubernetesError(503, 'ServiceUnavailable', 'later');
    const forbidden = new KubernetesError(403, 'Forbidden', 'no');
    const refusals = [unavailable, forbidden];
    transport.onWatch = () => {
      throw refusals.shift();
    };
    engine.subscribe('pods', 'default', { 'metadata.name': 'web' }, quiet);
    await advance(clock, 1_000);
    const watch = 'pods in default where metadata.name=web';
    expect(saying('watch request failed')).toEqual([
      {
        level: 'warn',
        fields: { watch, err: unavailable, decision: 'retry' },
        message: 'watch request failed',
      },
      { level: 'warn', fields: { watch, err: forbidden, decision: 'fail' }, message: 'watch request failed' },
    ]);
    expect(saying('watch failed')).toEqual([
      { level: 'error', fields: { watch, err: forbidden }, message: 'watch failed' },
    ]);
  });

  it('a refresh of credentials after 401', async () => {
    const { transport, engine, saying } = setup();
    transport.refreshCredentials = async () => {};
    let refused = false;
    transport.onWatch = () => {
      if (refused) return;
      refused = true;
      throw new KubernetesError(401, 'Unauthorized', 'token expired');
    };
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    expect(saying('credentials rejected (401): refreshing them once')).toEqual([
      {
        level: 'info',
        fields: { watch: 'pods in default' },
        message: 'credentials rejected (401): refreshing them once',
      },
    ]);
  });

  it('a stream the transport aborted by itself as a retryable failure of the watch, not as a stop', async () => {
    const { clock, transport, engine, saying } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    const cause = new DOMException('body timeout', 'AbortError');
    transport.stream.fail(cause);
    await advance(clock, 1_000);
    const [line] = saying('watch request failed');
    expect(line?.fields.decision).toBe('retry');
    const error = line?.fields.err;
    expect(PodStorageError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      message: 'watch of pods in default was aborted by the transport',
      retryable: true,
      cause,
    });
  });

  it('nothing about a stream it closed itself because its last consumer left', async () => {
    const { transport, engine, logger } = setup();
    const subscription = engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    subscription.close();
    await turns();
    expect(transport.stream.signal.aborted).toBe(true);
    expect(logger.lines).toEqual([]);
    expect(engine.counters().retries).toBe(0);
  });
});
