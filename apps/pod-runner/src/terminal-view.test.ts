import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIFECYCLE_ANNOTATION } from '@podstorage/fake';
import headless from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { cleanEnvironment, cli } from './cli-test-support.js';

// The live view is judged as a user sees it: the CLI runs on a real pseudo-terminal (util-linux
// `script`), and what it wrote is played into xterm.js's headless terminal, whose screen and
// scrollback the test then reads.
const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript)
  console.warn('SKIPPED: the terminal view tests need `script` from util-linux (apt-get install bsdutils)');

const COLUMNS = 110;
const ROWS = 24;

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** Runs the CLI on a pseudo-terminal of COLUMNS x ROWS; `type` sends keys to it (`\x03` is Ctrl-C). */
function runInTerminal(args: readonly string[]) {
  const command = `stty cols ${COLUMNS} rows ${ROWS}; exec ${[process.execPath, cli, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: cleanEnvironment({ TERM: 'xterm-256color', FORCE_COLOR: undefined, NO_COLOR: undefined }),
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (output.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    exit,
    output: () => output,
    /** Resolves once the raw output holds `text`. */
    shows: (text: string) =>
      new Promise<void>((resolve) => {
        if (output.includes(text)) resolve();
        else waiters.push({ text, resolve });
      }),
    type: (keys: string) => child.stdin.write(keys),
    close: () => child.stdin.end(),
  };
}

/** The terminal's lines, scrollback first, after playing `output` into it; soft-wrapped rows joined. */
async function screenLines(output: string): Promise<string[]> {
  const terminal = new headless.Terminal({
    cols: COLUMNS,
    rows: ROWS,
    scrollback: 10_000,
    allowProposedApi: true,
  });
  await new Promise<void>((resolve) => terminal.write(output, resolve));
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let row = 0; row < buffer.length; row += 1) {
    const line = buffer.getLine(row);
    if (line === undefined) continue;
    const text = line.translateToString(true);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  terminal.dispose();
  while (lines.at(-1) === '') lines.pop();
  return lines;
}

const LOG_LINE = /^ +\d+\.\ds {2}([^\s[]\S*) +(created|event|phase|done) +(.*)$/;
const BAR = /[█░]/;

describe.skipIf(!hasScript)('the live view on a terminal', () => {
  it('keeps every timestamped line of the piped output and the logs, whole, above bars that end full and finished', async () => {
    // A job (its command exits after 2 s of the fake's time) with its output streamed (--logs).
    const terminal = runInTerminal([
      '--fake',
      '--speed',
      '50',
      '--image',
      'busybox',
      '--count',
      '2',
      '--logs',
      '--command',
      '--',
      'sh',
      '-c',
      'echo working; sleep 1; echo done working; sleep 1',
    ]);
    const code = await terminal.exit;
    terminal.close();
    const lines = await screenLines(terminal.output());
    expect(code, lines.join('\n')).toBe(0);
    expect(lines[0]).toBe('Running 2 pods in namespace default on the embedded fake cluster (time x50)');

    // Above the bars: the same lines as the piped output, none holding remains of a bar.
    const logged = lines.filter((line) => LOG_LINE.test(line));
    for (const line of lines.filter((text) => / {2}podstorage-run-/.test(text) && !BAR.test(text))) {
      expect(line).toMatch(LOG_LINE);
    }
    for (const line of logged) expect(line).not.toMatch(BAR);
    const pods = [...new Set(logged.map((line) => LOG_LINE.exec(line)?.[1]))];
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      const of = logged
        .map((line) => LOG_LINE.exec(line))
        .filter((match) => match?.[1] === pod)
        .map((match) => `${match?.[2]} ${match?.[3]}`);
      expect(of).toEqual(
        expect.arrayContaining([
          'created image busybox',
          'event Pulling image "busybox"',
          'event Created container main',
          'event Started container main',
          'phase Pending -> Running',
          'phase Running -> Succeeded',
          'done Succeeded, deleted',
        ]),
      );
      // The container's lines, prefixed as kubectl logs --prefix, once each, in order.
      const logs = lines.filter((line) => line.includes(`[pod/${pod}/main]`));
      expect(logs).toHaveLength(2);
      expect(logs[0]).toMatch(new RegExp(`^ +\\d+\\.\\ds {2}\\[pod/${pod}/main\\] working$`));
      expect(logs[1]).toMatch(new RegExp(`^ +\\d+\\.\\ds {2}\\[pod/${pod}/main\\] done working$`));
      // A long event message stays one line (soft-wrapped by the terminal), as in the piped output.
      expect(of.some((text) => /^event Successfully pulled image "busybox" in .* bytes\.$/.test(text))).toBe(
        true,
      );
    }

    // The bars, as last drawn: one per pod, full, finished, Succeeded; then the summary.
    const bars = lines.filter((line) => BAR.test(line));
    expect(bars).toHaveLength(2);
    for (const bar of bars) expect(bar).toMatch(/^podstorage-run-\w{5} +█{20} finished +Succeeded +deleted$/);
    const table = lines.slice(lines.indexOf(lines.find((line) => line.startsWith('POD ')) ?? ''));
    expect(table).toHaveLength(3);
    expect(table[0]).toMatch(/^POD +PHASE +DURATION +EVENTS +ERROR$/);
    for (const row of table.slice(1)) expect(row).toMatch(/^podstorage-run-\w{5} +Succeeded +[\d.]+s +5$/);
  });

  it('Ctrl-C: the interrupted pod keeps the stage it reached, says so, and never shows a full bar', async () => {
    const manifest = join(mkdtempSync(join(tmpdir(), 'podstorage-run-')), 'long.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'long-runner',
          annotations: { [LIFECYCLE_ANNOTATION]: JSON.stringify({ pullMs: 100, runMs: 600_000 }) },
        },
        spec: { containers: [{ name: 'main', image: 'busybox' }] },
      }),
    );
    const terminal = runInTerminal(['--fake', '--speed', '1', '-f', manifest]);
    await terminal.shows('Started container main');
    terminal.type('\x03');
    const code = await terminal.exit;
    terminal.close();
    const lines = await screenLines(terminal.output());
    expect(code, lines.join('\n')).toBe(130);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ +\d+\.\ds {2}Interrupted \(SIGINT\): cancelling, then deleting the pods this run created/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ +\d+\.\ds {2}long-runner +done +interrupted \(last phase Running\): interrupted \(SIGINT\)$/,
      ),
    );
    const bars = lines.filter((line) => BAR.test(line));
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatch(/^long-runner +█+░+ interrupted +Running +interrupted \(SIGINT\)$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^long-runner +Running +[\d.]+s +\d+ +interrupted: interrupted \(SIGINT\)$/),
    );
  });
});
