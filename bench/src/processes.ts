// Child processes of the benchmark: every server and every measured client runs in its own process, so
// a client's CPU time and peak RSS are its own and a server never competes with the client in one event
// loop. The parent talks to each child over the IPC channel (request/reply), and kills every child it
// started on exit, on Ctrl-C and on errors; a child exits by itself when the parent goes away.
import { type ChildProcess, fork } from 'node:child_process';

/** A message a child sends: the reply to a call, or a failure of the call. */
type Reply = { readonly id: number; readonly value?: unknown; readonly error?: string };

const running = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      if (running.size > 0)
        process.stderr.write(`\nbench: ${signal}: stopping ${running.size} child process(es)\n`);
      killAll();
      // The handler was a `once`: raising the signal again ends this process as it would have.
      process.kill(process.pid, signal);
    });
  }
}

/** A running child process that answers calls. */
export interface Child {
  /** Calls the child's handler `name` and resolves with what it returns. */
  call<T = unknown>(name: string, argument?: unknown): Promise<T>;
  /** Kills the child (SIGKILL) and waits until it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts `file` (a module of src/children) in a child process on this Node, with `execArgv` (such as
 * `--expose-gc`), and resolves once it has said it is ready.
 */
export async function startChild(file: URL, options: { execArgv?: string[] } = {}): Promise<Child> {
  hookExit();
  const child = fork(file, [], {
    execArgv: ['--disable-warning=ExperimentalWarning', ...(options.execArgv ?? [])],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(child);
  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let exitError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exitError = new Error(`bench child ${file.pathname} exited (code ${code}, signal ${signal})`);
      for (const call of pending.values()) call.reject(exitError);
      pending.clear();
      resolve();
    });
  });
  child.on('message', (message: Reply) => {
    const call = pending.get(message.id);
    if (call === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) call.reject(new Error(message.error));
    else call.resolve(message.value);
  });
  const handle: Child = {
    call<T>(name: string, argument?: unknown): Promise<T> {
      if (exitError !== undefined) return Promise.reject(exitError);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, name, argument });
      });
    },
    async stop() {
      if (exitError === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await handle.call('ready');
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

/** Starts a child, hands it to `body`, and always stops it afterwards. */
export async function withChild<T>(
  file: URL,
  body: (child: Child) => Promise<T>,
  options: { execArgv?: string[] } = {},
): Promise<T> {
  const child = await startChild(file, options);
  try {
    return await body(child);
  } finally {
    await child.stop();
  }
}

/** Handlers a child serves, by name: each gets the call's argument and returns (or resolves) the reply. */
export type Handlers = Record<string, (argument: never) => unknown>;

/**
 * The child's side: answers the parent's calls with `handlers` (plus `ready`), and exits when the
 * parent's IPC channel closes, so no child outlives a killed benchmark.
 */
export function serveCalls(handlers: Handlers): void {
  if (process.send === undefined) throw new Error('a bench child must be started by the bench (no IPC)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (message: { id: number; name: string; argument: unknown }) => {
    const handler = message.name === 'ready' ? () => true : handlers[message.name];
    try {
      if (handler === undefined) throw new Error(`no handler "${message.name}" in this child`);
      const value = await (handler as (argument: unknown) => unknown)(message.argument);
      process.send?.({ id: message.id, value });
    } catch (error) {
      process.send?.({
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  });
}

/**
 * Runs `rounds` full garbage collections now. Needs the child to run with `--expose-gc`; `who` names
 * the child in the error when it does not.
 */
export function collectGarbage(who: string, rounds = 2): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error(`${who} needs node --expose-gc`);
  for (let round = 0; round < rounds; round++) gc();
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** CPU time (user + system) of this process since `since`, in ms. */
export function cpuMs(since?: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1000;
}

/** Monotonic time in ms, comparable between processes of one machine (CLOCK_MONOTONIC). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
