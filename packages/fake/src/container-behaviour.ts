import type { Pod } from '@podstorage/core';

/**
 * What one simulated container does, as a test scripts it (per pod, or per container under
 * {@link LifecycleScript.containers}). Every duration is on the cluster's clock. A field left out comes
 * from the container's command (see {@link behaviourFromCommand}), else from the defaults: a server that
 * runs until it is stopped, exits 0 on SIGTERM within a second, and prints what it does.
 */
export interface ContainerScript {
  /** Time each image pull takes (Pulling … Pulled). Default 1000. */
  readonly pullMs?: number;
  /** Pulls fail (ErrImagePull, then ImagePullBackOff with growing back-off): `true` forever, or `times` times. */
  readonly imagePullError?: boolean | { readonly times: number };
  /** Time from Started to the container's own exit. Default: from the command, else it runs until stopped. */
  readonly runMs?: number;
  /** The exit code of the container's own exit. Default: from the command, else 0. */
  readonly exitCode?: number;
  /** The first this many runs crash (exit 1, or `exitCode` if non-zero) before the runs behave as scripted. */
  readonly restarts?: number;
  /** Lines the container prints to stdout, spread evenly over its run (at its start for a server). */
  readonly output?: readonly string[];
  /** The run ends with the kernel's OOM kill: exit 137, reason `OOMKilled`. */
  readonly oomKilled?: boolean;
  /** SIGTERM is ignored: the kubelet kills the container at the grace period's end (exit 137). */
  readonly ignoreSigterm?: boolean;
  /** Time from SIGTERM to the exit. Default 1000 (kwok's delete stage takes about a second). */
  readonly stopMs?: number;
  /** With a readiness probe: Ready this long after Started (default: the probe's `initialDelaySeconds`); `false`: never. */
  readonly readyAfterMs?: number | false;
}

/** The keys a {@link ContainerScript} may have, for validating scripts from annotations. */
export const CONTAINER_SCRIPT_KEYS = [
  'pullMs',
  'imagePullError',
  'runMs',
  'exitCode',
  'restarts',
  'output',
  'oomKilled',
  'ignoreSigterm',
  'stopMs',
  'readyAfterMs',
] as const;

/** Checks a container script's fields (not unknown keys); returns a problem description or `undefined`. */
export function containerScriptProblem(script: Record<string, unknown>, where = ''): string | undefined {
  for (const key of ['pullMs', 'runMs', 'restarts', 'stopMs']) {
    const field = script[key];
    if (field !== undefined && (typeof field !== 'number' || !Number.isFinite(field) || field < 0)) {
      return `${where}${key} must be a number >= 0`;
    }
  }
  if (script.exitCode !== undefined && !Number.isInteger(script.exitCode))
    return `${where}exitCode must be an integer`;
  for (const key of ['oomKilled', 'ignoreSigterm']) {
    if (script[key] !== undefined && typeof script[key] !== 'boolean')
      return `${where}${key} must be a boolean`;
  }
  const ready = script.readyAfterMs;
  if (ready !== undefined && ready !== false && (typeof ready !== 'number' || !(ready >= 0)))
    return `${where}readyAfterMs must be a number >= 0 or false`;
  const output = script.output;
  if (output !== undefined && (!Array.isArray(output) || output.some((line) => typeof line !== 'string')))
    return `${where}output must be an array of strings`;
  const pull = script.imagePullError;
  if (pull !== undefined && typeof pull !== 'boolean') {
    const times = (pull as Record<string, unknown> | null)?.times;
    if (typeof times !== 'number' || times < 0)
      return `${where}imagePullError must be a boolean or { times: number }`;
  }
  return undefined;
}

/** What a container's command says about its run, when it says anything. */
export interface CommandBehaviour {
  /** The run's length; `Infinity`: until stopped. */
  readonly runMs: number;
  readonly exitCode: number;
  readonly output: readonly string[];
}

type Container = NonNullable<Pod['spec']>['containers'][number];

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh']);

/** Splits a shell word list the simple way, honouring single and double quotes. */
function words(text: string): string[] {
  const result: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    result.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3] ?? ''));
  }
  return result;
}

function sleepMs(argument: string | undefined): number {
  if (argument === undefined) return 0;
  if (argument === 'infinity' || argument === 'inf') return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument);
  if (!match) return 0;
  const unit = { '': 1_000, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? ''] ?? 1_000;
  return Number(match[1]) * unit;
}

/**
 * Reads what a command does from the few statements a test's command usually holds: `echo`, `printf`,
 * `sleep N`, `exit N`, `true`, `false`, `:`, run directly or under `sh -c` (statements split on `;`,
 * `&&`, newlines). Anything else is a program the fake cannot know, so the container is a server that
 * runs until stopped. `undefined`: no command (the image's default: a server).
 */
export function behaviourFromCommand(container: Container): CommandBehaviour | undefined {
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv.length === 0) return undefined;
  const program = (argv[0] ?? '').split('/').at(-1) ?? '';
  const statements =
    SHELLS.has(program) && argv[1] === '-c'
      ? (argv[2] ?? '')
          .split(/;|&&|\n/)
          .map((statement) => words(statement.trim()))
          .filter((statement) => statement.length > 0)
      : [[program, ...argv.slice(1)]];
  const output: string[] = [];
  let runMs = 0;
  let exitCode = 0;
  for (const [command, ...rest] of statements) {
    const name = (command ?? '').split('/').at(-1);
    if (name === 'echo') {
      const flags = rest[0] === '-n' || rest[0] === '-e' ? rest.slice(1) : rest;
      output.push(flags.join(' '));
      exitCode = 0;
    } else if (name === 'printf') {
      output.push(...(rest[0] ?? '').replace(/\\n$/, '').split('\\n'));
      exitCode = 0;
    } else if (name === 'sleep') {
      runMs += sleepMs(rest[0]);
      exitCode = 0;
    } else if (name === 'exit') {
      return { runMs, exitCode: Number.parseInt(rest[0] ?? '0', 10) || 0, output };
    } else if (name === 'true' || name === ':') {
      exitCode = 0;
    } else if (name === 'false') {
      exitCode = 1;
    } else {
      return { runMs: Number.POSITIVE_INFINITY, exitCode: 0, output };
    }
    if (runMs === Number.POSITIVE_INFINITY) break;
  }
  return { runMs, exitCode, output };
}

/** One run of a container, fully decided. */
export interface ContainerRunPlan {
  /** Until its own exit; `Infinity`: until stopped. */
  readonly runMs: number;
  readonly exitCode: number;
  readonly reason: 'Completed' | 'Error' | 'OOMKilled';
  readonly output: readonly string[];
  /** Whether the output was scripted or read from the command (else the fake's own description). */
  readonly outputGiven: boolean;
}

/**
 * Decides run number `run` (0 for the first) of a container: a crash for the first `restarts` runs,
 * then the scripted or commanded behaviour.
 */
export function planRun(container: Container, script: ContainerScript, run: number): ContainerRunPlan {
  const fromCommand = behaviourFromCommand(container);
  const output = script.output ?? fromCommand?.output;
  const outputGiven = output !== undefined && output.length > 0;
  const image = container.image ?? '';
  const described = outputGiven
    ? (output as readonly string[])
    : [`podstorage fake: container "${container.name}" (image ${image}) started`];
  if (run < (script.restarts ?? 0)) {
    const exitCode = script.exitCode !== undefined && script.exitCode !== 0 ? script.exitCode : 1;
    return {
      runMs:
        script.runMs ??
        (fromCommand?.runMs !== undefined && fromCommand.runMs < Infinity ? fromCommand.runMs : 2_000),
      exitCode,
      reason: 'Error',
      output: outputGiven
        ? described
        : [
            ...described,
            `podstorage fake: crashing with exit code ${exitCode} (scripted restart ${run + 1} of ${script.restarts})`,
          ],
      outputGiven,
    };
  }
  if (script.oomKilled) {
    return {
      runMs: script.runMs ?? 2_000,
      exitCode: 137,
      reason: 'OOMKilled',
      output: described,
      outputGiven,
    };
  }
  const scripted = script.runMs !== undefined || script.exitCode !== undefined;
  const runMs = script.runMs ?? fromCommand?.runMs ?? (scripted ? 0 : Number.POSITIVE_INFINITY);
  const exitCode = script.exitCode ?? fromCommand?.exitCode ?? 0;
  const note = outputGiven
    ? []
    : runMs === Number.POSITIVE_INFINITY
      ? ['podstorage fake: serving until stopped']
      : [`podstorage fake: exiting with code ${exitCode} after ${runMs} ms`];
  return {
    runMs,
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    output: [...described, ...note],
    outputGiven,
  };
}
