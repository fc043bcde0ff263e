#!/usr/bin/env node
// podstorage-fake-cluster: serves an in-memory FakeCluster as a Kubernetes API server for kubectl and clients.
import '@podstorage/core/supported-node';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from '@podstorage/core';
import { FakeClock } from './fake-clock.js';
import { FakeCluster } from './fake-cluster.js';
import { serveFakeCluster } from './server/serve.js';

const USAGE = `Usage: podstorage-fake-cluster [options]

Serves an in-memory Kubernetes cluster (namespaces, pods, core/v1 events) for kubectl and client
libraries. A simulated scheduler and kubelet move pods Pending -> Running -> Succeeded in real time.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on (default 0: a free port)
  --tls                    serve HTTPS with a freshly generated CA (put in the kubeconfig)
  --token TOKEN            require "Authorization: Bearer TOKEN" (401 otherwise)
  --write-kubeconfig FILE  write a kubeconfig for this server to FILE
  --manual                 no simulated kubelet: pods keep the phase clients give them
  --history N              changes kept before resourceVersions expire with 410 (default 1000)
  --verbose                log every request to stderr (JSON lines)
  -h, --help               show this help
`;

function stderrLogger(verbose: boolean): Logger {
  const write = (level: string) => (fields: object, message?: string) => {
    process.stderr.write(
      `${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })}\n`,
    );
  };
  const ignore = () => {};
  return {
    debug: verbose ? write('debug') : ignore,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

function fail(message: string): never {
  process.stderr.write(`podstorage-fake-cluster: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min)
    fail(`--${name} must be an integer >= ${min}, got "${value}"`);
  return Number(value);
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = integer(values.port, 'port', 0);
  if (port !== undefined && port > 65_535) fail(`--port must be at most 65535, got ${port}`);
  const historySize = integer(values.history, 'history', 1);
  const logger = stderrLogger(values.verbose ?? false);

  // Wall-clock timestamps that look like now, and a clock that follows real time so pods progress.
  const clock = new FakeClock({ start: new Date() });
  const cluster = new FakeCluster({
    clock,
    mode: values.manual ? 'manual' : 'simulated',
    ...(historySize === undefined ? {} : { historySize }),
    logger,
  });
  const stopClock = clock.followRealTime();
  const server = await serveFakeCluster(cluster, {
    host: values.host ?? '127.0.0.1',
    port: port ?? 0,
    tls: values.tls ?? false,
    ...(values.token === undefined ? {} : { token: values.token }),
    logger,
  });
  if (values['write-kubeconfig'] !== undefined) {
    writeFileSync(values['write-kubeconfig'], server.kubeconfig, { mode: 0o600 });
  }
  process.stdout.write(`podstorage fake cluster listening on ${server.url}\n`);
  if (values['write-kubeconfig'] !== undefined) {
    process.stdout.write(
      `kubeconfig written to ${values['write-kubeconfig']}: kubectl --kubeconfig ${values['write-kubeconfig']} get pods\n`,
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.debug({ signal }, 'fake cluster: shutting down');
    await server.close();
    await stopClock();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function parse() {
  // `pnpm fake-cluster -- --flag` hands the separator on to the script: skip it.
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();
  return parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      tls: { type: 'boolean' },
      token: { type: 'string' },
      'write-kubeconfig': { type: 'string' },
      manual: { type: 'boolean' },
      history: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`podstorage-fake-cluster: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
