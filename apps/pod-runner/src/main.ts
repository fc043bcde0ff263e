import { createPodStorage, type Pod, validateNamespace } from '@podstorage/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, type Backend, type BackendName, openBackend } from './backends.js';
import { messageOf, runBatch } from './batch.js';
import { demoPods, podsFromFlags } from './demo-pods.js';
import { parseDuration } from './duration.js';
import { readPodManifests } from './manifests.js';
import { jsonReporter, lineReporter, summaryRecord, summaryTable, terminalReporter } from './reporters.js';

/** Exit codes: every pod succeeded; the run worked but a pod did not succeed; bad input; Ctrl-C. */
const EXIT = { succeeded: 0, podFailed: 1, badInput: 2, interrupted: 130 } as const;

interface Flags {
  namespace?: string;
  image?: string;
  count: number;
  command?: string;
  backend: BackendName;
  kubeconfig?: string;
  context?: string;
  timeout: number;
  json?: boolean;
  allowFailedPods?: boolean;
  speed: number;
}

/** Input that stops the run before anything is created: one line, exit code 2. */
class BadInput extends Error {}

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
    .description(
      'Run pods to completion: create them, stream their events, follow their phases, delete them when done.\n' +
        'With no arguments, runs a demo batch on the embedded fake cluster.',
    )
    .argument('[manifests...]', 'YAML or JSON files with one or more Pods')
    .option(
      '-n, --namespace <namespace>',
      'namespace of the pods (default: the context namespace, else default)',
    )
    .option('--image <image>', 'run pods of this image instead of manifests')
    .option('--count <count>', 'with --image: how many pods', positiveInteger, 1)
    .option('--command <command>', 'with --image: the command, run with sh -c')
    .addOption(new Option('--backend <backend>', 'where to run the pods').choices(BACKENDS).default('fake'))
    .option(
      '--kubeconfig <file>',
      'kubeconfig for undici and client-node (default: KUBECONFIG, ~/.kube/config)',
    )
    .option('--context <context>', 'kubeconfig context')
    .addOption(
      new Option('--timeout <duration>', 'per pod, from creation to deletion (90s, 10m, 1h)')
        .argParser(duration)
        .default(600_000, '10m'),
    )
    .option('--json', 'one JSON object per line instead of the live view')
    .option('--allow-failed-pods', 'exit 0 when every pod ran to its end, even if some failed (for demos)')
    .option(
      '--speed <factor>',
      'fake backend: how many times faster than real time the cluster runs',
      positiveNumber,
      6,
    )
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

async function podsToRun(manifests: string[], flags: Flags): Promise<Pod[]> {
  if (flags.image !== undefined && manifests.length > 0)
    throw new BadInput('give either manifests or --image, not both');
  if (flags.image === undefined && (flags.command !== undefined || flags.count !== 1)) {
    throw new BadInput('--count and --command go with --image');
  }
  if (flags.image !== undefined) return podsFromFlags(flags.image, flags.count, flags.command);
  if (manifests.length > 0) {
    const files = await Promise.all(manifests.map(readPodManifests));
    return files.flat();
  }
  if (flags.backend !== 'fake')
    throw new BadInput(`nothing to run on ${flags.backend}: give manifests or --image`);
  return demoPods();
}

function checkNamespaces(pods: Pod[], namespace: string): void {
  try {
    validateNamespace(namespace);
  } catch (error) {
    throw new BadInput(messageOf(error));
  }
  for (const pod of pods) {
    const own = pod.metadata?.namespace;
    if (own !== undefined && own !== namespace) {
      throw new BadInput(
        `pod ${pod.metadata?.name} is in namespace ${own}, but the run is in ${namespace} (use -n ${own})`,
      );
    }
  }
}

async function run(argv: string[]): Promise<number> {
  const command = program();
  try {
    command.parse(argv);
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
  const flags = command.opts<Flags>();
  const pods = await podsToRun(command.args, flags);
  if (flags.namespace !== undefined) checkNamespaces(pods, flags.namespace);

  let backend: Backend;
  try {
    backend = await openBackend({
      backend: flags.backend,
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      speed: flags.speed,
      namespace: flags.namespace ?? 'default',
    });
  } catch (error) {
    throw new BadInput(`cannot use the ${flags.backend} backend: ${messageOf(error)}`);
  }
  const namespace = flags.namespace ?? backend.defaultNamespace ?? 'default';
  const storage = createPodStorage(backend.transport, { clock: backend.clock });
  try {
    checkNamespaces(pods, namespace);
    // Reach the cluster once before creating anything, so an unreachable one is bad input, not a half-done run.
    try {
      await backend.transport.list('pods', namespace, { limit: 1, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new BadInput(`cannot reach ${backend.description}: ${messageOf(error)}`);
    }

    const startedAt = backend.clock.now();
    const elapsed = () => backend.clock.now() - startedAt;
    const write = (line: string) => process.stdout.write(`${line}\n`);
    const live = !flags.json && process.stdout.isTTY === true;
    const terminal = live ? terminalReporter(process.stdout) : undefined;
    const reporter = terminal ?? (flags.json ? jsonReporter(write, elapsed) : lineReporter(write, elapsed));
    if (!flags.json)
      write(
        `Running ${pods.length} pod${pods.length === 1 ? '' : 's'} in ${namespace} on ${backend.description}\n`,
      );

    const interrupt = new AbortController();
    const onSignal = () => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
      reporter.note(
        'Interrupted: cancelling, then deleting the pods this run created (press Ctrl-C again to quit at once)',
      );
      interrupt.abort(new Error('interrupted'));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
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
        },
        pods,
      );
    } finally {
      terminal?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const succeeded = outcomes.every(
      (outcome) => outcome.error === undefined && outcome.phase === 'Succeeded',
    );
    if (flags.json) write(JSON.stringify({ type: 'summary', succeeded, pods: outcomes.map(summaryRecord) }));
    else write(`\n${summaryTable(outcomes)}\n`);
    if (interrupt.signal.aborted) return EXIT.interrupted;
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
    process.stderr.write(`podstorage-run: ${messageOf(error)}\n`);
    process.exitCode =
      error instanceof BadInput || (error as Error).name === 'ManifestError' ? EXIT.badInput : 1;
  },
);
