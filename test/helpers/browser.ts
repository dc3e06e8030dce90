/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package driven by playwright-core
 * (`npx playwright install` cannot download a browser here). Flags keep it off the network — no
 * background, component-update or sync traffic — and each launch gets a fresh profile directory. Every
 * page is watched: a request to anything but loopback is aborted and recorded, and console errors and
 * uncaught exceptions are collected, so a test can assert the page stayed offline and clean.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/console');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** A new tab, watched (see WatchedPage). */
  open(): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** URLs that were not loopback (aborted). */
  offLoopback: string[];
  /** Console errors and uncaught exceptions, less the failed answers a test said to expect. */
  errors: string[];
  /**
   * An answer of `status` to a request whose path is `pathname` is part of the test (a wrong token's
   * 401): Chromium logs every failed load as a console error, and this one is not the page's fault.
   */
  expectFailedLoad(pathname: string, status: number): void;
  /** Saves the full page to test-results/console/<name>.png and returns the path. */
  screenshot(name: string): Promise<string>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopbackUrl(url: string): boolean {
  try {
    const u = new URL(url);
    // data: URLs (the page's empty favicon) never leave the page.
    if (u.protocol === 'data:') return true;
    return (
      (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:') &&
      LOOPBACK_HOSTS.has(u.hostname)
    );
  } catch {
    return false;
  }
}

/** Fails (never skips) when Debian's chromium is not installed, saying how to install it. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `The console's browser tests need Chromium at ${CHROMIUM}: install Debian's package with ` +
        '`apt-get update && apt-get install -y chromium` (.ci/run does).',
    );
  const profile = mkdtempSync(path.join(os.tmpdir(), 'agent-router-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    context,
    async open() {
      const page = await context.newPage();
      const expected: { pathname: string; status: number }[] = [];
      const watched: WatchedPage = {
        page,
        requests: [],
        offLoopback: [],
        errors: [],
        expectFailedLoad(pathname, status) {
          expected.push({ pathname, status });
        },
        async screenshot(name) {
          const file = path.join(SCREENSHOT_DIR, `${name}.png`);
          await page.screenshot({ path: file, fullPage: true });
          return file;
        },
      };
      await page.route('**/*', (route) => {
        const url = route.request().url();
        watched.requests.push(url);
        if (isLoopbackUrl(url)) return route.continue();
        watched.offLoopback.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const where = message.location().url;
        const allowed = expected.findIndex(
          (e) =>
            message.text().includes(`status of ${e.status}`) &&
            where !== '' &&
            new URL(where).pathname === e.pathname,
        );
        if (allowed >= 0) expected.splice(allowed, 1);
        else watched.errors.push(`console: ${message.text()} (${where})`);
      });
      page.on('pageerror', (error) => watched.errors.push(`exception: ${error.message}`));
      return watched;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Form controls without an accessible name (no `<label for>`, wrapping label, aria-label or
 * aria-labelledby) and buttons without text: each as a short description. Empty on a page that passes.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  // A string, run in the page: this file is typechecked without the DOM library.
  return (await page.evaluate(`(() => {
    const missing = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) missing.push(el.tagName.toLowerCase() + '#' + (el.id || '?'));
    }
    for (const b of document.querySelectorAll('button')) {
      if ((b.textContent || '').trim() === '' && !b.getAttribute('aria-label')) missing.push('button ' + b.outerHTML);
    }
    return missing;
  })()`)) as string[];
}
