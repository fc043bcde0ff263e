// Decode: each candidate in a fresh process reads the same pre-rendered watch stream from the static
// server (its own process): a warm-up pass, then the measured one. Client CPU per event and peak RSS.
import { DECODE_CANDIDATES, type DecodeCandidate } from '../candidates.ts';
import { withChild } from '../processes.ts';
import { alternate, fmt, type Goal, median, progress, ratio, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const STATIC_SERVER = new URL('../children/static-server.ts', import.meta.url);
const DECODE_CLIENT = new URL('../children/decode-client.ts', import.meta.url);

interface Measured {
  ms: number;
  cpuMs: number;
  peakRssMiB: number;
}

/** Runs the decode scenario. */
export async function decodeScenario(settings: Settings): Promise<ScenarioReport> {
  const events = settings.decodeEvents;
  return withChild(STATIC_SERVER, async (server) => {
    const { url, bytes } = await server.call<{ url: string; bytes: number }>('start', { events, pods: 0 });
    const results = new Map<DecodeCandidate, Measured[]>(DECODE_CANDIDATES.map((name) => [name, []]));
    for (let run = 0; run < settings.runs; run++) {
      for (const candidate of alternate(DECODE_CANDIDATES, run)) {
        const outcome = await withChild(DECODE_CLIENT, (client) =>
          client.call<{ passes: { ms: number; cpuMs: number }[]; peakRssMiB: number }>('run', {
            candidate,
            url,
            passes: 2,
            events,
          }),
        );
        const measured = outcome.passes[outcome.passes.length - 1] as { ms: number; cpuMs: number };
        results.get(candidate)?.push({ ...measured, peakRssMiB: outcome.peakRssMiB });
        progress(`decode, run ${run + 1}/${settings.runs}, ${candidate}: ${fmt(measured.cpuMs)} ms CPU`);
      }
    }
    const summary = new Map(
      [...results].map(([name, list]) => [
        name,
        {
          ms: median(list.map((entry) => entry.ms)),
          cpuMs: median(list.map((entry) => entry.cpuMs)),
          peakRssMiB: median(list.map((entry) => entry.peakRssMiB)),
        },
      ]),
    );
    const raw = summary.get('raw undici + split + JSON.parse') as Measured;
    const watch = summary.get('client-node Watch') as Measured;
    const rows = [...summary].map(([name, entry]) => [
      name,
      fmt((entry.cpuMs * 1000) / events, 1),
      ratio(entry.cpuMs, raw.cpuMs),
      ratio(entry.cpuMs, watch.cpuMs),
      fmt(bytes / 1_048_576 / (entry.cpuMs / 1000), 0),
      fmt(events / (entry.ms / 1000), 0),
      fmt(entry.peakRssMiB, 0),
    ]);
    const lines = [
      `${fmt(events)} ADDED events of realistic pods, ${fmt(bytes / 1_048_576, 1)} MiB (~${fmt(bytes / events)} B/event), median of ${settings.runs} run(s) (fresh process each, after a warm-up pass)`,
      ...table(
        [
          'candidate',
          'client CPU µs/event',
          'CPU vs raw',
          'CPU vs Watch',
          'MiB/CPU-s',
          'events/s (wall)',
          'peak RSS MiB',
        ],
        rows,
      ),
    ];
    const goals: Goal[] = (['podstorage undici HTTP', 'podstorage undici WebSocket'] as const).map(
      (name) => ({
        goal: `decode: ${name} CPU/event at parity with raw undici (≤ 1.10×)`,
        measured: ((summary.get(name) as Measured).cpuMs * 1000) / events,
        unit: 'µs',
        target: (raw.cpuMs * 1000 * 1.1) / events,
        targetNote: '1.10× raw',
      }),
    );
    return { title: 'Decode (static server)', lines, goals, figures: Object.fromEntries(summary) };
  });
}
