// Decode: each candidate in its own process reads the same pre-rendered watch stream from the static
// server (its own process): a warm-up pass, then rounds in which each candidate's pass follows one of
// the raw baseline. Client CPU per event, the ratio to raw of each pair, and peak RSS.
import { DECODE_CANDIDATES, type DecodeCandidate } from '../candidates.ts';
import { type Child, startChild, withChild } from '../processes.ts';
import { alternate, fmt, type Goal, median, progress, ratio, type ScenarioReport, table } from '../report.ts';
import type { Settings } from '../settings.ts';

const STATIC_SERVER = new URL('../children/static-server.ts', import.meta.url);
const DECODE_CLIENT = new URL('../children/decode-client.ts', import.meta.url);

interface Measured {
  ms: number;
  cpuMs: number;
  peakRssMiB: number;
  /** Median over its pairs of CPU time relative to the raw baseline's pass just before. */
  vsRaw: number;
}

const RAW = 'raw undici + split + JSON.parse' satisfies DecodeCandidate;
const WATCH = 'client-node Watch' satisfies DecodeCandidate;

/** Runs the decode scenario. */
export async function decodeScenario(settings: Settings): Promise<ScenarioReport> {
  const events = settings.decodeEvents;
  return withChild(STATIC_SERVER, async (server) => {
    const { url, bytes } = await server.call<{ url: string; bytes: number }>('start', { events, pods: 0 });
    // Every candidate's process lives through the whole scenario (each its own heap, JIT and RSS), and
    // a candidate is compared with the baseline's pass made just before its own, because the speed of
    // the shared host's CPUs drifts over seconds (passes made a minute apart differ by 20 % and more).
    const clients = new Map<DecodeCandidate, Child>();
    try {
      for (const candidate of DECODE_CANDIDATES)
        clients.set(candidate, await startChild(DECODE_CLIENT, { execArgv: ['--expose-gc'] }));
      const passOf = (candidate: DecodeCandidate) =>
        (clients.get(candidate) as Child).call<{ ms: number; cpuMs: number }>('pass', {
          candidate,
          url,
          events,
        });
      for (const candidate of DECODE_CANDIDATES) await passOf(candidate); // warm-up
      // Each candidate's pass next to a pass of the baseline: a pair is two seconds apart.
      const passes = new Map<DecodeCandidate, { ms: number; cpuMs: number }[]>(
        DECODE_CANDIDATES.map((name) => [name, []]),
      );
      const vsRaw = new Map<DecodeCandidate, number[]>(DECODE_CANDIDATES.map((name) => [name, []]));
      const others = DECODE_CANDIDATES.filter((name) => name !== RAW);
      for (let round = 0; round < settings.decodeRounds; round++) {
        for (const candidate of alternate(others, round)) {
          // Which of the two goes first alternates too, so that neither gains from its place.
          let baseline: { ms: number; cpuMs: number };
          let measured: { ms: number; cpuMs: number };
          if (round % 2 === 0) {
            baseline = await passOf(RAW);
            measured = await passOf(candidate);
          } else {
            measured = await passOf(candidate);
            baseline = await passOf(RAW);
          }
          passes.get(RAW)?.push(baseline);
          passes.get(candidate)?.push(measured);
          vsRaw.get(candidate)?.push(measured.cpuMs / baseline.cpuMs);
          progress(
            `decode, round ${round + 1}/${settings.decodeRounds}, ${candidate}: ${fmt(measured.cpuMs)} ms CPU (raw: ${fmt(baseline.cpuMs)})`,
          );
        }
      }
      const peakRss = new Map<DecodeCandidate, number>();
      for (const [candidate, client] of clients)
        peakRss.set(candidate, await client.call<number>('peakRssMiB'));
      const summary = new Map(
        DECODE_CANDIDATES.map((name) => {
          const list = passes.get(name) ?? [];
          return [
            name,
            {
              ms: median(list.map((entry) => entry.ms)),
              cpuMs: median(list.map((entry) => entry.cpuMs)),
              peakRssMiB: peakRss.get(name) as number,
              vsRaw: name === RAW ? 1 : median(vsRaw.get(name) ?? []),
            },
          ];
        }),
      );
      const watch = summary.get(WATCH) as Measured;
      const rows = [...summary].map(([name, entry]) => [
        name,
        fmt((entry.cpuMs * 1000) / events, 1),
        `${fmt(entry.vsRaw, 2)}×`,
        ratio(entry.cpuMs, watch.cpuMs),
        fmt(bytes / 1_048_576 / (entry.cpuMs / 1000), 0),
        fmt(events / (entry.ms / 1000), 0),
        fmt(entry.peakRssMiB, 0),
      ]);
      const lines = [
        `${fmt(events)} ADDED events of realistic pods, ${fmt(bytes / 1_048_576, 1)} MiB (~${fmt(bytes / events)} B/event), ${settings.decodeRounds} round(s) (one process per candidate, a warm-up pass, then per round each candidate's pass next to one of the raw baseline; vs raw: the median of those pairs; the rest: medians)`,
        ...table(
          [
            'candidate',
            'client CPU µs/event',
            'CPU vs raw (paired)',
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
          goal: `decode: ${name} CPU/event at parity with raw undici (≤ 1.10×, paired)`,
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
