const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration as kubectl's flags take it (Go's `time.ParseDuration`): `90s`, `10m`, `1h30m`,
 * `500ms`. A number needs its unit, as in kubectl (`--timeout=30` is refused there too): a bare number
 * is an error, so `30` is never silently read as seconds or milliseconds. Throws an error naming the
 * value when it is not a duration above zero.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new Error(
      `invalid duration "${text}": missing unit (use ${trimmed}s, ${trimmed}m or ${trimmed}ms)`,
    );
  }
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    throw new Error(`invalid duration "${text}": use units like 90s, 10m, 1h30m, 500ms`);
  }
  const total = parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS[part[2] as string] ?? 0), 0);
  if (!(total > 0)) throw new Error(`invalid duration "${text}": must be longer than 0`);
  return total;
}
