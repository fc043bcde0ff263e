// Helpers for the browser tests: Chromium as CI has it, and a proxy that drops connections.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's chromium package; CI installs it. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether Chromium is here; where it is not, says so loudly (the browser tests then skip). */
export function haveChromium(what: string): boolean {
  const present = existsSync(CHROMIUM);
  if (!present) {
    console.warn(
      `spawner-web ${what} SKIPPED: ${CHROMIUM} is missing (install Debian's "chromium" package to run it)`,
    );
  }
  return present;
}

/** A headless Chromium with a fresh, empty profile, and the page's errors collected. */
export interface Browser {
  readonly page: Page;
  /** Console errors, page errors and HTTP errors the page met. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Launches headless Chromium (a fresh profile) with one page whose waits are bounded by `waitMs`. */
export async function launchBrowser(waitMs: number): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'spawner-chromium-'));
  let context: BrowserContext;
  try {
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
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(waitMs);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  return {
    page,
    errors,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy in front of the spawner that can cut every connection, as a restarting proxy does. */
export interface DropProxy {
  /** The spawner's page through the proxy. */
  readonly url: string;
  /** Cuts every open connection (both sides) and refuses new ones until {@link DropProxy.restore}. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a {@link DropProxy} on 127.0.0.1 in front of `target` (an `http://127.0.0.1:port/` URL). */
export async function startDropProxy(target: string): Promise<DropProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    const pair = [client, upstream];
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        for (const other of pair) {
          other.destroy();
          sockets.delete(other);
        }
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Waits (bounded by `timeout`, else the page's default) until the element's text is exactly `text`. */
export async function expectText(
  page: Page,
  selector: string,
  text: string,
  timeout?: number,
): Promise<void> {
  const exactly = new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await page.locator(selector, { hasText: exactly }).waitFor(timeout === undefined ? {} : { timeout });
}
