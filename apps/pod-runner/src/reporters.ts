import type { PodPhase } from '@podstorage/core';
import { MultiBar, type SingleBar } from 'cli-progress';
import colors from 'picocolors';
import { type BatchReporter, messageOf, type PodOutcome } from './batch.js';

// The stages a pod goes through, recognised from the kubelet's and scheduler's event messages.
// The bar only moves forward, so a repeated message (a restart) does not move it back.
const STAGES: readonly { readonly label: string; readonly message?: RegExp }[] = [
  { label: 'created' },
  { label: 'scheduled', message: /^Successfully assigned / },
  { label: 'pulling image', message: /^Pulling image / },
  { label: 'image ready', message: /^(Successfully pulled image|Container image .* already present)/ },
  { label: 'container created', message: /^Created container / },
  { label: 'running', message: /^Started container / },
  { label: 'finished' },
];
const FINISHED = STAGES.length - 1;

/** The stage an event message shows a pod has reached, or -1 for messages that say nothing of it. */
export function stageOf(message: string): number {
  return STAGES.findIndex((stage) => stage.message?.test(message));
}

/** A phase in the colour people expect: green done, red failed, yellow waiting. */
function colourPhase(phase: PodPhase | string | null): string {
  if (phase === 'Succeeded') return colors.green(phase);
  if (phase === 'Failed' || phase === null) return colors.red(phase ?? 'gone');
  if (phase === 'Running') return colors.cyan(phase);
  return colors.yellow(phase);
}

/** The final state of an outcome, as one word. */
export function verdict(outcome: PodOutcome): string {
  if (outcome.error !== undefined) return outcome.error instanceof Error ? outcome.error.name : 'error';
  return outcome.phase ?? 'gone';
}

/** A live view for terminals: a progress bar per pod with its stage, phase and latest event. */
export function terminalReporter(stream: NodeJS.WriteStream): BatchReporter & { stop(): void } {
  const bars = new MultiBar(
    {
      stream,
      format: '{name} {bar} {stage} {phase} {event}',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: true,
    },
    { barCompleteChar: '█', barIncompleteChar: '░', format: '' },
  );
  const pods = new Map<string, { bar: SingleBar; stage: number }>();
  const width = Math.max(10, Math.min(30, (stream.columns ?? 100) - 90));
  const update = (name: string, stage: number | undefined, payload: Record<string, string>) => {
    const pod = pods.get(name);
    if (pod === undefined) return;
    if (stage !== undefined && stage > pod.stage) pod.stage = stage;
    pod.bar.update(pod.stage, { ...payload, stage: (STAGES[pod.stage]?.label ?? '').padEnd(17) });
  };
  return {
    created(name) {
      const bar = bars.create(FINISHED, 0, {
        name: name.padEnd(width).slice(0, width),
        stage: STAGES[0]?.label.padEnd(17),
        phase: colourPhase('Pending').padEnd(20),
        event: '',
      });
      pods.set(name, { bar, stage: 0 });
    },
    event(name, message) {
      bars.log(`${colors.dim(name.padEnd(width))} ${message}\n`);
      update(name, stageOf(message), { event: colors.dim(message.slice(0, 60)) });
    },
    phase(name, _from, to) {
      update(name, to === 'Running' ? STAGES.length - 2 : undefined, { phase: colourPhase(to).padEnd(20) });
    },
    finished(outcome) {
      update(outcome.name, FINISHED, {
        phase: colourPhase(outcome.error ? verdict(outcome) : outcome.phase).padEnd(20),
        event: outcome.error ? colors.red(messageOf(outcome.error).slice(0, 60)) : colors.dim('deleted'),
      });
    },
    note(message) {
      bars.log(`${message}\n`);
      // log() waits for the next redraw; a note at the very end (clean-up) would otherwise never show.
      bars.update();
    },
    stop() {
      bars.stop();
    },
  };
}

/** Plain log lines, for logs and pipes: one line per thing that happened, with the time since start. */
export function lineReporter(write: (line: string) => void, elapsedMs: () => number): BatchReporter {
  const line = (pod: string, kind: string, text: string) =>
    write(`${(elapsedMs() / 1000).toFixed(1).padStart(6)}s  ${pod.padEnd(20)} ${kind.padEnd(7)} ${text}`);
  return {
    created: (pod, image) => line(pod, 'created', `image ${image}`),
    event: (pod, message) => line(pod, 'event', message),
    phase: (pod, from, to) => line(pod, 'phase', `${from ?? '?'} -> ${to}`),
    finished: (outcome) =>
      line(
        outcome.name,
        'done',
        outcome.error
          ? `${verdict(outcome)}: ${messageOf(outcome.error)}`
          : `${outcome.phase ?? 'gone'}, deleted`,
      ),
    note: (message) => write(message),
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
  };
}

/** An outcome as plain data, for JSON output. */
export function summaryRecord(outcome: PodOutcome): Record<string, unknown> {
  return {
    pod: outcome.name,
    phase: outcome.phase,
    result: verdict(outcome),
    error: outcome.error === undefined ? null : messageOf(outcome.error),
    durationMs: Math.round(outcome.durationMs),
    events: outcome.events,
  };
}

/** The end-of-run table: pod, final phase, duration, event count. */
export function summaryTable(outcomes: readonly PodOutcome[]): string {
  const rows = outcomes.map((outcome) => [
    outcome.name,
    verdict(outcome),
    `${(outcome.durationMs / 1000).toFixed(1)}s`,
    String(outcome.events),
  ]);
  const header = ['POD', 'FINAL PHASE', 'DURATION', 'EVENTS'];
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
