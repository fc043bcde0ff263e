// The host's share of this machine's CPU time: on a virtual machine the hypervisor runs other guests on
// our CPUs ("steal" in /proc/stat). A latency probe that waits for a stolen CPU measures the host, not
// the candidate: the many-waits scenario measures its probes again when the host took more than a
// limit while they ran (see bench/README.md, "Method").
import { readFileSync } from 'node:fs';

/** Cumulative CPU time of all CPUs, in clock ticks: the part stolen by the host, and all of it. */
export interface CpuTimes {
  readonly steal: number;
  readonly total: number;
}

/** The machine's CPU times now, from /proc/stat; `undefined` where there is none (not Linux). */
export function cpuTimes(): CpuTimes | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (proc(5)); guest time is
  // already counted in user and nice.
  const fields = text.slice(0, text.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((value) => !Number.isFinite(value))) return undefined;
  return { steal: fields[7] as number, total: fields.reduce((sum, value) => sum + value, 0) };
}

/** The host's share of the CPU time between two readings, in percent; NaN when unknown. */
export function stealPercent(from: CpuTimes | undefined, to: CpuTimes | undefined): number {
  if (from === undefined || to === undefined || to.total <= from.total) return Number.NaN;
  return (100 * (to.steal - from.steal)) / (to.total - from.total);
}

/**
 * Measures, then measures again (at most `repeats` times) while the host took more than
 * `limitPercent` of the CPU time during a measurement; resolves with the least disturbed one and how
 * many were made again. A measurement whose steal is unknown (NaN) is kept as it is.
 */
export async function leastStolen<T extends { readonly stealPercent: number }>(
  measure: () => Promise<T>,
  limitPercent: number,
  repeats: number,
  onRepeat: (stolenPercent: number) => void = () => {},
): Promise<{ readonly measured: T; readonly repeats: number }> {
  let best = await measure();
  let made = 0;
  while (best.stealPercent > limitPercent && made < repeats) {
    onRepeat(best.stealPercent);
    made += 1;
    const again = await measure();
    if (again.stealPercent < best.stealPercent) best = again;
  }
  return { measured: best, repeats: made };
}
