import { describe, expect, it } from 'vitest';
import type { Pod } from './kubernetes.js';
import { ManualClock } from './test-clock.js';
import { engineSettings, ScriptedTransport, turns } from './test-transport.js';
import { WatchEngine, type WatchSubscriber } from './watch-engine.js';

const quiet: WatchSubscriber<Pod> = { onSync: () => {}, onChange: () => {}, onError: () => {} };

function setup() {
  const transport = new ScriptedTransport();
  const engine = new WatchEngine(transport, engineSettings(new ManualClock()));
  return { transport, engine };
}

describe('WatchEngine.close', () => {
  it('fails every consumer with its reason and has wound every watch down when it resolves', async () => {
    const { transport, engine } = setup();
    // Sockets take a while to close: close() must wait for them, not just ask.
    transport.slowStreamClose = true;
    const errors: unknown[] = [];
    const failing = () => ({
      onSync: () => {},
      onChange: () => {},
      onError: (error: unknown) => errors.push(error),
    });
    engine.subscribe('pods', 'default', undefined, failing());
    engine.subscribe('events', 'default', { 'involvedObject.name': 'web' }, failing());
    await turns();
    expect(engine.counters().watchesActive).toBe(2);
    const reason = new Error('storage closed');
    await engine.close(reason);
    // Nothing more to wait for: close() resolved only once every stream was closed.
    expect(engine.counters().watchesActive).toBe(0);
    expect(transport.streams.map((stream) => stream.signal.aborted)).toEqual([true, true]);
    expect(errors).toEqual([reason, reason]);
    expect(engine.isWatching('pods', 'default', undefined)).toBe(false);
  });

  it('makes every later subscribe throw its reason, before any request', async () => {
    const { transport, engine } = setup();
    const reason = new Error('storage closed');
    await engine.close(reason);
    await engine.close(new Error('closed again'));
    expect(() => engine.subscribe('pods', 'default', undefined, quiet)).toThrow(reason);
    let thrown: unknown;
    try {
      engine.subscribe('pods', 'default', undefined, quiet);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(reason);
    expect(transport.calls).toEqual([]);
  });
});

describe('a shared watch that stops', () => {
  it('is forgotten alone: the other watches go on and are still shared', async () => {
    const { transport, engine } = setup();
    engine.subscribe('pods', 'default', undefined, quiet);
    const single = engine.subscribe('pods', 'default', { 'metadata.name': 'web' }, quiet);
    await turns();
    single.close();
    await turns();
    expect(engine.isWatching('pods', 'default', { 'metadata.name': 'web' })).toBe(false);
    expect(engine.isWatching('pods', 'default', undefined)).toBe(true);
    engine.subscribe('pods', 'default', undefined, quiet);
    await turns();
    expect(transport.callsOf('list')).toHaveLength(2);
    expect(transport.callsOf('watch')).toHaveLength(2);
  });
});
