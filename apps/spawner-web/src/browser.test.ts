import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, expectText, haveChromium, launchBrowser } from './browser-support.js';
import { STAGES } from './progress.js';
import { type Spawner, startSpawner } from './server.js';

// Debian's chromium, as CI installs it; where it is missing the test says so and skips.
const chromium = haveChromium('browser test');

// The embedded cluster runs this much faster than real time: about 9 s of cluster time (scheduling,
// a 3 s image pull, a 5 s run) goes by in under 2 s.
const SPEED = 6;
// Playwright's own waits are bounded by this; they return as soon as the condition holds.
const WAIT_MS = 15_000;

describe.skipIf(!chromium)('the spawner page in headless Chromium', () => {
  let spawner: Spawner;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    spawner = await startSpawner({ speed: SPEED });
    browser = await launchBrowser(WAIT_MS);
    page = browser.page;
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await spawner?.close();
  });

  it('starts a pod, shows its progress, events and phase to completion, lists it, and stops it', async () => {
    await page.goto(spawner.url);
    await page.waitForSelector('body[data-ready="true"]');
    await expectText(page, '#namespace', 'default');
    await page.locator('#no-pods').waitFor({ state: 'visible' });

    // Every stage the bar shows, recorded as the page sets it: a loaded machine may pass a short stage
    // between two frames, or the server may report two stages at once, so the test checks the climb
    // (never backwards, ending finished), not that it caught a particular stage on screen.
    // (Page source as a string: this package's types have no DOM.)
    await page.evaluate(`{
      const bar = document.querySelector('#progress');
      window.stagesSeen = [];
      new MutationObserver(() => window.stagesSeen.push(bar.dataset.stage)).observe(bar, {
        attributes: true,
        attributeFilter: ['data-stage'],
      });
    }`);
    await page.click('#start');
    // The name appears once the create has answered: wait for it rather than read it at once.
    await page.locator('#pod-name', { hasText: /^\s*spawn-/ }).waitFor({ timeout: WAIT_MS });
    const name = ((await page.locator('#pod-name').textContent()) ?? '').trim();
    expect(name).toMatch(/^spawn-/);

    // The bar climbs through the stages on the cluster's evidence and reaches completion.
    await page.waitForSelector('#progress[data-stage="finished"][aria-valuenow="100"]');
    const seen = (await page.evaluate('window.stagesSeen')) as string[];
    const ranks = seen.map((stage) => STAGES.indexOf(stage as (typeof STAGES)[number]));
    expect(
      ranks.every((rank) => rank >= 0),
      `known stages only: ${seen.join(', ')}`,
    ).toBe(true);
    expect(ranks, `the bar never goes back: ${seen.join(' → ')}`).toEqual([...ranks].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe('finished');
    expect(new Set(seen).size, `the bar climbed through stages: ${seen.join(' → ')}`).toBeGreaterThan(1);
    await expectText(page, '#phase', 'Succeeded');
    // Events and phase changes travel separately, so the last events may show just after the phase.
    for (const message of [
      `Successfully assigned default/${name}`,
      'Pulling image "busybox:1.36"',
      'Started container main',
    ]) {
      await page.locator('#events li', { hasText: message }).waitFor({ timeout: WAIT_MS });
    }
    expect(await page.locator('#stages li.done').count()).toBe(6);

    // The table, fed by its own stream, has the pod with its final phase.
    const row = page.locator(`#pods tbody tr[data-name="${name}"]`);
    await row.locator('td.phase', { hasText: 'Succeeded' }).waitFor();
    expect(await row.locator('td.node').textContent()).toBe('fake-node-1');
    // The bar animates its width: let it settle before the picture.
    const barWidth = (await page.locator('#progress').boundingBox())?.width;
    await expect.poll(async () => (await page.locator('#progress-fill').boundingBox())?.width).toBe(barWidth);
    await page.screenshot({ path: '/tmp/spawner.png', fullPage: true });

    await page.click('#stop');
    await expectText(page, '#phase', 'Deleted');
    await row.waitFor({ state: 'detached' });
    await page.locator('#no-pods').waitFor({ state: 'visible' });
    expect(await page.locator('#stop').isDisabled()).toBe(true);
    await page.screenshot({ path: '/tmp/spawner-stopped.png', fullPage: true });
    expect(browser.errors).toEqual([]);
  }, 30_000);
});
