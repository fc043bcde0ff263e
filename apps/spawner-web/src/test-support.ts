// Helpers for the spawner's tests: a small server-sent events client over fetch.
import type { FakeCluster } from '@podstorage/fake';
import { vi } from 'vitest';

/** One event as received: its id, name and parsed JSON data. */
export interface ReceivedEvent {
  readonly id: string | undefined;
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: test data is inspected field by field.
  readonly data: any;
}

/** An open event stream, collecting what arrives. */
export interface StreamClient {
  readonly status: number;
  readonly headers: Headers;
  /** Every event received so far, in order. */
  readonly events: ReceivedEvent[];
  /** Every comment line received so far (heartbeats), without the leading colon. */
  readonly comments: string[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** True once the server has ended the stream. */
  isEnded(): boolean;
  /** The events of one name. */
  named(event: string): ReceivedEvent[];
  /** Disconnects, as a browser closing the tab. */
  close(): void;
}

/**
 * Opens an event stream at `url` and collects its events until the server ends it or `close()`.
 * `lastEventId` sends `Last-Event-ID`, as a reconnecting EventSource does.
 */
export async function openStream(url: string, options: { lastEventId?: string } = {}): Promise<StreamClient> {
  const controller = new AbortController();
  const response = await fetch(url, {
    signal: controller.signal,
    headers: {
      Accept: 'text/event-stream',
      ...(options.lastEventId === undefined ? {} : { 'Last-Event-ID': options.lastEventId }),
    },
  });
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  const reading = (async () => {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          parseBlock(block, events, comments);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      ended = true;
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    ended: reading,
    isEnded: () => ended,
    named: (name) => events.filter((event) => event.event === name),
    close: () => controller.abort(),
  };
}

function parseBlock(block: string, events: ReceivedEvent[], comments: string[]): void {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  let any = false;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') {
      data.push(value);
      any = true;
    }
  }
  if (any) events.push({ id, event, data: JSON.parse(data.join('\n')) });
}

/**
 * Retries `check` until it passes. Real sockets carry these streams, and a busy machine (CI runs every
 * package at once on two cores) can take longer than vitest's default second: the bound is generous,
 * and a passing check returns as soon as it passes.
 */
export function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, interval: 10 });
}

/**
 * Gives the cluster's transport a `readPodLog` that answers the given chunks, as the kubelet does with
 * `timestamps=true`, in chunks that need not end at line ends (the fake's own logs come in whole
 * lines): for tests of how the page splits and stamps lines. Returns the options each read was asked with.
 */
export function withPodLogs(cluster: FakeCluster, chunks: readonly string[]): object[] {
  const transport = cluster.transport();
  const asked: object[] = [];
  cluster.transport = () => ({
    list: transport.list.bind(transport),
    get: transport.get.bind(transport),
    watch: transport.watch.bind(transport),
    delete: transport.delete.bind(transport),
    create: transport.create.bind(transport),
    openHandles: transport.openHandles.bind(transport),
    close: transport.close.bind(transport),
    [Symbol.asyncDispose]: transport[Symbol.asyncDispose].bind(transport),
    readPodLog: async (_namespace: string, _name: string, options: object) => {
      asked.push(options);
      return (async function* () {
        yield* chunks;
      })();
    },
  });
  return asked;
}
