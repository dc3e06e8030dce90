/**
 * Pages of the console as the browser tests open them: a watched tab (test/helpers/browser.ts) at a
 * console path, logged in through the form when the console asks for the admin token, and the checks
 * every test ends with: nothing requested off loopback, no console error, every control labelled.
 */
import { expect } from 'vitest';
import { type Browser, unlabelledControls, type WatchedPage } from '../../helpers/browser.ts';

export interface ConsolePages {
  /** A watched tab at `pathname`, logged in unless `logIn` is false; the one `closeChecked` closes next. */
  open(pathname: string, options?: { logIn?: boolean }): Promise<WatchedPage>;
  /** Closes the tab `open` gave and asserts it stayed on loopback and logged no error; none open: nothing. */
  closeChecked(): Promise<void>;
}

export function consolePages(browser: () => Browser, consoleUrl: () => string, token: string): ConsolePages {
  let current: WatchedPage | undefined;
  return {
    async open(pathname, options = {}) {
      current = await browser().open();
      const { page } = current;
      await page.goto(`${consoleUrl()}${pathname}`);
      const login = page.getByLabel('Admin token');
      const nav = page.getByRole('navigation', { name: 'Console pages' });
      await expect.poll(async () => (await login.isVisible()) || (await nav.isVisible())).toBe(true);
      if (options.logIn !== false && (await login.isVisible())) {
        await login.fill(token);
        await page.getByRole('button', { name: 'Log in' }).click();
        await nav.waitFor();
      }
      return current;
    },
    async closeChecked() {
      if (current === undefined) return;
      const w = current;
      current = undefined;
      await w.page.close();
      expect(w.offLoopback, 'requests that left loopback').toEqual([]);
      expect(w.requests.length).toBeGreaterThan(0);
      expect(w.errors, 'console errors').toEqual([]);
    },
  };
}

export const heading = (w: WatchedPage, name: string) =>
  w.page.getByRole('heading', { level: 1, name }).waitFor();

export async function expectLabelled(w: WatchedPage): Promise<void> {
  expect(await unlabelledControls(w.page)).toEqual([]);
}
