import { describe, expect, it } from 'vitest';
import { KubernetesError, PodStorageError } from './errors.js';
import type { Status } from './kubernetes.js';
import { silentLogger } from './logger.js';
import { classifyFailure, requestWithRetries, WatchRetryPolicy } from './retry-policy.js';
import { ManualClock } from './test-clock.js';
import { Timeout } from './timeout.js';
import type { PodTransport } from './transport.js';

const BACKOFF = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
// The top of the jitter band, so each wait is exactly the capped exponential step.
const noJitter = () => 0.999_999_999;

function tooLarge(): KubernetesError {
  // The apiserver's storage.NewTooLargeResourceVersionError, as a Status.
  const status: Status = {
    kind: 'Status',
    status: 'Failure',
    code: 504,
    reason: 'Timeout',
    message: 'Too large resource version: 900, current: 12',
    details: {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
  };
  return KubernetesError.fromStatus(status);
}

describe('classifyFailure', () => {
  it('relists after 410 and after a resourceVersion the server does not have (504 ResourceVersionTooLarge)', () => {
    expect(classifyFailure(new KubernetesError(410, 'Expired', 'too old'))).toBe('relist');
    expect(classifyFailure(tooLarge())).toBe('relist');
  });

  it('retries network failures, 408, 429 and 5xx; refreshes on 401; fails on other 4xx and final transport errors', () => {
    expect(classifyFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('retry');
    expect(classifyFailure(new KubernetesError(504, 'Timeout', 'slow etcd'))).toBe('retry');
    expect(classifyFailure(new KubernetesError(429, 'TooManyRequests', ''))).toBe('retry');
    expect(classifyFailure(new KubernetesError(408, 'Timeout', ''))).toBe('retry');
    expect(classifyFailure(new KubernetesError(503, 'ServiceUnavailable', ''))).toBe('retry');
    expect(classifyFailure(new KubernetesError(401, 'Unauthorized', ''))).toBe('refresh-credentials');
    expect(classifyFailure(new KubernetesError(403, 'Forbidden', ''))).toBe('fail');
    expect(classifyFailure(new KubernetesError(422, 'Invalid', ''))).toBe('fail');
    expect(classifyFailure(new PodStorageError('plugin missing', { retryable: false }))).toBe('fail');
    expect(classifyFailure(new PodStorageError('flaky', { retryable: true }))).toBe('retry');
  });
});

describe('WatchRetryPolicy', () => {
  // Issue 9, defect 6: an ERROR 410 on every watch was relisted 1,000 times in 59 ms.
  it('relists at once after the first expiry, then backs off on repeated ones', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    const expired = { outcome: 'expired', lastedMs: 0, progressed: false } as const;
    const waits = Array.from({ length: 8 }, () => Math.round(policy.afterStream(expired)));
    expect(waits).toEqual([0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('backs off a server that accepts watches and then stays silent', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    // Stalls are measured until the last byte: a silent stream was alive for 0 ms however long we waited.
    const silent = { outcome: 'stalled', lastedMs: 0, progressed: false } as const;
    const waits = Array.from({ length: 4 }, () => Math.round(policy.afterStream(silent)));
    expect(waits).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('backs off streams that end at once with nothing, and resumes at once after working ones', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    expect(Math.round(policy.afterStream({ outcome: 'closed', lastedMs: 10, progressed: false }))).toBe(500);
    expect(Math.round(policy.afterStream({ outcome: 'closed', lastedMs: 10, progressed: false }))).toBe(
      1_000,
    );
    expect(policy.afterStream({ outcome: 'closed', lastedMs: 10, progressed: true })).toBe(0);
    expect(policy.afterStream({ outcome: 'closed', lastedMs: 5_000, progressed: false })).toBe(0);
  });

  // Issue 9, defect 7: after six failures, a stream healthy for 70 s that ended in a reset waited 30 s.
  it('resets after a stream healthy for resetAfterMs, however it ended', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    for (let failure = 0; failure < 6; failure += 1) policy.afterError('retry', reset);
    expect(policy.failures).toBe(6);
    expect(policy.afterError('retry', reset, 70_000, true)).toBe(0);
    expect(policy.failures).toBe(0);
    expect(Math.round(policy.afterError('retry', reset))).toBe(500);
    for (let failure = 0; failure < 6; failure += 1) policy.afterError('retry', reset);
    expect(Math.round(policy.afterStream({ outcome: 'stalled', lastedMs: 70_000, progressed: true }))).toBe(
      500,
    );
  });

  it('a stream that lasted resetAfterMs worked, even when resetAfterMs is shorter than a second', () => {
    const policy = new WatchRetryPolicy({ initialMs: 10, maxMs: 300, resetAfterMs: 600 }, noJitter);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    for (let failure = 0; failure < 6; failure += 1) policy.afterError('retry', reset);
    expect(policy.afterError('retry', reset, 650, false)).toBe(0);
    expect(policy.failures).toBe(0);
  });

  it('never waits less than Retry-After, even after a working stream', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    const throttled = KubernetesError.fromStatus({
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 7 },
    });
    expect(policy.afterError('retry', throttled, 5_000, true)).toBe(7_000);
  });

  it('relists after a second stall in a row that did not move the resourceVersion on', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    const silent = { outcome: 'stalled', lastedMs: 0, progressed: false } as const;
    expect(policy.shouldRelistAfter(silent)).toBe(false);
    expect(policy.shouldRelistAfter(silent)).toBe(true);
    expect(policy.shouldRelistAfter(silent)).toBe(false);
    // Progress in between starts the count again.
    expect(policy.shouldRelistAfter({ outcome: 'stalled', lastedMs: 90_000, progressed: true })).toBe(false);
    expect(policy.shouldRelistAfter(silent)).toBe(false);
    expect(policy.shouldRelistAfter({ outcome: 'closed', lastedMs: 5, progressed: false })).toBe(false);
    expect(policy.shouldRelistAfter(silent)).toBe(false);
    expect(policy.shouldRelistAfter(silent)).toBe(true);
  });

  it('refreshes credentials once until a stream works again', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    expect(policy.mayRefreshCredentials()).toBe(true);
    expect(policy.mayRefreshCredentials()).toBe(false);
    policy.afterStream({ outcome: 'closed', lastedMs: 5_000, progressed: true });
    expect(policy.mayRefreshCredentials()).toBe(true);
  });

  it('refreshes credentials again after a stream that worked and then broke', () => {
    const policy = new WatchRetryPolicy(BACKOFF, noJitter);
    expect(policy.mayRefreshCredentials()).toBe(true);
    // The refreshed credentials worked for 8 minutes, then a proxy reset the connection; the token has
    // rotated again by the time the watch reconnects: that 401 deserves its own refresh.
    policy.afterError('retry', new Error('socket hang up'), 480_000, true);
    expect(policy.mayRefreshCredentials()).toBe(true);
    // A request refused at once proves nothing about the credentials.
    policy.afterError('retry', new Error('ECONNREFUSED'), 0, false);
    expect(policy.mayRefreshCredentials()).toBe(false);
  });
});

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `promise` to completion on `clock`, moving it `stepMs` per real turn; fails after `maxMs`. */
async function drive<T>(clock: ManualClock, promise: Promise<T>, stepMs = 100, maxMs = 600_000): Promise<T> {
  let settled = false;
  const done = promise.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  for (let moved = 0; !settled; moved += stepMs) {
    if (moved > maxMs) throw new Error(`still pending after ${maxMs} ms of clock time`);
    await macrotask();
    if (!settled) clock.advance(stepMs);
  }
  return done;
}

function settingsFor(clock: ManualClock, transport: Partial<PodTransport> = {}) {
  return {
    clock,
    logger: silentLogger,
    random: noJitter,
    backoff: BACKOFF,
    requestTimeoutMs: 30_000,
    transport: transport as PodTransport,
  };
}

// Issue 9, defect 5: one 429/500/503 failed a whole operation with minutes left.
describe('requestWithRetries', () => {
  it('retries 429, 500 and 503 with backoff, waiting at least Retry-After, then returns the answer', async () => {
    const clock = new ManualClock();
    const failures = [
      KubernetesError.fromStatus({ code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } }),
      new KubernetesError(500, 'InternalError', 'boom'),
      new KubernetesError(503, 'ServiceUnavailable', 'later'),
    ];
    const attempts: number[] = [];
    const deadline = new Timeout('get pod', 600_000, { clock });
    const result = await drive(
      clock,
      requestWithRetries('get pod default/web', settingsFor(clock), deadline, deadline.signal, async () => {
        attempts.push(clock.now());
        const failure = failures.shift();
        if (failure) throw failure;
        return 'the pod';
      }),
    );
    expect(result).toBe('the pod');
    expect(attempts).toHaveLength(4);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(3_000);
  });

  it('bounds each attempt by requestTimeoutMs and tries again', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const deadline = new Timeout('get pod', 600_000, { clock });
    const result = await drive(
      clock,
      requestWithRetries('get pod default/web', settingsFor(clock), deadline, deadline.signal, (signal) => {
        calls += 1;
        if (calls > 1) return Promise.resolve('answered');
        // The first attempt hangs until its own bound aborts it.
        return new Promise<string>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      }),
      1_000,
    );
    expect(result).toBe('answered');
    expect(calls).toBe(2);
  });

  it('throws final answers at once', async () => {
    const clock = new ManualClock();
    const deadline = new Timeout('get pod', 600_000, { clock });
    let calls = 0;
    const notFound = new KubernetesError(404, 'NotFound', 'pods "web" not found');
    await expect(
      requestWithRetries('get pod default/web', settingsFor(clock), deadline, deadline.signal, async () => {
        calls += 1;
        throw notFound;
      }),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);
  });

  it('refreshes credentials once on 401, then gives up on a second one', async () => {
    const clock = new ManualClock();
    const deadline = new Timeout('get pod', 600_000, { clock });
    let refreshes = 0;
    const unauthorized = new KubernetesError(401, 'Unauthorized', '');
    const transport = {
      refreshCredentials: async () => {
        refreshes += 1;
      },
    };
    await expect(
      requestWithRetries(
        'get pod default/web',
        settingsFor(clock, transport),
        deadline,
        deadline.signal,
        async () => {
          throw unauthorized;
        },
      ),
    ).rejects.toBe(unauthorized);
    expect(refreshes).toBe(1);
  });

  it('ends with the deadline: the signal reason, not the last server error, and no timer left', async () => {
    const clock = new ManualClock();
    const deadline = new Timeout('get pod', 5_000, { clock });
    const outcome = drive(
      clock,
      requestWithRetries('get pod default/web', settingsFor(clock), deadline, deadline.signal, async () => {
        throw new KubernetesError(503, 'ServiceUnavailable', 'down');
      }),
    );
    await expect(outcome).rejects.toMatchObject({ name: 'TimeoutError' });
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
  });
});
