// Decode: each candidate in its own process reads the same pre-rendered watch stream from the static
// server (its own process): a warm-up pass, then one pass per round, candidates in alternating order.
// Client CPU per event, ratios paired by round, and peak RSS.
import { DECODE_CANDIDATES, type DecodeCandidate } from '../candidates.ts';
import { type Child, startChild, withChild } from '../processes.ts';
import { alternate, fmt, type Goal, median, progress, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const STATIC_SERVER = new URL('../children/static-server.ts', import.meta.url);
const DECODE_CLIENT = new URL('../children/decode-client.ts', import.meta.url);

interface Measured {
  ms: number;
  cpuMs: number;
  peakRssMiB: number;
  /** Median over rounds of CPU time relative to the raw baseline's, and to client-node's Watch. */
  vsRaw: number;
  vsWatch: number;
}

const RAW = 'raw undici + split + JSON.parse' satisfies DecodeCandidate;
const WATCH = 'client-node Watch' satisfies DecodeCandidate;

/** Runs the decode scenario. */
export async function decodeScenario(settings: Settings): Promise<ScenarioReport> {
  const events = settings.decodeEvents;
  return withChild(STATIC_SERVER, async (server) => {
    const { url, bytes } = await server.call<{ url: string; bytes: number }>('start', { events, pods: 0 });
    // Every candidate's process lives through the whole scenario (each its own heap, JIT and RSS), and
    // each round makes one pass of every candidate, in alternating order: a candidate is compared with
    // the baseline's pass of the same round, seconds apart, because the speed of the shared host's CPUs
    // drifts over seconds (passes made a minute apart differ by 20 % and more).
    const clients = new Map<DecodeCandidate, Child>();
    try {
      for (const candidate of DECODE_CANDIDATES) clients.set(candidate, await startChild(DECODE_CLIENT));
      const passOf = (candidate: DecodeCandidate) =>
        (clients.get(candidate) as Child).call<{ ms: number; cpuMs: number }>('pass', {
          candidate,
          url,
          events,
        });
      for (const candidate of DECODE_CANDIDATES) await passOf(candidate); // warm-up
      const rounds: Map<DecodeCandidate, { ms: number; cpuMs: number }>[] = [];
      for (let run = 0; run < settings.runs; run++) {
        const round = new Map<DecodeCandidate, { ms: number; cpuMs: number }>();
        for (const candidate of alternate(DECODE_CANDIDATES, run)) {
          const measured = await passOf(candidate);
          round.set(candidate, measured);
          progress(`decode, round ${run + 1}/${settings.runs}, ${candidate}: ${fmt(measured.cpuMs)} ms CPU`);
        }
        rounds.push(round);
      }
      const peakRss = new Map<DecodeCandidate, number>();
      for (const [candidate, client] of clients)
        peakRss.set(candidate, await client.call<number>('peakRssMiB'));
      /** The median over rounds of `candidate`'s CPU time relative to `baseline`'s in the same round. */
      const pairedRatio = (candidate: DecodeCandidate, baseline: DecodeCandidate) =>
        median(
          rounds.map(
            (round) =>
              (round.get(candidate) as { cpuMs: number }).cpuMs /
              (round.get(baseline) as { cpuMs: number }).cpuMs,
          ),
        );
      const summary = new Map(
        DECODE_CANDIDATES.map((name) => [
          name,
          {
            ms: median(rounds.map((round) => (round.get(name) as { ms: number }).ms)),
            cpuMs: median(rounds.map((round) => (round.get(name) as { cpuMs: number }).cpuMs)),
            peakRssMiB: peakRss.get(name) as number,
            vsRaw: pairedRatio(name, RAW),
            vsWatch: pairedRatio(name, WATCH),
          },
        ]),
      );
      const rows = [...summary].map(([name, entry]) => [
        name,
        fmt((entry.cpuMs * 1000) / events, 1),
        `${fmt(entry.vsRaw, 2)}×`,
        `${fmt(entry.vsWatch, 2)}×`,
        fmt(bytes / 1_048_576 / (entry.cpuMs / 1000), 0),
        fmt(events / (entry.ms / 1000), 0),
        fmt(entry.peakRssMiB, 0),
      ]);
      const lines = [
        `${fmt(events)} ADDED events of realistic pods, ${fmt(bytes / 1_048_576, 1)} MiB (~${fmt(bytes / events)} B/event), median of ${settings.runs} round(s) (one process per candidate, a warm-up pass, then one pass of each per round; ratios are to the baseline's pass of the same round)`,
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
          goal: `decode: ${name} CPU/event at parity with raw undici (≤ 1.10×, paired by round)`,
          measured: (summary.get(name) as Measured).vsRaw,
          unit: '×',
          target: 1.1,
        }),
      );
      return { title: 'Decode (static server)', lines, goals, figures: Object.fromEntries(summary) };
    } finally {
      for (const client of clients.values()) await client.stop();
    }
  });
}
