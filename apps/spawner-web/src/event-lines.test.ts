import { describe, expect, it } from 'vitest';
import { eventLine, humanDuration } from './event-lines.js';

describe('humanDuration, as kubectl shows ages (k8s.io/apimachinery/pkg/util/duration.HumanDuration)', () => {
  it.each([
    [-5_000, '<invalid>'],
    [-1_000, '0s'],
    [0, '0s'],
    [45_000, '45s'],
    [119_000, '119s'],
    [180_000, '3m'],
    [200_000, '3m20s'],
    [12 * 60_000, '12m'],
    [179 * 60_000, '179m'],
    [5 * 3_600_000 + 3 * 60_000, '5h3m'],
    [6 * 3_600_000, '6h'],
    [30 * 3_600_000, '30h'],
    [3 * 86_400_000 + 4 * 3_600_000, '3d4h'],
    [100 * 86_400_000, '100d'],
    [3 * 365 * 86_400_000 + 10 * 86_400_000, '3y10d'],
    [9 * 365 * 86_400_000, '9y'],
  ])('%i ms is %s', (ms, shown) => {
    expect(humanDuration(ms)).toBe(shown);
  });
});

describe('eventLine, as kubectl events prints an event (kubectl/pkg/cmd/events/events.go)', () => {
  const now = new Date('2026-01-01T00:10:00Z');

  it('counts a recurring event with its age since first seen', () => {
    const line = eventLine(
      {
        metadata: { uid: 'e1', name: 'web.1', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'web' },
        reason: 'FailedScheduling',
        type: 'Warning',
        message: ' 0/1 nodes are available ',
        count: 12,
        firstTimestamp: '2026-01-01T00:07:00Z',
        lastTimestamp: '2026-01-01T00:09:59Z',
      },
      now,
    );
    expect(line).toEqual({
      key: 'e1',
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/1 nodes are available',
      count: 12,
      firstSeen: '2026-01-01T00:07:00Z',
      lastSeen: '2026-01-01T00:09:59Z',
      repeat: 'x12 over 3m',
    });
  });

  it('prefers the series count and eventTime (events.k8s.io), and shows no count for a single event', () => {
    const series = eventLine(
      {
        metadata: { name: 'web.2', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'web' },
        message: 'Back-off restarting failed container',
        count: 1,
        eventTime: '2026-01-01T00:00:00.000000Z',
        series: { count: 30, lastObservedTime: '2026-01-01T00:09:00.000000Z' },
      },
      now,
    );
    expect(series).toMatchObject({ key: 'default/web.2', count: 30, repeat: 'x30 over 10m' });
    const single = eventLine(
      { metadata: { uid: 'e3' }, involvedObject: {}, message: 'Pulled', count: 1 },
      now,
    );
    expect(single).toMatchObject({ count: 1, repeat: null, firstSeen: null, lastSeen: null });
  });
});
