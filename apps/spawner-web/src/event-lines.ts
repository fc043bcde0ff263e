import type { KubernetesEvent } from '@podstorage/core';

/** One line of the events list: one Kubernetes event, however often it recurred. */
export interface EventLine {
  /** The event's identity (uid, else namespace/name): a recurrence updates the line of this key. */
  readonly key: string;
  readonly type: string | null;
  readonly reason: string | null;
  readonly message: string;
  /** How often it happened (`series.count`, else `count`, else 1). */
  readonly count: number;
  /** When it was first and last seen (ISO timestamps), if the event says. */
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  /** `x12 over 3m` for an event seen more than once, as `kubectl events` prints it; `null` otherwise. */
  readonly repeat: string | null;
}

/**
 * The line of an event, as `kubectl events` shows it (staging/src/k8s.io/kubectl/pkg/cmd/events/
 * events.go, printOneEvent): the series count before the legacy count, first seen from eventTime
 * before firstTimestamp, and "over" the age of the first occurrence at `now`.
 */
export function eventLine(event: KubernetesEvent, now: Date): EventLine {
  const count = event.series?.count ?? event.count ?? 1;
  const firstSeen = event.eventTime || event.firstTimestamp || event.metadata?.creationTimestamp || null;
  const lastSeen = event.series?.lastObservedTime || event.lastTimestamp || firstSeen;
  const age = firstSeen === null ? '<unknown>' : humanDuration(now.getTime() - Date.parse(firstSeen));
  return {
    key: event.metadata?.uid ?? `${event.metadata?.namespace}/${event.metadata?.name}`,
    type: event.type ?? null,
    reason: event.reason ?? null,
    message: (event.message ?? '').trim(),
    count,
    firstSeen,
    lastSeen: lastSeen ?? null,
    repeat: count > 1 ? `x${count} over ${age}` : null,
  };
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration as kubectl shows ages: about two significant figures (`45s`, `3m20s`, `12m`, `5h3m`,
 * `3d4h`), after k8s.io/apimachinery/pkg/util/duration.HumanDuration.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(ms / DAY);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
