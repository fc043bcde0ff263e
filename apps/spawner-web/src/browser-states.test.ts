import { FakeCluster } from '@podstorage/fake';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Browser,
  type DropProxy,
  expectText,
  haveChromium,
  launchBrowser,
  startDropProxy,
} from './browser-support.js';
import { type Spawner, startSpawner } from './server.js';
import { withPodLogs } from './test-support.js';

// Each state of the page in real headless Chromium, on a fake cluster whose clock only the test moves:
// every state holds still until the test advances time, so the screenshot shows it, and no wait
// depends on the machine's speed (Playwright's waits return as soon as their condition holds).
const chromium = haveChromium('browser state tests');
const WAIT_MS = 15_000;
const LIFECYCLE = { scheduleAfterMs: 100, pullMs: 1_000, runMs: 2_000 } as const;

describe.skipIf(!chromium)('the spawner page, state by state, in headless Chromium', () => {
  let cluster: FakeCluster;
  let spawner: Spawner;
  let proxy: DropProxy;
  let browser: Browser;
  let page: Page;

  /** The spawner on a fake cluster the test drives, behind the proxy, open in Chromium. */
  async function openPage(options: { logs?: readonly string[] } = {}): Promise<void> {
    cluster = new FakeCluster({ defaultLifecycle: LIFECYCLE });
    if (options.logs !== undefined) withPodLogs(cluster, options.logs);
    spawner = await startSpawner({ cluster });
    proxy = await startDropProxy(spawner.url);
    browser = await launchBrowser(WAIT_MS);
    page = browser.page;
    // No bar animation: each screenshot shows the state, not a frame of the way to it.
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(proxy.url);
    await page.waitForSelector('body[data-ready="true"]');
    await expectText(page, '#live-label', 'live');
  }

  afterEach(async () => {
    await browser?.close();
    await proxy?.close();
    await spawner?.close();
  });

  /** Advances the cluster's clock in small steps until the page shows `selector` (bounded). */
  async function advanceUntilShown(selector: string, limitMs = 30_000): Promise<void> {
    for (let elapsed = 0; (await page.locator(selector).count()) === 0; elapsed += 100) {
      if (elapsed > limitMs) throw new Error(`${selector} not shown within ${limitMs} ms of cluster time`);
      await cluster.clock.advance(100);
    }
  }

  async function startPod(): Promise<string> {
    await page.click('#start');
    await page.locator('#pod-name', { hasText: /^\s*spawn-/ }).waitFor();
    return ((await page.locator('#pod-name').textContent()) ?? '').trim();
  }

  it('keeps Start disabled while the pod is live, shows one progress in bar and table, and says Stopping, then Deleted', async () => {
    await openPage();
    const name = await startPod();
    // The embedded fake's transport reads the simulated container's logs: the page shows its pane.
    await page.locator('#logs-panel').waitFor();
    const row = page.locator(`#pods tbody tr[data-name="${name}"]`);
    await row.waitFor();
    expect(await page.locator('#start').isDisabled()).toBe(true);
    expect(await page.locator('#start').getAttribute('title')).toMatch(
      new RegExp(`${name} is still Pending`),
    );
    await page.screenshot({ path: '/tmp/spawner-pending.png', fullPage: true });

    // During the pull the event says "pulling" (50%): the bar and the row say the same.
    await advanceUntilShown('#progress[data-stage="pulling"]');
    await row.locator('.progress.mini[data-stage="pulling"][data-percent="50"]').waitFor();
    expect(await page.locator('#progress').getAttribute('aria-valuenow')).toBe('50');
    await expectText(page, '#progress-label', 'Pulling image');
    expect(await page.locator('#start').isDisabled()).toBe(true);
    await page.screenshot({ path: '/tmp/spawner-pulling.png', fullPage: true });

    await advanceUntilShown('#phase[data-phase="Running"]');
    expect(await page.locator('#start').isDisabled()).toBe(true);
    // The server refuses a second pod for this page even if the button were pressed.
    const refused = await page.evaluate(`fetch('/api/pods', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: sessionStorage.getItem('spawner.session') }),
    }).then((response) => response.status)`);
    expect(refused).toBe(409);
    expect(cluster.listPods('default').items).toHaveLength(1);

    await page.click('#stop');
    await expectText(page, '#progress-label', 'Stopping…');
    await page.locator('#progress[data-ending="stopping"]').waitFor();
    await row.locator('.progress.mini[data-ending="stopping"]').waitFor();
    // A pod being stopped no longer holds the page: Start is enabled again.
    expect(await page.locator('#start').isDisabled()).toBe(false);
    await page.screenshot({ path: '/tmp/spawner-stopping.png', fullPage: true });

    // The grace period (2 s) runs on the cluster's clock.
    await advanceUntilShown('#progress[data-ending="deleted"]');
    await expectText(page, '#progress-label', 'Deleted');
    await expectText(page, '#phase', 'Deleted');
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#stop').isDisabled()).toBe(true);
    await page.screenshot({ path: '/tmp/spawner-deleted.png', fullPage: true });
    // The refused start above is the only error the page met (the browser logs the 409 too).
    expect(browser.errors.filter((error) => !/409/.test(error))).toEqual([]);
  }, 60_000);

  it('shows a dropped stream as reconnecting, never a stale phase, and resumes the pod’s stream', async () => {
    await openPage();
    const name = await startPod();
    await advanceUntilShown('#phase[data-phase="Running"]');
    await page.locator('#events li', { hasText: 'Started container main' }).waitFor();

    // The connections are cut on the server's side of the proxy, and stay refused for a while.
    proxy.cut();
    await page.locator('#pod-panel[data-stream="reconnecting"]').waitFor();
    await expect.poll(() => page.locator('#stream-state').isVisible()).toBe(true);
    expect(await page.locator('#stream-state').textContent()).toMatch(
      new RegExp(`Reconnecting to the stream of ${name}`),
    );
    await expectText(page, '#live-label', 'reconnecting…');
    // The phase shown is only the last one seen: the badge does not claim it.
    await page.locator('#phase[data-stale="true"]').waitFor();
    await expectText(page, '#phase', 'last seen Running');
    await page.screenshot({ path: '/tmp/spawner-reconnecting.png', fullPage: true });

    // The pod finishes while the page cannot hear of it.
    for (let step = 0; cluster.getPod('default', name)?.status?.phase !== 'Succeeded'; step++) {
      if (step > 300) throw new Error('the pod did not finish');
      await cluster.clock.advance(100);
    }
    expect(await page.locator('#phase').textContent()).not.toMatch(/^\s*Running\s*$/);

    proxy.restore();
    // EventSource (or the page, if the browser gave up) reconnects; the snapshot re-reads the phase.
    await page.locator('#pod-panel[data-stream="live"]').waitFor({ timeout: 30_000 });
    await expectText(page, '#phase', 'Succeeded');
    expect(await page.locator('#phase').getAttribute('data-stale')).toBe('false');
    await page.locator('#progress[data-stage="finished"]').waitFor();
    await expect.poll(() => page.locator('#stream-state').isVisible()).toBe(false);
    await expectText(page, '#live-label', 'live', 30_000);
    // Every event once: the resumed stream's lines replace, never double, what the page had.
    for (const message of ['Pulling image', 'Started container main']) {
      expect(await page.locator('#events li', { hasText: message }).count()).toBe(1);
    }
    await page.screenshot({ path: '/tmp/spawner-reconnected.png', fullPage: true });
  }, 90_000);

  it('shows 12 000 repeats of one event as one line with its count, and stays responsive', async () => {
    await openPage();
    const name = await startPod();
    const message =
      '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unschedulable: }.';
    const record = () =>
      cluster.recordPodEvent(
        { namespace: 'default', name },
        { reason: 'FailedScheduling', message, type: 'Warning', component: 'default-scheduler' },
      );
    record();
    const line = page.locator('#events li', { hasText: message });
    await line.waitFor();
    await cluster.clock.advance(3 * 60_000);
    // The repeats arrive in bursts; between bursts the page must answer at once (a generous bound:
    // the page once froze for 7-30 s).
    let slowest = 0;
    for (let burst = 0; burst < 12; burst++) {
      for (let i = 0; i < (burst === 0 ? 999 : 1_000); i++) record();
      const asked = performance.now();
      await page.evaluate('document.querySelectorAll("#events li").length');
      slowest = Math.max(slowest, performance.now() - asked);
    }
    await line.locator('.repeat', { hasText: /^x12000 over 3m/ }).waitFor();
    expect(await line.getAttribute('data-count')).toBe('12000');
    expect(await page.locator('#events li', { hasText: message }).count()).toBe(1);
    // One line per event: the pod's own few, and the recurring one once.
    expect(await page.locator('#events li').count()).toBeLessThan(10);
    expect(slowest, `the page answered within ${Math.round(slowest)} ms`).toBeLessThan(5_000);
    const asked = performance.now();
    expect(await page.evaluate('1 + 1')).toBe(2);
    expect(performance.now() - asked).toBeLessThan(5_000);
    await page.screenshot({ path: '/tmp/spawner-recurring.png', fullPage: true });
  }, 60_000);

  it('announces events to screen readers: the events list is a polite live region', async () => {
    await openPage();
    await startPod();
    const events = page.locator('#events');
    expect(await events.getAttribute('role')).toBe('log');
    expect(await events.getAttribute('aria-live')).toBe('polite');
    expect(await events.getAttribute('aria-labelledby')).toBe('events-title');
  });

  it('shows the container’s log in a logs panel where the backend reads logs', async () => {
    await openPage({
      logs: [
        '2026-01-01T00:00:01.000000000Z spawned by pod',
        'storage\n2026-01-01T00:00:02.000000000Z done\n',
      ],
    });
    await startPod();
    await page.locator('#logs-panel').waitFor({ state: 'visible' });
    await advanceUntilShown('#phase[data-phase="Succeeded"]');
    // The follow learns that the container ended on its next look at the pod, on the cluster's clock.
    await advanceUntilShown('#logs-state:has-text("(the container ended")');
    // With how it ended, as `kubectl describe pod` has it (State: Terminated, Reason, Exit Code).
    expect(await page.locator('#logs-state').textContent()).toMatch(
      /^\(the container ended: exit code 0 \(Completed\) at \d\d:\d\d:\d\d\)$/,
    );
    expect(await page.locator('#logs').textContent()).toBe('spawned by podstorage\ndone\n');
    await page.screenshot({ path: '/tmp/spawner-logs.png', fullPage: true });
  }, 60_000);
  it('shows a crash-looping pod: STATUS CrashLoopBackOff, restarts, the last exit, and each instance’s log with a mark', async () => {
    await openPage();
    // The page's own way to ask for one: exit code 3 with restartPolicy Always.
    await page.click('#crash-loop');
    expect(await page.locator('#exit-code').inputValue()).toBe('3');
    expect(await page.locator('#restart-policy').inputValue()).toBe('Always');
    const name = await startPod();
    const row = page.locator(`#pods tbody tr[data-name="${name}"]`);
    await advanceUntilShown('#phase[data-phase="Running"]');
    await expectText(page, '#pod-status', 'Running');

    // The first exit restarts at once; the second falls in the kubelet's 10 s back-off.
    await advanceUntilShown('#pod-status[data-status="CrashLoopBackOff"]');
    expect(await page.locator('#pod-status').getAttribute('data-trouble')).toBe('true');
    expect(await page.locator('#restarts').textContent()).toMatch(/^1 \(\d+s ago\)$/);
    expect(await page.locator('#last-exit').textContent()).toMatch(
      /^exit code 3 \(Error\) at \d\d:\d\d:\d\d$/,
    );
    await expect.poll(() => page.locator('#container-message').isVisible()).toBe(true);
    expect(await page.locator('#container-message').textContent()).toMatch(
      new RegExp(`^CrashLoopBackOff: back-off 10s restarting failed container=main pod=${name}_default\\(`),
    );
    // kubectl's columns in the table, and the kubelet's BackOff warning among the events.
    await row.locator('td.status', { hasText: 'CrashLoopBackOff' }).waitFor();
    expect(await row.locator('td.restarts').textContent()).toMatch(/^1 \(\d+s ago\)$/);
    await page
      .locator('#events li.warning', { hasText: `Back-off restarting failed container main in pod ${name}` })
      .waitFor();
    // A crash-looping pod is live (Running): Start waits for Stop.
    expect(await page.locator('#start').isDisabled()).toBe(true);
    // The log: instance 0, the mark of restart 1, instance 1; then the wait for the next.
    await page.locator('#logs .log-mark[data-restart="1"]').waitFor();
    await page.locator('#logs-state', { hasText: 'waiting for the kubelet to restart it' }).waitFor();
    expect(await page.locator('#logs-state').textContent()).toMatch(
      /^\(ended with exit code 3 \(Error\) at [\d:]+; CrashLoopBackOff: waiting for the kubelet to restart it\)$/,
    );
    expect(await page.locator('#logs').textContent()).toMatch(
      /^spawned by podstorage\n── restart 1: the last instance ended with exit code 3 \(Error\) at [\d:]+ ──\nspawned by podstorage\n$/,
    );
    await page.screenshot({ path: '/tmp/spawner-crashloop.png', fullPage: true });

    // The back-off ends: the next instance runs, its lines follow the mark of restart 2.
    await advanceUntilShown('#logs .log-mark[data-restart="2"]');
    await expectText(page, '#pod-status', 'Running');
    expect(await page.locator('#restarts').textContent()).toMatch(/^2 \(\d+s ago\)$/);
    await expect.poll(() => page.locator('#container-message').isVisible()).toBe(false);
    await expect
      .poll(
        async () => ((await page.locator('#logs').textContent()) ?? '').split('spawned by podstorage').length,
      )
      .toBe(4);
    expect(await page.locator('#logs .log-mark').count()).toBe(2);
    await page.screenshot({ path: '/tmp/spawner-restarted.png', fullPage: true });

    // Stop ends it: the log says the container ended, and no restart follows.
    await page.click('#stop');
    await advanceUntilShown('#logs-state:has-text("(the container ended")');
    await advanceUntilShown('#progress[data-ending="deleted"]');
    expect(await page.locator('#logs .log-mark').count()).toBe(2);
    expect(browser.errors).toEqual([]);
  }, 90_000);
});
