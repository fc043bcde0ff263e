import { type PodPhase, PodTimeoutError } from '@podstorage/core';
import { createLogUpdate } from 'log-update';
import colors from 'picocolors';
import { type BatchReporter, messageOf, type PodOutcome } from './batch.js';

// The stages a pod goes through, recognised from the kubelet's and scheduler's event messages.
// The bar only moves forward, so a repeated message (a restart) does not move it back.
const STAGES: readonly { readonly label: string; readonly message?: RegExp }[] = [
  { label: 'created' },
  { label: 'scheduled', message: /^Successfully assigned / },
  { label: 'pulling image', message: /^Pulling image / },
  { label: 'image ready', message: /^(Successfully pulled image|Container image .* already present)/ },
  // v1.32 kubelets write "Created container main", later ones "Created container: main".
  { label: 'container created', message: /^Created container:? / },
  { label: 'running', message: /^Started container / },
  { label: 'finished' },
];
const FINISHED = STAGES.length - 1;
const RUNNING = STAGES.length - 2;

/** The stage an event message shows a pod has reached, or -1 for messages that say nothing of it. */
export function stageOf(message: string): number {
  return STAGES.findIndex((stage) => stage.message?.test(message));
}

/** A phase (or result) in the colour people expect: green done, red failed, yellow waiting. */
function colourPhase(phase: string): string {
  if (phase === 'Succeeded') return colors.green(phase);
  if (phase === 'Running') return colors.cyan(phase);
  if (phase === 'Pending' || phase === 'Unknown') return colors.yellow(phase);
  return colors.red(phase);
}

/**
 * How a pod's run ended, in one word or two: its final phase when the runner saw it to its end, else
 * what stopped it (`interrupted`, `timed out`, `error`), never an error class name.
 */
export function resultOf(outcome: PodOutcome): string {
  if (outcome.error === undefined) return outcome.phase ?? 'gone';
  if (outcome.interrupted) return 'interrupted';
  if (PodTimeoutError.isInstance(outcome.error)) return 'timed out';
  return 'error';
}

/** One report, as the words of a log line: the pod (or none, for notes), a kind, the text. */
interface Line {
  readonly pod?: string;
  readonly kind: string;
  readonly text: string;
}

// What each report says, the same in the piped lines and above the terminal's bars.
const lines = {
  created: (pod: string, image: string): Line => ({ pod, kind: 'created', text: `image ${image}` }),
  event: (pod: string, message: string): Line => ({ pod, kind: 'event', text: message }),
  phase: (pod: string, from: PodPhase | undefined, to: PodPhase): Line => ({
    pod,
    kind: 'phase',
    text: `${from ?? '?'} -> ${to}`,
  }),
  finished: (outcome: PodOutcome): Line => ({
    pod: outcome.name,
    kind: 'done',
    text:
      outcome.error === undefined
        ? `${outcome.phase ?? 'gone'}, deleted`
        : `${resultOf(outcome)} (last phase ${outcome.phase ?? 'none'}): ${messageOf(outcome.error)}`,
  }),
  note: (message: string): Line => ({ kind: 'note', text: message }),
  // Prefixed as `kubectl logs --prefix` prefixes a line, so the two read alike.
  log: (pod: string, container: string, text: string): Line => ({
    kind: 'log',
    text: `${logPrefix(pod, container)} ${text}`,
  }),
};

/** The prefix `kubectl logs --prefix` gives a container's lines: `[pod/NAME/CONTAINER]`. */
export function logPrefix(pod: string, container: string): string {
  return `[pod/${pod}/${container}]`;
}

/** Layout of the output: how wide the pod name column is (the longest name, within bounds). */
export interface LayoutOptions {
  readonly nameWidth?: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)}s`;

function formatLine(line: Line, elapsedMs: number, nameWidth: number, colour: boolean): string {
  const time = seconds(elapsedMs);
  if (line.pod === undefined) return `${colour ? colors.dim(time) : time}  ${line.text}`;
  const pod = line.pod.padEnd(nameWidth);
  const kind = line.kind.padEnd(7);
  if (!colour) return `${time}  ${pod} ${kind} ${line.text}`;
  const text = line.kind === 'phase' ? line.text.replace(/\w+$/, (to) => colourPhase(to)) : line.text;
  return `${colors.dim(time)}  ${pod} ${colors.dim(kind)} ${text}`;
}

/**
 * Plain log lines, for logs and pipes: one line per thing that happened, with the time since start.
 * `write` gets each line without its newline.
 */
export function lineReporter(
  write: (line: string) => void,
  elapsedMs: () => number,
  layout: LayoutOptions = {},
): BatchReporter {
  const nameWidth = layout.nameWidth ?? 20;
  const emit = (line: Line) => write(formatLine(line, elapsedMs(), nameWidth, false));
  return {
    created: (pod, image) => emit(lines.created(pod, image)),
    event: (pod, message) => emit(lines.event(pod, message)),
    phase: (pod, from, to) => emit(lines.phase(pod, from, to)),
    finished: (outcome) => emit(lines.finished(outcome)),
    note: (message) => emit(lines.note(message)),
    log: (pod, container, text) => emit(lines.log(pod, container, text)),
  };
}

/** The live view's hold on its terminal. */
export interface TerminalReporter extends BatchReporter {
  /** Ends the live view: the bars stay as they are last drawn, and the cursor comes back. */
  stop(): void;
}

interface PodRow {
  readonly name: string;
  stage: number;
  phase: string;
  /** What the stage column says instead of the stage, once the pod ended early (`interrupted`). */
  ending?: string;
  latest: string;
  failed: boolean;
}

const BAR_WIDTH = 20;

/**
 * A live view for terminals: every report as the same timestamped line the piped output has, written
 * above a block of bars (one per pod: its stage, phase and latest event) that is redrawn in place.
 * The block is drawn by log-update and erased whole before a line is written above it, so no line of
 * the scrollback keeps remains of an old bar. A pod the run did not see to its end keeps the
 * stage it reached and says why (`interrupted`, `timed out`): only a finished pod has a full bar.
 */
export function terminalReporter(
  stream: NodeJS.WriteStream,
  elapsedMs: () => number,
  layout: LayoutOptions = {},
): TerminalReporter {
  const nameWidth = layout.nameWidth ?? 20;
  const live = createLogUpdate(stream);
  const rows = new Map<string, PodRow>();
  let stopped = false;

  const rowText = (row: PodRow): string => {
    const filled = Math.round((row.stage / FINISHED) * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const stage = (row.ending ?? STAGES[row.stage]?.label ?? '').padEnd(17);
    const phase = row.phase.padEnd(11);
    const fixed = `${row.name.padEnd(nameWidth)} ${bar} ${stage} ${phase} `;
    // Keep each bar on one row of the terminal: the latest event gets what is left of it.
    const room = Math.max(0, (stream.columns ?? 80) - fixed.length - 1);
    const latest = row.latest.length > room ? `${row.latest.slice(0, Math.max(0, room - 1))}…` : row.latest;
    const colouredBar = row.failed || row.ending ? colors.red(bar) : bar;
    const colouredStage = row.ending ? colors.red(stage) : stage;
    return `${row.name.padEnd(nameWidth)} ${colouredBar} ${colouredStage} ${colourPhase(row.phase)}${' '.repeat(phase.length - row.phase.length)} ${colors.dim(latest)}`;
  };
  const draw = () => {
    if (!stopped) live([...rows.values()].map(rowText).join('\n'));
  };
  const above = (line: Line) => {
    if (stopped) return;
    // Erase the block, write the line where it was (the terminal wraps a long one softly, so it stays
    // one line when copied or reflowed), and draw the block again below it.
    live.clear();
    stream.write(`${formatLine(line, elapsedMs(), nameWidth, true)}\n`);
    draw();
  };
  const row = (name: string) => rows.get(name);

  return {
    created(name, image) {
      rows.set(name, { name, stage: 0, phase: 'Pending', latest: '', failed: false });
      above(lines.created(name, image));
    },
    event(name, message) {
      const pod = row(name);
      if (pod) {
        pod.stage = Math.max(pod.stage, stageOf(message));
        pod.latest = message;
      }
      above(lines.event(name, message));
    },
    phase(name, from, to) {
      const pod = row(name);
      if (pod) {
        pod.phase = to;
        if (to === 'Running') pod.stage = Math.max(pod.stage, RUNNING);
      }
      above(lines.phase(name, from, to));
    },
    finished(outcome) {
      const pod = row(outcome.name);
      if (pod) {
        if (outcome.phase !== null) pod.phase = outcome.phase;
        if (outcome.error === undefined) {
          pod.stage = FINISHED;
          pod.failed = outcome.phase !== 'Succeeded';
          pod.latest = 'deleted';
        } else {
          pod.ending = resultOf(outcome);
          pod.latest = messageOf(outcome.error);
        }
      }
      above(lines.finished(outcome));
    },
    note(message) {
      above(lines.note(message));
    },
    log(name, container, text) {
      above(lines.log(name, container, text));
    },
    stop() {
      if (stopped) return;
      draw();
      stopped = true;
      // Leaves the block as last drawn, with the cursor below it and visible again.
      live.done();
    },
  };
}

/** Machine-readable output: one JSON object per line. */
export function jsonReporter(write: (line: string) => void, elapsedMs: () => number): BatchReporter {
  const emit = (record: Record<string, unknown>) =>
    write(JSON.stringify({ elapsedMs: Math.round(elapsedMs()), ...record }));
  return {
    created: (pod, image) => emit({ type: 'created', pod, image }),
    event: (pod, message) => emit({ type: 'event', pod, message }),
    phase: (pod, from, to) => emit({ type: 'phase', pod, from: from ?? null, to }),
    finished: (outcome) => emit({ type: 'finished', ...summaryRecord(outcome) }),
    note: (message) => emit({ type: 'note', message }),
    log: (pod, container, line, time) => emit({ type: 'log', pod, container, line, time: time ?? null }),
  };
}

/**
 * An outcome as plain data, for JSON output: `phase` is the last phase seen (also for an interrupted
 * pod), `result` how the run of the pod ended ({@link resultOf}), `error` the message or null.
 */
export function summaryRecord(outcome: PodOutcome): Record<string, unknown> {
  return {
    pod: outcome.name,
    phase: outcome.phase,
    result: resultOf(outcome),
    error: outcome.error === undefined ? null : messageOf(outcome.error),
    durationMs: Math.round(outcome.durationMs),
    events: outcome.events,
  };
}

/**
 * The end-of-run table: pod, last phase seen, duration, event count, and, apart from the phase, what
 * stopped the pod's run when something did (`interrupted`, `timed out: …`). The phase column holds
 * only phases (`-` for a pod never seen).
 */
export function summaryTable(outcomes: readonly PodOutcome[]): string {
  const rows = outcomes.map((outcome) => [
    outcome.name,
    outcome.phase ?? '-',
    `${(outcome.durationMs / 1000).toFixed(1)}s`,
    String(outcome.events),
    outcome.error === undefined ? '' : errorCell(outcome),
  ]);
  const header = ['POD', 'PHASE', 'DURATION', 'EVENTS', 'ERROR'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)].join('\n');
}

function errorCell(outcome: PodOutcome): string {
  const result = resultOf(outcome);
  const message = messageOf(outcome.error);
  return message === result ? result : `${result}: ${message}`;
}
