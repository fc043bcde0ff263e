import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from './progress.js';
import { type Spawner, startSpawner } from './server.js';

// Debian's chromium package; CI installs it. Where it is missing the test says so and skips.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `spawner-web browser test SKIPPED: ${CHROMIUM} is missing (install Debian's "chromium" package to run it)`,
  );
}

// The embedded cluster runs this much faster than real time: about 9 s of cluster time (scheduling,
// a 3 s image pull, a 5 s run) goes by in under 2 s.
const SPEED = 6;
// Playwright's own waits are bounded by this; they return as soon as the condition holds.
const WAIT_MS = 15_000;

describe.skipIf(!haveChromium)('the spawner page in headless Chromium', () => {
  let spawner: Spawner;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    spawner = await startSpawner({ speed: SPEED });
    profile = await mkdtemp(join(tmpdir(), 'spawner-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(WAIT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) consoleErrors.push(`${response.status()} ${response.url()}`);
    });
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await spawner?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
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
    expect(await row.locator('td').nth(3).textContent()).toBe('fake-node-1');
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
    expect(consoleErrors).toEqual([]);
  }, 30_000);
});

/** Waits until the element's text is exactly `text`. */
async function expectText(page: Page, selector: string, text: string): Promise<void> {
  const exactly = new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await page.locator(selector, { hasText: exactly }).waitFor({ timeout: WAIT_MS });
}
