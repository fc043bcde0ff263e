// Statistics and the printed report: medians, percentiles, tables and the issue's goals.

let showProgress = false;

/** Whether {@link progress} prints (on stderr); `pnpm bench` turns it on, the smoke test leaves it off. */
export function setProgress(on: boolean): void {
  showProgress = on;
}

/** One line on stderr per measurement, so a long run on a loaded machine shows where it is. */
export function progress(message: string): void {
  if (showProgress) process.stderr.write(`  … ${message}\n`);
}

/** The median (the lower middle for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

/** The `p`-th percentile (0–100), nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** `items` in the order of run `run`: as given on even runs, reversed on odd ones. */
export function alternate<T>(items: readonly T[], run: number): T[] {
  return run % 2 === 0 ? [...items] : [...items].reverse();
}

/** One goal of the issue, measured. */
export interface Goal {
  readonly goal: string;
  readonly measured: number;
  readonly unit: string;
  /** The bound: the goal holds when `measured <= target`. */
  readonly target: number;
  /** How the target was found (a baseline of the same run, or the issue's figure). */
  readonly targetNote?: string;
}

/** A goal whose measurement failed or was skipped. */
export interface MissingGoal {
  readonly goal: string;
  readonly reason: string;
}

/** A scenario's outcome: its tables (already formatted lines) and goals. */
export interface ScenarioReport {
  readonly title: string;
  readonly lines: string[];
  readonly goals: (Goal | MissingGoal)[];
  /** Raw figures, for the smoke test and the README. */
  readonly figures: Record<string, unknown>;
}

/** A number with `digits` decimals and thousands separators; "—" for NaN. */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `a / b` as "1.23×"; "—" when either is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** A table of `rows` under `header`, columns padded (the first left-aligned, the others right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)];
}

/** The goals as a table: measured, target, ratio and PASS/MISS (or why it is missing). */
export function goalTable(goals: readonly (Goal | MissingGoal)[]): string[] {
  return table(
    ['goal', 'measured', 'target', 'ratio', 'result'],
    goals.map((goal) =>
      'reason' in goal
        ? [goal.goal, '—', '—', '—', `MISSING (${goal.reason})`]
        : [
            goal.goal,
            `${fmt(goal.measured, goal.measured < 10 ? 2 : 0)} ${goal.unit}`,
            `≤ ${fmt(goal.target, goal.target < 10 ? 2 : 0)} ${goal.unit}${goal.targetNote ? ` (${goal.targetNote})` : ''}`,
            ratio(goal.measured, goal.target),
            goal.measured <= goal.target ? 'PASS' : 'MISS',
          ],
    ),
  );
}

/** True when the goal was measured and holds. */
export function passed(goal: Goal | MissingGoal): boolean {
  return !('reason' in goal) && goal.measured <= goal.target;
}
