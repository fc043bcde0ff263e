import type { LogsForPodOptions, Pod, PodLogLine } from '@podstorage/core';
import type { LifecycleScript } from '@podstorage/fake';
import { assert } from '../check.js';
import { type Harness, NAMESPACE, podManifest } from '../harness.js';
import type { SuiteBuilder } from '../suite.js';
import { LONG_TIMEOUT } from './common.js';

/** Reads `logsForPod` in the background; `lines` grows as lines arrive. */
function readLogs(h: Harness, name: string, options: LogsForPodOptions = {}) {
  const lines: PodLogLine[] = [];
  const done = h.track(
    (async () => {
      for await (const line of h.storage.logsForPod(name, NAMESPACE, LONG_TIMEOUT, options)) lines.push(line);
    })(),
  );
  return { lines, done, texts: () => lines.map((line) => line.text) };
}

/** A job pod whose one container prints `output` spread over `runMs` (scenario time), then exits 0. */
function printingPod(h: Harness, name: string, output: string[], script: LifecycleScript = {}): Pod {
  return h.cluster.createPod(podManifest(name), {
    lifecycle: { scheduleAfterMs: h.ms(100), pullMs: h.ms(500), runMs: h.ms(4_000), output, ...script },
  });
}

/**
 * `logsForPod` as `kubectl logs` reads a container's log (pods/log, served by the fake's simulated
 * kubelet, pkg/kubelet/kuberuntime/logs/logs.go): follow until the container ends, wait for one that has
 * not started, `tailLines`, `previous` after a restart, and a follow cut mid-stream resumed from its last
 * line's timestamp without a line given twice. Needs a transport with `readPodLog` (capability `logs`).
 */
export function logsScenarios(suite: SuiteBuilder): void {
  const options = { mode: 'simulated', requires: ['logs'] } as const;

  suite.test(
    'follows a container until it ends: every line once, in order, then the iteration ends',
    async (h) => {
      printingPod(h, 'printer', ['one', 'two', 'three']);
      // Started once the container runs, so this reads the lines that are there, then follows.
      await h.until(
        () => h.cluster.getPod(NAMESPACE, 'printer')?.status?.phase === 'Running',
        'the container to run',
        h.quick,
      );
      const read = readLogs(h, 'printer');
      await h.resolves(read.done, 'logsForPod of a container that ends', h.quick);
      h.equal(read.texts(), ['one', 'two', 'three'], 'the lines the container printed');
      h.equal(h.cluster.getPod(NAMESPACE, 'printer')?.status?.phase, 'Succeeded', 'it ended with the pod');
      for (const line of read.lines) assert(line.time !== undefined, 'each line has the kubelet timestamp');
    },
    options,
  );

  suite.test(
    'waits for a container that has not started (not scheduled, then pulling), then gives its lines',
    async (h) => {
      printingPod(h, 'late', ['first', 'second'], { scheduleAfterMs: h.ms(3_000), pullMs: h.ms(5_000) });
      const read = readLogs(h, 'late');
      await h.resolves(read.done, 'logsForPod of a pod that starts later', h.quick);
      h.equal(read.texts(), ['first', 'second'], 'the lines once it ran');
      assert(
        h.transport.callsOf('readPodLog').length >= 2,
        'it asked again while the container was not running',
      );
    },
    options,
  );

  suite.test(
    'tailLines: only the last lines',
    async (h) => {
      printingPod(h, 'tail', ['l1', 'l2', 'l3', 'l4', 'l5']);
      await h.until(
        () => h.cluster.getPod(NAMESPACE, 'tail')?.status?.phase === 'Succeeded',
        'the container to end',
        h.quick,
      );
      const read = readLogs(h, 'tail', { tailLines: 2, follow: false });
      await h.resolves(read.done, 'logsForPod with tailLines', h.quick);
      h.equal(read.texts(), ['l4', 'l5'], 'the last two lines');
      h.equal(h.transport.callsOf('readPodLog')[0]?.options.tailLines, 2, 'asked the server for them');
    },
    options,
  );

  suite.test(
    'previous: the instance before a restart (OnFailure, one crash, then success)',
    async (h) => {
      const manifest = podManifest('flaky');
      h.cluster.createPod(
        {
          ...manifest,
          spec: { ...manifest.spec, containers: manifest.spec?.containers ?? [], restartPolicy: 'OnFailure' },
        },
        {
          lifecycle: {
            scheduleAfterMs: h.ms(100),
            pullMs: h.ms(500),
            runMs: h.ms(2_000),
            output: ['attempt'],
            restarts: 1,
          },
        },
      );
      await h.until(
        () => h.cluster.getPod(NAMESPACE, 'flaky')?.status?.phase === 'Succeeded',
        'the pod to succeed after its restart',
        h.quick,
      );
      h.equal(
        h.cluster.getPod(NAMESPACE, 'flaky')?.status?.containerStatuses?.[0]?.restartCount,
        1,
        'restarted once',
      );
      const previous = readLogs(h, 'flaky', { previous: true, follow: false });
      const current = readLogs(h, 'flaky', { follow: false });
      await h.resolves(previous.done, 'logsForPod previous', h.quick);
      await h.resolves(current.done, 'logsForPod current', h.quick);
      h.equal(previous.texts(), ['attempt'], 'the crashed instance printed its line');
      h.equal(current.texts(), ['attempt'], 'the current instance printed its own');
      const before = Date.parse(previous.lines[0]?.time ?? '');
      const after = Date.parse(current.lines[0]?.time ?? '');
      assert(before < after, `the previous instance's line is older (${before} < ${after})`);
    },
    options,
  );

  suite.test(
    'a follow cut mid-stream is resumed from its last line: no line lost, none repeated',
    async (h) => {
      const output = Array.from({ length: 8 }, (_, index) => `line ${index + 1}`);
      printingPod(h, 'cut', output, { runMs: h.ms(40_000) });
      const read = readLogs(h, 'cut');
      await h.until(() => read.lines.length >= 2, 'the first lines', h.quick);
      const cut = h.cluster.faults.resetLogStreams({ pod: 'cut' });
      // On the system clock a loaded machine may have let the container end already.
      if (h.clockMode === 'fake') h.equal(cut, 1, 'one log stream was open to cut');
      await h.resolves(read.done, 'logsForPod across the cut', h.quick);
      h.equal(read.texts(), output, 'every line once, in order');
      if (cut > 0) {
        const resumed = h.transport
          .callsOf('readPodLog')
          .filter((call) => typeof call.options.sinceTime === 'string');
        h.equal(resumed.length, 1, 'the follow was resumed once, from the last line seen (sinceTime)');
      }
    },
    options,
  );
}
