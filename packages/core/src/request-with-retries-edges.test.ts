import { describe, expect, it } from 'vitest';
import { KubernetesError } from './errors.js';
import { requestWithRetries } from './retry-policy.js';
import { ManualClock } from './test-clock.js';
import { advance, noJitter, recordingLogger } from './test-transport.js';
import { Timeout } from './timeout.js';
import type { PodTransport } from './transport.js';

const BACKOFF = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

function settingsFor(clock: ManualClock, transport: Partial<PodTransport> = {}) {
  const logger = recordingLogger();
  return {
    logger,
    settings: {
      clock,
      logger,
      random: noJitter,
      backoff: BACKOFF,
      requestTimeoutMs: 30_000,
      transport: transport as PodTransport,
    },
  };
}

/** An attempt that never answers, and fails with `error` once its signal aborts. */
const failsOnAbort = (error: unknown) => (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(error), { once: true });
  });

describe('requestWithRetries', () => {
  it('sends nothing when the signal was aborted before it started', async () => {
    const clock = new ManualClock();
    const { settings } = settingsFor(clock);
    const deadline = new Timeout('get pod', 60_000, { clock });
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    let attempts = 0;
    await expect(
      requestWithRetries('get pod default/web', settings, deadline, controller.signal, async () => {
        attempts += 1;
        return 'answer';
      }),
    ).rejects.toBe(reason);
    expect(attempts).toBe(0);
  });

  it("rejects with the caller's reason when the caller aborts, whatever the attempt failed with", async () => {
    const clock = new ManualClock();
    const { settings } = settingsFor(clock);
    const deadline = new Timeout('get pod', 60_000, { clock });
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const notFound = new KubernetesError(404, 'NotFound', 'gone');
    const request = requestWithRetries(
      'get pod default/web',
      settings,
      deadline,
      controller.signal,
      failsOnAbort(notFound),
    );
    controller.abort(reason);
    await expect(request).rejects.toBe(reason);
  });

  it('takes a final answer that comes as the attempt bound runs out as the answer', async () => {
    const clock = new ManualClock();
    const { settings } = settingsFor(clock);
    const deadline = new Timeout('get pod', 600_000, { clock });
    const notFound = new KubernetesError(404, 'NotFound', 'gone');
    let attempts = 0;
    const request = requestWithRetries(
      'get pod default/web',
      settings,
      deadline,
      deadline.signal,
      (signal) => {
        attempts += 1;
        return failsOnAbort(notFound)(signal);
      },
    );
    request.catch(() => {});
    await advance(clock, 30_000, 1_000);
    await expect(request).rejects.toBe(notFound);
    expect(attempts).toBe(1);
  });

  it('refreshes credentials only after 401, with the caller signal, and says so', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    const { settings, logger } = settingsFor(clock, {
      refreshCredentials: async ({ signal }) => {
        signals.push(signal);
      },
    });
    const deadline = new Timeout('get pod', 600_000, { clock });
    const failures = [
      new KubernetesError(503, 'ServiceUnavailable', 'later'),
      new KubernetesError(401, 'Unauthorized', 'token expired'),
    ];
    const controller = new AbortController();
    const request = requestWithRetries(
      'get pod default/web',
      settings,
      deadline,
      controller.signal,
      async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return 'answer';
      },
    );
    await advance(clock, 1_000);
    await expect(request).resolves.toBe('answer');
    expect(signals).toEqual([controller.signal]);
    expect(logger.lines.filter((line) => line.level === 'info')).toEqual([
      {
        level: 'info',
        fields: { request: 'get pod default/web' },
        message: 'credentials rejected (401): refreshing them once',
      },
    ]);
  });

  it('logs each retry with the request, the error and the wait', async () => {
    const clock = new ManualClock();
    const { settings, logger } = settingsFor(clock);
    const deadline = new Timeout('get pod', 600_000, { clock });
    const unavailable = new KubernetesError(503, 'ServiceUnavailable', 'later');
    let failed = false;
    const request = requestWithRetries(
      'get pod default/web',
      settings,
      deadline,
      deadline.signal,
      async () => {
        if (failed) return 'answer';
        failed = true;
        throw unavailable;
      },
    );
    await advance(clock, 1_000);
    await expect(request).resolves.toBe('answer');
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        fields: { request: 'get pod default/web', err: unavailable, waitMs: expect.closeTo(500, 3) },
        message: 'request failed: retrying',
      },
    ]);
  });

  it('makes no attempt after a wait that would end past the deadline', async () => {
    const clock = new ManualClock();
    const { settings } = settingsFor(clock);
    const deadline = new Timeout('get pod', 5_000, { clock });
    const throttled = KubernetesError.fromStatus({
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 10 },
    });
    let attempts = 0;
    const request = requestWithRetries(
      'get pod default/web',
      settings,
      deadline,
      deadline.signal,
      async () => {
        attempts += 1;
        throw throttled;
      },
    );
    request.catch(() => {});
    // Millisecond steps near the deadline: a wait that ended a moment before it would show.
    await advance(clock, 4_900, 100);
    await advance(clock, 200, 1);
    await expect(request).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(attempts).toBe(1);
  });
});
