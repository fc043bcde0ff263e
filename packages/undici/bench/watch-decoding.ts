// Watch decoding benchmark (not a test): events/s and MB/s of a chunked watch over loopback from the
// fake API server, for this package's transport and for a naive baseline in the same run. The server
// runs in a child process (this file, with --serve), so the measuring process only decodes; its CPU time
// per event is reported too. Run with `pnpm --filter @podstorage/undici run bench` (builds first).
// Options: --events N --big-events N --runs N.
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { FakeCluster, serveFakeCluster } from '@podstorage/fake';
import { createUndiciTransport } from '../dist/index.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};

const EVENTS = argument('events', 50_000);
const BIG_EVENTS = argument('big-events', 200);
const RUNS = argument('runs', 3);

/** A pod as a busy cluster holds it: labels, annotations, two containers, full status. */
function realisticPod(index: number, padding = 0) {
  return {
    metadata: {
      name: `worker-${index.toString(36)}-${'x'.repeat(8)}`,
      labels: {
        app: 'batch-worker',
        'app.kubernetes.io/instance': `run-${index % 97}`,
        'app.kubernetes.io/managed-by': 'podstorage',
        'pod-template-hash': '7d9f8b6c5d',
        tier: index % 2 === 0 ? 'compute' : 'io',
      },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          spec: { image: 'registry.example/worker:1.24.3' },
        }),
        'prometheus.io/scrape': 'true',
        ...(padding > 0 ? { 'example.com/blob': 'b'.repeat(padding) } : {}),
      },
    },
    spec: {
      restartPolicy: 'Never' as const,
      nodeName: `node-${index % 50}`,
      containers: [
        {
          name: 'main',
          image: 'registry.example/worker:1.24.3',
          args: ['--queue', 'jobs', '--concurrency', '4', '--verbose'],
          env: [
            { name: 'QUEUE_URL', value: 'amqp://queue.example:5672/jobs' },
            { name: 'WORKER_INDEX', value: String(index) },
          ],
          resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
        {
          name: 'sidecar',
          image: 'registry.example/log-shipper:3.1',
          resources: { requests: { cpu: '50m' } },
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  };
}

interface Result {
  events: number;
  bytes: number;
  ms: number;
  /** CPU time of this (the client) process, user + system. */
  cpuMs: number;
}

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1000;
};

/** The baseline: node:http, string concatenation, indexOf from the start, JSON.parse per line. */
function naiveWatch(url: string, expected: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    let events = 0;
    let bytes = 0;
    const watch = request(
      new URL('/api/v1/namespaces/default/pods?watch=true', url),
      { agent: false },
      (response) => {
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          bytes += Buffer.byteLength(chunk);
          buffer += chunk;
          for (let index = buffer.indexOf('\n'); index !== -1; index = buffer.indexOf('\n')) {
            const line = buffer.slice(0, index);
            buffer = buffer.slice(index + 1);
            if (line.trim() !== '') {
              JSON.parse(line);
              events += 1;
            }
          }
        });
        response.on('end', () => {
          if (events !== expected) reject(new Error(`baseline saw ${events} events, expected ${expected}`));
          else resolve({ events, bytes, ms: performance.now() - started, cpuMs: cpuMs(cpu) });
        });
        response.on('error', reject);
      },
    );
    watch.on('error', reject);
    watch.end();
  });
}

async function undiciWatch(kubeconfig: string, expected: number, bytes: number): Promise<Result> {
  const transport = createUndiciTransport({ kubeconfig });
  const started = performance.now();
  const cpu = process.cpuUsage();
  let events = 0;
  const stream = await transport.watch('pods', 'default', { signal: new AbortController().signal });
  for await (const event of stream) if (event.type === 'ADDED') events += 1;
  const ms = performance.now() - started;
  const used = cpuMs(cpu);
  await transport.close();
  if (events !== expected) throw new Error(`undici transport saw ${events} events, expected ${expected}`);
  return { events, bytes, ms, cpuMs: used };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The fake API server with `count` pods, in a child process; `cut()` makes the next watch end after them. */
async function startServer(count: number, padding: number) {
  const child = fork(new URL(import.meta.url), ['--serve', String(count), String(padding)], {
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const ready = JSON.parse(String((await lines.next()).value)) as { url: string; kubeconfig: string };
  return {
    ...ready,
    async cut() {
      child.stdin?.write('cut\n');
      await lines.next();
    },
    close() {
      child.kill();
    },
  };
}

async function serve(count: number, padding: number): Promise<void> {
  const cluster = new FakeCluster({ mode: 'manual', historySize: count + 10 });
  for (let index = 0; index < count; index++) {
    const pod = cluster.createPod(realisticPod(index, padding));
    cluster.setPodPhase('default', pod.metadata?.name ?? '', 'Running');
  }
  const server = await serveFakeCluster(cluster);
  process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfig: server.kubeconfig })}\n`);
  for await (const _line of createInterface({ input: process.stdin })) {
    // Each watch ends cleanly after the current state (count synthetic ADDED events).
    cluster.faults.cutWatchesAfter(count, { upcoming: 1 });
    process.stdout.write('ok\n');
  }
  await server.close();
}

async function scenario(name: string, count: number, padding: number): Promise<void> {
  const server = await startServer(count, padding);
  try {
    const naive: Result[] = [];
    const undici: Result[] = [];
    for (let run = 0; run <= RUNS; run++) {
      await server.cut();
      const baseline = await naiveWatch(server.url, count);
      await server.cut();
      const candidate = await undiciWatch(server.kubeconfig, count, baseline.bytes);
      // Run 0 warms up the JIT and the server.
      if (run > 0) {
        naive.push(baseline);
        undici.push(candidate);
      }
    }
    const report = (label: string, results: Result[]) => {
      const ms = median(results.map((result) => result.ms));
      const cpu = median(results.map((result) => result.cpuMs));
      const first = results[0] as Result;
      const eventsPerSecond = first.events / (ms / 1000);
      const megabytesPerSecond = first.bytes / 1_048_576 / (ms / 1000);
      const eventsPerCpuSecond = first.events / (cpu / 1000);
      console.log(
        `  ${label.padEnd(36)} ${Math.round(eventsPerSecond).toLocaleString('en-US').padStart(9)} events/s ${megabytesPerSecond.toFixed(1).padStart(7)} MB/s | client CPU ${cpu.toFixed(0).padStart(5)} ms = ${Math.round(eventsPerCpuSecond).toLocaleString('en-US').padStart(9)} events/CPU-s ${(first.bytes / 1_048_576 / (cpu / 1000)).toFixed(1).padStart(6)} MB/CPU-s  (median of ${results.length})`,
      );
      return { ms, cpu };
    };
    const first = naive[0] as Result;
    console.log(
      `${name}: ${count.toLocaleString('en-US')} events, ${(first.bytes / 1_048_576).toFixed(1)} MB, ~${Math.round(first.bytes / count).toLocaleString('en-US')} bytes/event`,
    );
    const baseline = report('baseline (concat + JSON.parse/line)', naive);
    const ours = report('@podstorage/undici', undici);
    console.log(
      `  ratio vs baseline: ${(baseline.ms / ours.ms).toFixed(2)}x throughput (wall clock), ${(baseline.cpu / ours.cpu).toFixed(2)}x less client CPU\n`,
    );
  } finally {
    server.close();
  }
}

if (process.argv[2] === '--serve') {
  await serve(Number(process.argv[3]), Number(process.argv[4]));
} else {
  console.log(
    `node ${process.version}, ${RUNS} measured runs per candidate after a warm-up; server in a child process\n`,
  );
  await scenario('realistic pods', EVENTS, 0);
  await scenario('large pods (~1 MiB each)', BIG_EVENTS, 1_000_000);
}
