// One decode candidate in its own process: reads the static server's watch stream once per `pass` call
// and reports the wall time and this process's CPU time of it; `peakRssMiB` reports the process's.
// @kubernetes/client-node is imported only by the candidates that use it, so it weighs on their RSS only.
import type { PodTransport } from '@podstorage/core';
import { createUndiciTransport } from '@podstorage/undici';
import { request } from 'undici';
import type { DecodeCandidate } from '../candidates.ts';
import { kubeconfigFor } from '../pods.ts';
import { collectGarbage, cpuMs, peakRssMiB, serveCalls } from '../processes.ts';

const PATH = '/api/v1/namespaces/default/pods';

/**
 * The baseline a careful user writes: undici's streamed body, newline search in each new chunk only
 * (the partial line is kept as a list of chunks, joined once when its end arrives), one JSON.parse per
 * line. Each line is decoded once; nothing is re-sliced or re-scanned.
 */
async function rawUndici(url: string): Promise<number> {
  const { body, statusCode } = await request(`${url}${PATH}?watch=true`);
  if (statusCode !== 200) throw new Error(`raw undici watch answered ${statusCode}`);
  let events = 0;
  let partial: Buffer[] = [];
  const parse = (line: Buffer) => {
    if (line.length === 0) return;
    const event = JSON.parse(line.toString('utf8')) as { type: string };
    if (event.type === 'ADDED') events += 1;
  };
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      if (partial.length > 0) {
        partial.push(chunk.subarray(start, end));
        parse(Buffer.concat(partial));
        partial = [];
      } else {
        parse(chunk.subarray(start, end));
      }
      start = end + 1;
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
  }
  return events;
}

/** client-node's Watch, as its README shows, counting ADDED events until the stream ends. */
async function clientNodeWatch(url: string): Promise<number> {
  const { KubeConfig, Watch } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfigFor(url));
  let events = 0;
  await new Promise<void>((resolve, reject) => {
    new Watch(kubeConfig)
      .watch(
        PATH,
        {},
        (type) => {
          if (type === 'ADDED') events += 1;
        },
        (error: unknown) => (error ? reject(error) : resolve()),
      )
      .catch(reject);
  });
  return events;
}

async function transportWatch(transport: PodTransport): Promise<number> {
  let events = 0;
  const controller = new AbortController();
  try {
    const stream = await transport.watch('pods', 'default', { signal: controller.signal });
    for await (const event of stream) if (event.type === 'ADDED') events += 1;
  } finally {
    controller.abort();
  }
  return events;
}

async function transportFor(
  candidate: DecodeCandidate,
  url: string,
): Promise<PodTransport & { close(): Promise<void> }> {
  const kubeconfig = kubeconfigFor(url);
  if (candidate === 'podstorage undici HTTP') return createUndiciTransport({ kubeconfig });
  if (candidate === 'podstorage undici WebSocket')
    return createUndiciTransport({ kubeconfig, watch: 'websocket' });
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { createClientNodeTransport } = await import('@podstorage/client-node');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfig);
  return createClientNodeTransport({ kubeConfig });
}

/** One pass of `candidate` over the stream: how many ADDED events it decoded. */
async function pass(candidate: DecodeCandidate, url: string): Promise<number> {
  if (candidate === 'raw undici + split + JSON.parse') return rawUndici(url);
  if (candidate === 'client-node Watch') return clientNodeWatch(url);
  const transport = await transportFor(candidate, url);
  try {
    return await transportWatch(transport);
  } finally {
    await transport.close();
  }
}

serveCalls({
  /** One pass over the stream: its wall time and this process's CPU time. */
  pass: async (options: { candidate: DecodeCandidate; url: string; events: number }) => {
    // Every pass starts from a collected heap: what the collector does during a pass then depends on
    // the pass, not on where the previous one left the heap (a full collection in one pass and none in
    // the next moved a candidate by 30 %).
    collectGarbage('the decode client', 1);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const events = await pass(options.candidate, options.url);
    const measured = { ms: performance.now() - started, cpuMs: cpuMs(cpu) };
    if (events !== options.events) {
      throw new Error(`${options.candidate} decoded ${events} events, expected ${options.events}`);
    }
    return measured;
  },
  peakRssMiB: () => peakRssMiB(),
});
