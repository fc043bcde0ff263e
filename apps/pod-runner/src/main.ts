import { readFileSync } from 'node:fs';
import { createPodStorage, type Pod, validateNamespace } from '@podstorage/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, type Backend, type BackendName, openBackend } from './backends.js';
import { messageOf, NamespaceNotFoundError, runBatch } from './batch.js';
import { demoPods, podsFromFlags } from './demo-pods.js';
import { parseDuration } from './duration.js';
import { type ManifestPod, readManifestSources } from './manifests.js';
import {
  jsonReporter,
  lineReporter,
  summaryRecord,
  summaryTable,
  type TerminalReporter,
  terminalReporter,
} from './reporters.js';

/**
 * Exit codes: every pod succeeded; the run worked but a pod did not succeed; bad input; and, as shells
 * report a process ended by a signal (128 + its number), the run stopped by SIGHUP (the terminal
 * closed), SIGINT (Ctrl-C), SIGPIPE (its output closed: `| head`) or SIGTERM, after cleaning up.
 */
const EXIT = {
  succeeded: 0,
  podFailed: 1,
  badInput: 2,
  SIGHUP: 129,
  SIGINT: 130,
  SIGPIPE: 141,
  SIGTERM: 143,
} as const;

/** Why a run stops early: a signal, or its output failed (counted as SIGPIPE, as `| head` does). */
type Interruption = 'SIGHUP' | 'SIGINT' | 'SIGTERM' | 'SIGPIPE';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface Flags {
  filename?: string[];
  namespace?: string;
  image?: string;
  count: number;
  command?: boolean;
  fake?: boolean;
  backend: BackendName;
  kubeconfig?: string;
  context?: string;
  timeout: number;
  json?: boolean;
  logs?: boolean;
  allowFailedPods?: boolean;
  speed: number;
}

/** Input that stops the run before anything is created: one line, exit code 2. */
class BadInput extends Error {}

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError(`"${value}" is not a whole number of 1 or more`);
  return number;
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!(number > 0)) throw new InvalidArgumentError(`"${value}" is not a number above 0`);
  return number;
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError(messageOf(error));
  }
}

function program(): Command {
  return new Command('podstorage-run')
    .usage('[options] (-f FILE | --image IMAGE [--command] [-- ARGS...] | --fake)')
    .description(
      'Run pods to completion: create them, stream their events, follow their phases, delete them when ' +
        'done. Pods run on the current kubeconfig context, as with kubectl; --fake runs them on an ' +
        'embedded fake cluster instead (with nothing else given, a demo batch).',
    )
    .version(`podstorage-run ${VERSION}`, '--version', 'print the version and exit')
    .option(
      '-f, --filename <file>',
      'YAML or JSON manifests of Pods: a file, a directory, or - for standard input (repeatable; a,b)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      '-n, --namespace <namespace>',
      'namespace of the pods (default: the context namespace, else default)',
    )
    .option('--image <image>', 'run pods of this image instead of manifests')
    .option('--count <count>', 'with --image: how many pods', positiveInteger, 1)
    .option(
      '--command',
      "with --image: the words after -- are the container's command, not its args (as kubectl run)",
    )
    .option('--fake', 'run on an embedded fake cluster instead of the kubeconfig context')
    .addOption(
      new Option('--backend <backend>', 'the client for the kubeconfig context, or fake (same as --fake)')
        .choices(BACKENDS)
        .default('undici'),
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, else ~/.kube/config)')
    .option('--context <context>', 'kubeconfig context (default: its current-context)')
    .addOption(
      new Option('--timeout <duration>', 'per pod, from creation to deletion (90s, 10m, 1h30m)')
        .argParser(duration)
        .default(600_000, '10m'),
    )
    .option('--json', 'one JSON object per line instead of the live view')
    .option(
      '--logs',
      "stream every container's output while it runs, prefixed [pod/NAME/CONTAINER] (as kubectl logs -f --all-containers --prefix)",
    )
    .option('--allow-failed-pods', 'exit 0 when every pod ran to its end, even if some failed (for demos)')
    .option(
      '--speed <factor>',
      'with --fake: how many times faster than real time the fake cluster runs',
      positiveNumber,
      6,
    )
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Parses the command line; what follows `--` is the container's args (or command), as in kubectl run. */
function parseFlags(argv: string[]): { flags: Flags; words: string[] | undefined } | number {
  const command = program();
  const dash = argv.indexOf('--', 2);
  const words = dash === -1 ? undefined : argv.slice(dash + 1);
  try {
    command.parse(dash === -1 ? argv : argv.slice(0, dash));
  } catch (error) {
    if (
      error instanceof CommanderError &&
      (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
    ) {
      return EXIT.succeeded;
    }
    if (error instanceof CommanderError && error.code === 'commander.help') {
      process.stdout.write(command.helpInformation());
      return EXIT.succeeded;
    }
    throw new BadInput(messageOf(error).replace(/^error: /, ''));
  }
  const [extra] = command.args;
  if (extra !== undefined) {
    throw new BadInput(
      `unexpected argument "${extra}": manifests go after -f (as in kubectl), a command after -- (with --image)`,
    );
  }
  const flags = command.opts<Flags>();
  if (flags.fake) {
    if (command.getOptionValueSource('backend') === 'cli' && flags.backend !== 'fake') {
      throw new BadInput(`--fake and --backend ${flags.backend} contradict each other: give one`);
    }
    flags.backend = 'fake';
  }
  if (flags.backend !== 'fake') {
    if (command.getOptionValueSource('speed') === 'cli')
      throw new BadInput('--speed goes with --fake: a real cluster runs at its own pace');
  } else if (flags.kubeconfig !== undefined || flags.context !== undefined) {
    throw new BadInput('--kubeconfig and --context go with a real cluster, not --fake');
  }
  return { flags, words };
}

/** The pods to run, from -f, --image or (on the fake) the demo batch; every check before any request. */
async function podsToRun(flags: Flags, words: string[] | undefined): Promise<Pod[]> {
  const manifests = flags.filename !== undefined;
  if (flags.image !== undefined && manifests) throw new BadInput('give either -f or --image, not both');
  if (flags.image === undefined) {
    if (flags.count !== 1 || flags.command || words !== undefined) {
      throw new BadInput('--count, --command and -- ARGS go with --image');
    }
  } else if (flags.command && (words === undefined || words.length === 0)) {
    throw new BadInput('--command needs the command after --, as in: --image busybox --command -- sleep 5');
  }
  if (flags.image !== undefined)
    return podsFromFlags(flags.image, flags.count, words, flags.command === true);
  if (manifests) {
    const pods: ManifestPod[] = await readManifestSources(flags.filename ?? []);
    return pods.map(({ pod }) => pod);
  }
  if (flags.backend !== 'fake') {
    throw new BadInput(
      'nothing to run: give -f FILE or --image IMAGE (or --fake for a demo batch on an embedded fake cluster)',
    );
  }
  return demoPods();
}

/** The namespace of the run: -n, else the one every pod names, else the context's, else `default`. */
function namespaceOf(pods: Pod[], flag: string | undefined, contextNamespace: string | undefined): string {
  const own = [...new Set(pods.map((pod) => pod.metadata?.namespace).filter((ns) => ns !== undefined))];
  const namespace = flag ?? (own.length === 1 ? own[0] : undefined) ?? contextNamespace ?? 'default';
  try {
    validateNamespace(namespace);
  } catch (error) {
    throw new BadInput(messageOf(error));
  }
  for (const pod of pods) {
    const theirs = pod.metadata?.namespace;
    if (theirs !== undefined && theirs !== namespace) {
      throw new BadInput(
        `pod ${pod.metadata?.name ?? pod.metadata?.generateName} is in namespace ${theirs}, but the run is in ${namespace}` +
          (flag === undefined
            ? ' (the pods name different namespaces: run them apart)'
            : ` (use -n ${theirs})`),
      );
    }
  }
  return namespace;
}

/**
 * Output that fails (a closed pipe, EPIPE; a closed terminal, EIO) stops the run as Ctrl-C does: no
 * stack trace, no more writes to the dead stream, the pods deleted.
 */
function watchOutput(onFailure: (stream: 'stdout' | 'stderr', error: Error) => void) {
  const failed = { stdout: false, stderr: false };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (error: Error) => {
      if (failed[name]) return;
      failed[name] = true;
      onFailure(name, error);
    });
  }
  return {
    failed,
    out: (text: string) => {
      if (!failed.stdout) process.stdout.write(text);
    },
    err: (text: string) => {
      if (!failed.stderr) process.stderr.write(text);
    },
  };
}

// Until a run is under way, a failed output has nothing to clean up: the exit code tells.
let onOutputFailure = (_stream: 'stdout' | 'stderr', _error: Error): void => {
  process.exitCode = EXIT.SIGPIPE;
};
const output = watchOutput((stream, error) => onOutputFailure(stream, error));

async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv);
  if (typeof parsed === 'number') return parsed;
  const { flags, words } = parsed;
  const pods = await podsToRun(flags, words);
  if (flags.namespace !== undefined) namespaceOf(pods, flags.namespace, undefined);

  let backend: Backend;
  try {
    backend = await openBackend({
      backend: flags.backend,
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      speed: flags.speed,
      namespace: namespaceOf(pods, flags.namespace, undefined),
    });
  } catch (error) {
    throw new BadInput(
      flags.backend === 'fake'
        ? `cannot start the embedded fake cluster: ${messageOf(error)}`
        : `cannot use the kubeconfig (${flags.backend}): ${messageOf(error)}; to run on an embedded fake cluster instead, add --fake`,
    );
  }
  const storage = createPodStorage(backend.transport, { clock: backend.clock });
  let interruption: Interruption | undefined;
  const interrupt = new AbortController();
  let stopLive: (() => void) | undefined;
  const stop = (why: Interruption, note: (message: string) => void) => {
    if (interruption !== undefined) {
      // The other stream failing too (`2>&1 | head`) changes nothing: the clean-up goes on.
      if (why === 'SIGPIPE') return;
      // A second Ctrl-C (or other signal) quits at once, leaving the clean-up undone.
      stopLive?.();
      process.exit(EXIT[why]);
    }
    interruption = why;
    note(
      `${why === 'SIGPIPE' ? 'Output closed' : `Interrupted (${why})`}: cancelling, then deleting the pods this run created` +
        (why === 'SIGINT' ? ' (press Ctrl-C again to quit at once)' : ''),
    );
    interrupt.abort(new Error(why === 'SIGPIPE' ? 'output closed' : `interrupted (${why})`));
  };
  let reporterNote: (message: string) => void = () => {};
  // Notes go to stderr once stdout is gone, so `| head` still hears what was cleaned up.
  const note = (message: string) =>
    output.failed.stdout ? output.err(`podstorage-run: ${message}\n`) : reporterNote(message);
  onOutputFailure = (stream, error) => {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    stop('SIGPIPE', (message) => note(`${stream} failed (${code}). ${message}`));
  };
  const onSignal = (signal: Interruption) => stop(signal, note);
  try {
    const namespace = namespaceOf(pods, flags.namespace, backend.defaultNamespace);
    // Reach the cluster once before creating anything, so an unreachable one is bad input, not a half-done run.
    try {
      await backend.transport.list('pods', namespace, { limit: 1, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new BadInput(`cannot reach ${backend.description}: ${messageOf(error)}`);
    }

    const startedAt = backend.clock.now();
    const elapsed = () => backend.clock.now() - startedAt;
    const write = (line: string) => output.out(`${line}\n`);
    const nameWidth = Math.min(
      40,
      Math.max(
        10,
        ...pods.map((pod) => pod.metadata?.name?.length ?? `${pod.metadata?.generateName}xxxxx`.length),
      ),
    );
    const live = !flags.json && process.stdout.isTTY === true;
    let terminal: TerminalReporter | undefined;
    if (live) {
      terminal = terminalReporter(process.stdout, elapsed, { nameWidth });
      stopLive = () => terminal?.stop();
    }
    const chosen =
      terminal ?? (flags.json ? jsonReporter(write, elapsed) : lineReporter(write, elapsed, { nameWidth }));
    reporterNote = (message) => chosen.note(message);
    const reporter = { ...chosen, note };
    const count = `${pods.length} pod${pods.length === 1 ? '' : 's'}`;
    if (flags.json) {
      write(JSON.stringify({ type: 'start', pods: pods.length, namespace, ...backend.where }));
    } else write(`Running ${count} in namespace ${namespace} on ${backend.description}\n`);

    for (const signal of SIGNALS) process.on(signal, onSignal);
    let outcomes: Awaited<ReturnType<typeof runBatch>>;
    try {
      outcomes = await runBatch(
        {
          storage,
          transport: backend.transport,
          namespace,
          clock: backend.clock,
          reporter,
          timeoutMs: flags.timeout,
          signal: interrupt.signal,
          logs: flags.logs === true,
        },
        pods,
      );
    } catch (error) {
      if (error instanceof NamespaceNotFoundError) {
        throw new BadInput(
          `namespace ${namespace} does not exist on ${backend.description}: nothing was created (create it, or pick another with -n)`,
        );
      }
      throw error;
    } finally {
      terminal?.stop();
      for (const signal of SIGNALS) process.off(signal, onSignal);
    }
    const succeeded = outcomes.every(
      (outcome) => outcome.error === undefined && outcome.phase === 'Succeeded',
    );
    if (flags.json) write(JSON.stringify({ type: 'summary', succeeded, pods: outcomes.map(summaryRecord) }));
    else write(`\n${summaryTable(outcomes)}\n`);
    if (interruption !== undefined) return EXIT[interruption];
    const ranToTheEnd = outcomes.every((outcome) => outcome.error === undefined);
    return succeeded || (flags.allowFailedPods && ranToTheEnd) ? EXIT.succeeded : EXIT.podFailed;
  } finally {
    await storage.close();
    await backend.close();
  }
}

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // stderr may be the stream that failed: then the exit code alone tells.
    output.err(`podstorage-run: ${messageOf(error)}\n`);
    process.exitCode =
      error instanceof BadInput || (error as Error).name === 'ManifestError' ? EXIT.badInput : 1;
  },
);
