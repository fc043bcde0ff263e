import type { Logger } from '@podstorage/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, type BackendName } from './backend.js';
import { startSpawner } from './server.js';

interface Flags {
  backend: BackendName;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  port: number;
  host: string;
  image?: string;
  speed: number;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  }
  return port;
}

function parseSpeed(value: string): number {
  const speed = Number(value);
  if (!(speed > 0) || !Number.isFinite(speed)) throw new InvalidArgumentError('a speed is a number above 0.');
  return speed;
}

// One line per log entry on stderr, fields as key=value: readable in a terminal, greppable in a file.
const consoleLogger: Logger = {
  debug: () => {},
  info: (fields, message) => console.error(line(message, fields)),
  warn: (fields, message) => console.error(line(`warning: ${message ?? ''}`, fields)),
  error: (fields, message) => console.error(line(`error: ${message ?? ''}`, fields)),
};

function line(message: string | undefined, fields: object): string {
  const pairs = Object.entries(fields).map(
    ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return [`spawner: ${message ?? ''}`, ...pairs].join(' ');
}

// How long, after a signal, the spawner waits for the copy its package manager forwards.
const FORWARD_WAIT_MS = 3_000;

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('podstorage-spawner')
    .description('A web page that starts a pod and streams its progress, events and phase.')
    .addOption(new Option('--backend <name>', 'how to reach the cluster').choices(BACKENDS).default('fake'))
    .option('--kubeconfig <file>', 'kubeconfig for the undici and client-node backends')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option(
      '--namespace <name>',
      "namespace to start pods in and to list (default: the kubeconfig context's, else default)",
    )
    .option('--port <port>', 'port to listen on (0: a free one)', parsePort, 8000)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--image <image>', 'image of the pods it starts (default busybox:1.36)')
    .option(
      '--speed <factor>',
      'fake backend: how much faster than real time the cluster runs',
      parseSpeed,
      1,
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  // pnpm passes a literal `--` through to the script; it separates nothing here.
  const args = argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
  program.parse(args, { from: 'user' });
  const flags = program.opts<Flags>();

  const spawner = await startSpawner({
    backend: flags.backend,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    port: flags.port,
    host: flags.host,
    speed: flags.speed,
    logger: consoleLogger,
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.context === undefined ? {} : { context: flags.context }),
    ...(flags.image === undefined ? {} : { image: flags.image }),
  });
  // Ctrl-C reaches the whole foreground process group: this process, and the pnpm (or npm) that runs
  // it, which forwards the same SIGINT to its child a moment later (later still on a busy machine). A
  // copy that lands while Node is exiting kills it, and pnpm then reports "Command failed with signal
  // SIGINT"; one taken for a second Ctrl-C would exit 130. So under a package manager the first extra
  // signal is that copy, whenever it comes, and the spawner waits (a bounded while) for it before
  // exiting with 0. Only another one after it exits at once.
  let copies = process.env.npm_lifecycle_event === undefined ? 0 : 1;
  let stopping = false;
  let closed = false;
  const finish = () => {
    if (closed && copies === 0) process.exit(process.exitCode ?? 0);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (copies > 0) {
        copies--;
        finish();
        return;
      }
      console.error(`spawner: ${signal} again, exiting at once`);
      process.exit(130);
    }
    stopping = true;
    console.error(`spawner: ${signal}: closing streams and stopping`);
    setTimeout(() => {
      copies = 0;
      finish();
    }, FORWARD_WAIT_MS).unref();
    spawner
      .close()
      .then(
        () => {
          process.exitCode = 0;
        },
        (error: unknown) => {
          console.error(`spawner: error while stopping: ${error instanceof Error ? error.message : error}`);
          process.exitCode = 1;
        },
      )
      .finally(() => {
        closed = true;
        finish();
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(
    `podstorage spawner: open ${spawner.url} (backend ${spawner.backend}, namespace ${spawner.namespace})`,
  );
  console.log('Ctrl-C stops it.');
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed the problem (or the help): bad flags are bad input, exit code 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
    return;
  }
  console.error(`podstorage-spawner: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
