/**
 * The console's read pages in headless Chromium over the real local stack (console-stack.ts): traffic
 * through the gateway with the official openai SDK, a 50/50 A/B of chat-model, then Request Logs, a
 * request's detail, Usage Analytics and Experiments driven as a user drives them, by role and label,
 * and every page reached from the keyboard.
 *
 * After every test: no request from the page left loopback, and the page logged no console error.
 * Each page's screenshot is saved to test-results/console/<page>.png.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser } from '../../helpers/browser.ts';
import { consolePages, expectLabelled, heading } from './console-page.ts';
import { type ConsoleStack, startConsoleStack, ADMIN_TOKEN as TOKEN } from './console-stack.ts';

const CHAT_REQUESTS = 160;

let t: ConsoleStack;
let browser: Browser;
const pages = consolePages(
  () => browser,
  () => t.console.url,
  TOKEN,
);
const open = pages.open;

beforeAll(async () => {
  // Loopback addresses no other suite uses, so this file runs beside the others.
  t = await startConsoleStack({ backends: '127.0.0.7', pods: '127.0.0.8' });
  const resolved = await t.chat('chat-model', CHAT_REQUESTS, (i) => ({
    'x-session-id': `conversation-${i % 40}`,
  }));
  expect(new Set(resolved)).toEqual(new Set(['llama-3.1-8b-instruct', 'llama-3.3-8b-instruct']));
  browser = await launchBrowser();
}, 60_000);

afterEach(async () => {
  await pages.closeChecked();
  expect(t.consoleFailures()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the console web app in Chromium', () => {
  it('asks for the admin token, refuses a wrong one, logs in, asks again when the session ends, and logs out', async () => {
    await browser.context.clearCookies();
    const watched = await open('/logs', { logIn: false });
    const { page } = watched;
    const token = page.getByLabel('Admin token');
    await token.waitFor();
    await expectLabelled(watched);
    await watched.screenshot('login');
    watched.expectFailedLoad('/api/v1/session', 401);
    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not the admin token' }).waitFor();
    await token.fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading(watched, 'Request Logs');
    expect(await page.content()).not.toContain(TOKEN);
    // The session is a cookie the page cannot read: nothing of the token is kept in the page.
    expect(await page.evaluate('document.cookie')).toBe('');

    // The session ends under the page (here: its cookie is gone): the next read brings the log-in back.
    await browser.context.clearCookies();
    watched.expectFailedLoad('/api/v1/usage', 401);
    await page.getByRole('link', { name: 'Usage Analytics' }).click();
    await token.waitFor();
    await token.fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading(watched, 'Usage Analytics');

    await page.getByRole('button', { name: 'Log out' }).click();
    await token.waitFor();
    await page.reload();
    await token.waitFor();
  });

  it('shows both resolved models of the 50/50 A/B in Request Logs, and filters by each', async () => {
    const w = await open('/logs?logicalModel=chat-model&since=1h');
    await heading(w, 'Request Logs');
    const table = w.page.getByRole('table', { name: 'Requests, newest first' });
    await expect.poll(() => table.getByRole('row').count()).toBeGreaterThan(1);
    const resolvedColumn = async () =>
      new Set(await table.locator('tbody tr td:nth-child(4)').allTextContents());
    expect(await resolvedColumn()).toEqual(new Set(['llama-3.1-8b-instruct', 'llama-3.3-8b-instruct']));
    await expectLabelled(w);
    await w.screenshot('logs');

    await w.page.getByLabel('Resolved model').fill('llama-3.3-8b-instruct');
    await w.page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(resolvedColumn).toEqual(new Set(['llama-3.3-8b-instruct']));
    expect(w.page.url()).toContain('resolvedModel=llama-3.3-8b-instruct');

    await w.page.getByLabel('Resolved model').fill('');
    await w.page.getByLabel('Route entry').fill('chat-v1');
    await w.page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(resolvedColumn).toEqual(new Set(['llama-3.1-8b-instruct']));
    expect(new Set(await table.locator('tbody tr td:nth-child(5)').allTextContents())).toEqual(
      new Set(['chat-v1']),
    );

    await w.page.getByLabel('Route entry').fill('');
    await w.page.getByLabel('Decision').fill('weighted-split');
    await w.page.getByRole('button', { name: 'Apply filters' }).click();
    // Every request sent named a session: none was split without one.
    await expect.poll(() => table.locator('tbody tr').count()).toBe(0);
  });

  it('pages through Request Logs by cursor and tails new requests live', async () => {
    const w = await open('/logs?logicalModel=chat-model&since=1h');
    const table = w.page.getByRole('table', { name: 'Requests, newest first' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(50);
    const firstPage = await table.locator('tbody tr td:first-child').allTextContents();
    await w.page.getByRole('button', { name: 'Older' }).click();
    await expect
      .poll(async () => (await table.locator('tbody tr td:first-child').allTextContents())[0])
      .not.toBe(firstPage[0]);
    await w.page.getByRole('button', { name: 'Newer' }).click();
    await expect
      .poll(async () => (await table.locator('tbody tr td:first-child').allTextContents())[0])
      .toBe(firstPage[0]);

    await w.page.getByLabel('Live tail').check();
    await w.page.getByLabel('Logical model').fill('summarize-model');
    await w.page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(0);
    await t.chat('summarize-model', 3);
    // No reload and no click: the tail's next read shows them.
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 15_000 }).toBe(3);
  });

  it("opens a request's detail: route entry and decision kind, attempts, endpoint, latency, tokens, cost", async () => {
    const w = await open('/logs?logicalModel=chat-model&since=1h');
    const details = w.page.getByRole('button', { name: /^Details of request / });
    await details.first().waitFor();
    await details.first().click();
    const detail = w.page.getByRole('region', { name: /^Request / });
    await detail.waitFor();
    await expect
      .poll(() =>
        detail
          .getByText(
            /^Route entry chat-v[12] of RouteConfig default\/default: the weighted split, kept on this variant by the session \(sticky\)\.$/,
          )
          .count(),
      )
      .toBe(1);
    const attempts = detail.getByRole('table', { name: /^Attempts of request / });
    expect(await attempts.locator('tbody tr').count()).toBe(1);
    expect(await attempts.locator('tbody tr td:nth-child(2)').textContent()).toMatch(
      /^default\/sim-llama-v[12]$/,
    );
    expect(await attempts.locator('tbody tr td:nth-child(7)').textContent()).toBe('answered');
    for (const term of ['Latency', 'TTFT', 'TPOT', 'Tokens', 'Cost', 'Endpoint (pod)', 'Decision kind'])
      await detail
        .getByRole('term')
        .filter({ hasText: new RegExp(`^${term.replace(/[()]/g, '\\$&')}$`) })
        .waitFor();
    expect(
      await detail
        .getByRole('definition')
        .filter({ hasText: /prompt \+ \d+ completion/ })
        .count(),
    ).toBe(1);
    // Focus moved to the detail, for keyboard and screen-reader users.
    expect(await w.page.evaluate('document.activeElement && document.activeElement.id')).toBe(
      'request-detail',
    );
    await w.screenshot('request-detail');
  });

  it('explains a pool request: the pod the endpoint picker chose, with its per-scorer scores', async () => {
    await t.chat('llama-self-hosted', 2);
    const w = await open('/logs?logicalModel=llama-self-hosted&since=1h');
    const details = w.page.getByRole('button', { name: /^Details of request / });
    await expect.poll(() => details.count()).toBe(2);
    await details.first().click();
    const detail = w.page.getByRole('region', { name: /^Request / });
    const chose = detail.getByText(
      /^Attempt 1: the picker chose pod 127\.0\.0\.8\d:\d+, weighted total -?\d+\.\d{3}\.$/,
    );
    await chose.waitFor();
    const pod = (await chose.textContent())!.match(/pod (\S+),/)![1]!;
    // The same pod as the attempt's Endpoint column, and a score from each scorer of the pool's profile.
    const attempts = detail.getByRole('table', { name: /^Attempts of request / });
    expect(await attempts.locator('tbody tr td:nth-child(3)').textContent()).toBe(pod);
    const scores = detail.getByRole('table', { name: `Scores of pod ${pod} by scorer (attempt 1)` });
    const scorers = await scores.locator('tbody tr td:first-child').allTextContents();
    expect(scorers.sort()).toEqual(expect.arrayContaining(['kv-cache-utilization', 'prefix-cache', 'queue']));
    const rows = await scores
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    // Score × weight = weighted, and the weighted column sums to the total the sentence gives.
    const total = Number((await chose.textContent())!.match(/total (-?\d+\.\d{3})/)![1]);
    let sum = 0;
    for (const [, scoreText, weightText, weightedText] of rows) {
      expect(Math.abs(Number(scoreText) * Number(weightText) - Number(weightedText))).toBeLessThan(0.001);
      sum += Number(weightedText);
    }
    expect(Math.abs(sum - total)).toBeLessThan(0.01);
    await expectLabelled(w);
    await w.screenshot('request-detail-picker');
  });

  it('charts usage over time per resolved model, with the totals of both A/B models', async () => {
    const w = await open('/usage?logicalModel=chat-model&since=1h');
    await heading(w, 'Usage Analytics');
    const totals = w.page.getByRole('table', { name: 'Totals over the window, by resolved model' });
    await totals.locator('tbody tr').first().waitFor();
    expect(new Set(await totals.locator('tbody th').allTextContents())).toEqual(
      new Set(['llama-3.1-8b-instruct', 'llama-3.3-8b-instruct']),
    );
    const requests = (await totals.locator('tbody tr td:nth-child(2)').allTextContents()).map(Number);
    expect(requests.reduce((a, b) => a + b, 0)).toBe(CHAT_REQUESTS);
    for (const title of [
      'Requests',
      'Error rate',
      'Latency p50',
      'TTFT p50',
      'Tokens (prompt + completion)',
      'Cost',
    ])
      await w.page.getByRole('figure', { name: title, exact: true }).locator('canvas').first().waitFor();
    // uPlot's legend names each group: both resolved models are lines of the chart.
    const legend = w.page.getByRole('figure', { name: 'Requests', exact: true }).locator('.u-legend');
    await legend.getByText('llama-3.1-8b-instruct').waitFor();
    await legend.getByText('llama-3.3-8b-instruct').waitFor();
    await expectLabelled(w);
    await w.screenshot('usage');

    await w.page.getByLabel('Group by').selectOption('routeEntry');
    await w.page.getByRole('button', { name: 'Show usage' }).click();
    const byEntry = w.page.getByRole('table', { name: 'Totals over the window, by route entry' });
    await byEntry.waitFor();
    expect(new Set(await byEntry.locator('tbody th').allTextContents())).toEqual(
      new Set(['chat-v1', 'chat-v2']),
    );
  });

  it('shows the variants of the A/B side by side with intervals and verdicts', async () => {
    const w = await open('/experiments/chat-model');
    await heading(w, 'Experiments: chat-model');
    const variants = w.page.getByRole('table', { name: 'Variants of chat-model' });
    await variants.waitFor();
    expect(await variants.locator('tbody th').allTextContents()).toEqual(['chat-v1 (baseline)', 'chat-v2']);
    const comparison = w.page.getByRole('region', {
      name: /^chat-v2 \(llama-3\.3-8b-instruct\) against chat-v1$/,
    });
    const rows = comparison.getByRole('table').locator('tbody tr');
    expect(await rows.count()).toBe(7);
    const verdicts = await rows.locator('td:nth-child(5)').allTextContents();
    for (const v of verdicts) expect(['better', 'worse', 'inconclusive', 'insufficient data']).toContain(v);
    // Fewer than 100 requests a variant: the page says the data are not enough rather than guessing.
    expect(verdicts[0]).toBe('insufficient data');
    await expectLabelled(w);
    await w.screenshot('experiments');

    // Promote: the canary API's stage 100 for the variant, written to the file and applied.
    await comparison.getByRole('button', { name: 'Promote chat-v2 to 100%' }).click();
    await comparison.getByText(/^Send all of chat-model's split traffic to chat-v2\?/).waitFor();
    await comparison.getByRole('button', { name: 'Confirm: promote chat-v2 to 100%' }).click();
    await comparison.getByText(/^chat-v2 now takes 100% of the split\./).waitFor();
    expect(readFileSync(t.configPath, 'utf8')).toMatch(/name: chat-v2\n(?:.*\n)*? {6}weight: 100\n/);
    // The hot reload applies it a moment later; Recompute reads the split in force, where chat-v1 at
    // weight 0 is no variant any more.
    await expect
      .poll(
        async () => {
          await w.page.getByRole('button', { name: 'Recompute' }).click();
          return variants.locator('tbody td:nth-child(3)').allTextContents();
        },
        { timeout: 10_000 },
      )
      .toEqual(['100']);
    expect(await variants.locator('tbody th').allTextContents()).toEqual(['chat-v2 (baseline)']);
  });

  it('reaches every page from the keyboard: skip link first, then the navigation links', async () => {
    const w = await open('/logs');
    await w.page.keyboard.press('Tab');
    expect(await w.page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    const visited: string[] = [];
    for (const [label, title] of [
      ['Request Logs', 'Request Logs'],
      ['Usage Analytics', 'Usage Analytics'],
      ['Experiments', 'Experiments'],
      ['API keys', 'API keys'],
      ['Routing', 'Routing configurations'],
      ['MCP servers', 'MCP servers'],
    ] as const) {
      const link = w.page
        .getByRole('navigation', { name: 'Console pages' })
        .getByRole('link', { name: label });
      await link.focus();
      await w.page.keyboard.press('Enter');
      await heading(w, title);
      expect(await link.getAttribute('aria-current')).toBe('page');
      visited.push(new URL(w.page.url()).pathname);
    }
    expect(visited).toEqual(['/logs', '/usage', '/experiments', '/keys', '/routing', '/mcp-servers']);
  });

  it('lists the MCP servers of the local stack with their filters and the RouteConfig exposing them', async () => {
    const w = await open('/mcp-servers');
    await heading(w, 'MCP servers');
    const table = w.page.getByRole('table', { name: "MCP servers behind the gateway's MCP endpoint" });
    const notes = table.getByRole('row', { name: /^notes / });
    await notes.waitFor();
    expect(await notes.textContent()).toContain('all except delete_*');
    expect(await notes.textContent()).toContain('default as notes__* (for matching callers)');
    const weather = table.getByRole('row', { name: /^weather / });
    // The stack moves the example's loopback addresses to its own.
    expect(await weather.textContent()).toMatch(/^weatherhttp:\/\/127\.[\d.]+:\d+\/mcp/);
    expect(await weather.textContent()).toContain('default as weather__*');
    await weather.getByRole('link', { name: 'default' }).click();
    await heading(w, 'RouteConfig default');
  });
});
