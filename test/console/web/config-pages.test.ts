/**
 * The console's write pages in headless Chromium over the real local stack (console-stack.ts), with the
 * console's file writer editing the stack's own YAML file: create an API key (its secret shown once, then
 * used through the gateway), disable it; edit route entries with problems shown by field path before
 * saving and a diff before each save; step a canary 95/5 → 80/20 → 50/50 → 0/100 and remove the old
 * route, seeing the file change and the split follow; and a read-only console that offers no write
 * control. After every test: loopback only, no console error.
 */
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../../console/rollout/controller.ts';
import { type Browser, launchBrowser } from '../../helpers/browser.ts';
import { consolePages, expectLabelled, heading } from './console-page.ts';
import { type ConsoleStack, startConsoleStack, ADMIN_TOKEN as TOKEN } from './console-stack.ts';

let t: ConsoleStack;
let rollouts: RolloutStatus[] = [];
let browser: Browser;
const pages = consolePages(
  () => browser,
  () => t.console.url,
  TOKEN,
);
const open = pages.open;

beforeAll(async () => {
  // Loopback addresses no other suite uses, so this file runs beside the others.
  t = await startConsoleStack(
    { backends: '127.0.0.10', pods: '127.0.0.11' },
    // The controller's own tests drive it; here the page shows what the console reports of it.
    { rollouts: { status: () => rollouts } },
  );
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

const file = () => readFileSync(t.configPath, 'utf8');
const bearer = { authorization: `Bearer ${TOKEN}` };

/** The weights of `model`'s split in the configuration ext-proc routes with now. */
function splitInForce(model: string): Record<string, number> {
  const split = t.stack.extProc.store.current.routeConfigs.get('default/default')?.models.get(model)?.split;
  return Object.fromEntries((split?.entries ?? []).map((e) => [e.name, e.weight]));
}

describe('API keys in Chromium', () => {
  it('creates a key whose secret is shown once and works at the gateway, then disables it', async () => {
    const w = await open('/keys');
    await heading(w, 'API keys');
    const keys = w.page.getByRole('table', { name: 'Gateway keys' });
    await keys.getByRole('link', { name: 'team-a' }).waitFor();
    expect(await keys.locator('tbody th').allTextContents()).toEqual(['retired', 'team-a', 'team-b']);

    await w.page.getByLabel('Name').fill('team-c');
    await w.page.getByLabel('RouteConfig').selectOption('default');
    await w.page.getByLabel('Attributes').fill('tenant=team-c, tier=gold');
    await expectLabelled(w);
    await w.page.getByRole('button', { name: 'Create key' }).click();
    const secretField = w.page.getByLabel('Secret of team-c');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await w.screenshot('keys');
    expect(file()).toMatch(/kind: APIKey\nmetadata:\n {2}name: team-c\n/);

    // The hot reload applies the new key: the gateway takes it.
    const client = new OpenAI({ baseURL: `${t.stack.gatewayUrl}/v1`, apiKey: secret, maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 2,
      });
    await expect
      .poll(
        () =>
          ask().then(
            () => 'answered',
            (e: Error) => e.message,
          ),
        { timeout: 10_000 },
      )
      .toBe('answered');

    // Shown once: after the acknowledgement it is gone from the page, and the detail page never has it.
    await w.page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await w.page.content()).not.toContain(secret);
    await keys.getByRole('link', { name: 'team-c' }).click();
    await heading(w, 'API key team-c');
    const attributes = w.page.getByRole('table', { name: 'Attributes of team-c' });
    await attributes.waitFor();
    expect(await attributes.locator('tbody th').allTextContents()).toEqual(['tenant', 'tier']);
    expect(await attributes.locator('tbody td').allTextContents()).toEqual(['team-c', 'gold']);
    expect(await w.page.content()).not.toContain(secret);
    await w.page.getByRole('button', { name: 'Disable team-c' }).click();
    await w.page.getByRole('button', { name: 'Enable team-c' }).waitFor();
    await w.page
      .getByRole('definition')
      .filter({ hasText: /^disabled$/ })
      .waitFor();
    await expectLabelled(w);
    await w.screenshot('key');
    await expect
      .poll(
        () =>
          ask().then(
            () => 'answered',
            (e: { status?: number }) => e.status,
          ),
        { timeout: 10_000 },
      )
      .toBe(401);
  });
});

describe('routing configuration in Chromium', () => {
  it('shows the entries table and what each logical name does', async () => {
    const w = await open('/routing');
    await heading(w, 'Routing configurations');
    await w.page.getByRole('link', { name: 'default' }).click();
    await heading(w, 'RouteConfig default');
    const entries = w.page.getByRole('table', { name: 'Route entries of default, in order' });
    await entries.waitFor();
    expect(await entries.locator('tbody th').allTextContents()).toEqual([
      'chat-regulated',
      'chat-v1',
      'chat-v2',
      'chat-fallback',
      'llama-self-hosted',
      'summarize-stable',
      'summarize-canary',
    ]);
    expect(await entries.locator('tbody tr').nth(0).textContent()).toContain(
      'header x-data-class = regulated',
    );
    const chat = w.page.getByRole('region', { name: /^chat-model/ });
    await chat.getByText('split', { exact: true }).waitFor();
    await chat.getByText(/^Policy: chat-regulated .* when its match condition holds\.$/).waitFor();
    await chat.getByText(/^Split by weight, sticky per session: chat-v1 .* 50%, chat-v2 .* 50%\.$/).waitFor();
    await chat.getByText(/^Fallback chain on failure: chat-fallback /).waitFor();
    expect(await w.page.getByRole('switch', { name: 'Active' }).isChecked()).toBe(true);
    await expectLabelled(w);
    await w.screenshot('routing');
  });

  it("shows each automated rollout's stage, phase and last decision, following the controller", async () => {
    const progressing: RolloutStatus = {
      routeConfig: 'default/default',
      model: 'summarize-model',
      baseline: 'summarize-stable',
      candidate: 'summarize-canary',
      stage: 20,
      steps: [5, 20, 50, 100],
      phase: 'progressing',
      stepStartedAt: Date.now() - 60_000,
      decision: 'wait',
      reason: 'holding 20% for 240 s more',
      decidedAt: Date.now(),
      transitions: [
        { decision: 'advance', from: 0, to: 5, reason: 'first step', at: Date.now() - 120_000 },
        {
          decision: 'advance',
          from: 5,
          to: 20,
          reason: 'every gate held over 412 requests',
          at: Date.now() - 60_000,
        },
      ],
    };
    rollouts = [progressing];
    const w = await open('/routing/default');
    const table = w.page.getByRole('table', { name: 'Automated rollouts of default' });
    const row = table.getByRole('row', { name: /^summarize-model/ });
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      'summarize-stable → summarize-canary',
      '20% of steps 5 → 20 → 50 → 100',
      'progressing',
      'wait: holding 20% for 240 s more',
      expect.stringMatching(/^\d{4}-\d{2}-\d{2} /),
    ]);
    await w.screenshot('rollouts');
    rollouts = [
      {
        ...progressing,
        stage: 0,
        phase: 'rolled-back',
        decision: 'rollback',
        reason: 'errorRate worse than the baseline',
        transitions: [
          ...progressing.transitions,
          {
            decision: 'rollback',
            from: 20,
            to: 0,
            reason: 'errorRate worse than the baseline',
            at: Date.now(),
          },
        ],
      },
    ];
    // The panel re-reads as the controller ticks: no reload.
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 15_000 }).toBe('rolled-back');
    expect(await row.locator('td').nth(3).textContent()).toBe('rollback: errorRate worse than the baseline');
    // Each step the controller took is listed, the rollback last.
    const steps = w.page
      .getByRole('region', { name: 'Steps taken for summarize-model' })
      .getByRole('listitem');
    await expect.poll(() => steps.count()).toBe(3);
    expect((await steps.allTextContents()).map((t) => t.replace(/^\S+ \S+ /, ''))).toEqual([
      'Advanced summarize-canary 0% → 5%: first step',
      'Advanced summarize-canary 5% → 20%: every gate held over 412 requests',
      'Rolled back summarize-canary 20% → 0%: errorRate worse than the baseline',
    ]);
    rollouts = [];
  });

  it('shows problems by field path before saving, a diff before the save, and saves through the file', async () => {
    const w = await open('/routing/default');
    await heading(w, 'RouteConfig default');
    await w.page.getByRole('button', { name: 'Edit entry summarize-canary' }).click();
    const editor = w.page.getByRole('form', { name: 'Edit entry summarize-canary' });
    await editor.getByLabel('Weight').fill('lots');
    await editor.getByRole('button', { name: 'Apply to draft' }).click();
    await editor.getByText('spec.routes[6].weight', { exact: true }).waitFor();

    // The server's validation, the same as file and Kubernetes mode apply: an unknown backend.
    await editor.getByLabel('Weight').fill('5');
    await editor.getByLabel('Backend', { exact: true }).fill('no-such-backend');
    await editor.getByRole('button', { name: 'Apply to draft' }).click();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    const problems = w.page.getByRole('alert').filter({ hasText: 'the configuration would be invalid' });
    await problems.waitFor();
    expect(await problems.locator('code').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^spec\.routes\[6\]/)]),
    );
    expect(await w.page.getByRole('button', { name: 'Save changes' }).isDisabled()).toBe(true);
    await w.screenshot('routeconfig-problems');

    // A valid edit: its diff, then the save.
    await w.page.getByRole('button', { name: 'Edit entry summarize-canary' }).click();
    await editor.getByLabel('Backend', { exact: true }).fill('sim-llama-v2');
    await editor.getByLabel('Priority').fill('0');
    await editor.getByRole('button', { name: 'Apply to draft' }).click();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    const diff = w.page.getByRole('figure', { name: 'Diff of the change' });
    await diff.waitFor();
    expect(await diff.textContent()).toMatch(/^\+.*priority: 0$/m);
    const before = file();
    await w.page.getByRole('button', { name: 'Save changes' }).click();
    await w.page.getByText('No unsaved changes. Saved.').waitFor();
    const after = file();
    expect(after).not.toBe(before);
    expect(after).toMatch(/name: summarize-canary[\s\S]*priority: 0/);
    // Comments of the file survive the edit.
    expect(after).toContain('# Canary: 95% stable, 5% candidate.');

    // Add an entry, then remove it again, each through review and save.
    await w.page.getByRole('button', { name: 'Add an entry' }).click();
    const adder = w.page.getByRole('form', { name: 'Add an entry' });
    await adder.getByLabel('Entry name').fill('summarize-shadow');
    await adder.getByLabel('Logical name').fill('summarize-model');
    await adder.getByLabel('Resolved model').fill('qwen2.5-7b-instruct');
    await adder.getByLabel('Backend', { exact: true }).fill('sim-qwen');
    await adder.getByLabel('Priority').fill('2');
    await adder.getByRole('button', { name: 'Add to draft' }).click();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    expect(await diff.textContent()).toMatch(/^\+.*summarize-shadow/m);
    await w.page.getByRole('button', { name: 'Save changes' }).click();
    await w.page.getByText('No unsaved changes. Saved.').waitFor();
    expect(file()).toContain('summarize-shadow');
    await w.page
      .getByRole('region', { name: /^summarize-model/ })
      .getByText(/^Fallback chain on failure: summarize-shadow/)
      .waitFor();
    await w.page.getByRole('button', { name: 'Remove entry summarize-shadow' }).click();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    expect(await diff.textContent()).toMatch(/^-.*summarize-shadow/m);
    await w.page.getByRole('button', { name: 'Save changes' }).click();
    await w.page.getByText('No unsaved changes. Saved.').waitFor();
    expect(file()).not.toContain('summarize-shadow');

    // Someone else saves between this page's review and its save: the save is refused (409) and says so.
    await w.page.getByRole('button', { name: 'Edit entry chat-fallback' }).click();
    await w.page.getByRole('form', { name: 'Edit entry chat-fallback' }).getByLabel('Priority').fill('2');
    await w.page.getByRole('button', { name: 'Apply to draft' }).click();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    await diff.waitFor();
    const current = (await fetch(`${t.console.url}/api/v1/routeconfigs/default`, { headers: bearer }).then(
      (r) => r.json(),
    )) as { version: string };
    const elsewhere = await fetch(`${t.console.url}/api/v1/routeconfigs/default/canary`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ logicalModel: 'summarize-model', stage: 5, version: current.version }),
    });
    expect(elsewhere.status).toBe(200);
    w.expectFailedLoad('/api/v1/routeconfigs/default', 409);
    await w.page.getByRole('button', { name: 'Save changes' }).click();
    await w.page
      .getByRole('alert')
      .filter({ hasText: 'Someone changed this RouteConfig since it was loaded' })
      .waitFor();
    expect(file()).toMatch(/name: chat-fallback\n(?:.*\n)*? {6}priority: 1\n/);
    await w.page.getByRole('button', { name: 'Discard changes' }).click();

    // The Active toggle is part of the draft, reviewed like any edit; discarded here.
    await w.page.getByRole('switch', { name: 'Active' }).uncheck();
    await w.page.getByRole('button', { name: 'Review changes' }).click();
    expect(await diff.textContent()).toMatch(/^\+.*active: false$/m);
    await w.page.getByRole('button', { name: 'Discard changes' }).click();
    expect(await w.page.getByRole('switch', { name: 'Active' }).isChecked()).toBe(true);
    await w.screenshot('routeconfig');
  });

  it('steps the summarize-model canary 95/5 → 80/20 → 50/50 → 0/100, the file and the split following, then removes the old route', async () => {
    const w = await open('/routing/default');
    await heading(w, 'RouteConfig default');
    const canary = w.page.getByRole('group', { name: /^Canary of summarize-model/ });
    await canary.getByText(/now 95\/5$/).waitFor();
    expect(
      await canary.getByRole('button', { name: /^Canary stage 95\/5/ }).getAttribute('aria-current'),
    ).toBe('step');

    await canary.getByRole('button', { name: /^Canary stage 80\/20/ }).click();
    await canary.getByText('Change weights: summarize-stable 95 → 80, summarize-canary 5 → 20.').waitFor();
    await canary.getByRole('button', { name: 'Confirm' }).click();
    await canary.getByText(/now 80\/20$/).waitFor();
    expect(file()).toMatch(/name: summarize-stable[\s\S]*?weight: 80/);
    expect(file()).toMatch(/name: summarize-canary[\s\S]*?weight: 20/);
    await expect
      .poll(() => splitInForce('summarize-model'), { timeout: 10_000 })
      .toEqual({
        'summarize-stable': 80,
        'summarize-canary': 20,
      });
    // The split follows: Binomial(400, 0.2) has sd 2%, so 12–28% is 4 sd either side.
    const resolved = await t.chat('summarize-model', 400);
    const share = resolved.filter((m) => m === 'qwen3-8b-instruct').length / resolved.length;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.28);
    await w.screenshot('canary');

    for (const [stage, now] of [
      ['50/50', '50/50'],
      ['0/100', '0/100'],
    ] as const) {
      await canary.getByRole('button', { name: new RegExp(`^Canary stage ${stage}`) }).click();
      await canary.getByRole('button', { name: 'Confirm' }).click();
      await canary.getByText(new RegExp(`now ${now}$`)).waitFor();
    }
    await expect
      .poll(() => splitInForce('summarize-model'), { timeout: 10_000 })
      .toEqual({ 'summarize-canary': 100 });
    expect(new Set(await t.chat('summarize-model', 20))).toEqual(new Set(['qwen3-8b-instruct']));

    await canary.getByRole('button', { name: 'Remove the old route (summarize-stable)' }).click();
    await canary.getByRole('button', { name: 'Confirm' }).click();
    const entries = w.page.getByRole('table', { name: 'Route entries of default, in order' });
    await expect.poll(() => entries.locator('tbody th').allTextContents()).not.toContain('summarize-stable');
    expect(file()).not.toContain('name: summarize-stable');
  });
});

describe('a read-only console in Chromium', () => {
  let readOnlyUrl: string;
  const readOnlyPages = consolePages(
    () => browser,
    () => readOnlyUrl,
    TOKEN,
  );
  beforeAll(async () => {
    readOnlyUrl = (await t.readOnlyConsole()).url;
  });
  afterEach(() => readOnlyPages.closeChecked());

  it('shows keys and routing but offers no write control', async () => {
    const keys = await readOnlyPages.open('/keys');
    await heading(keys, 'API keys');
    await keys.page
      .getByRole('table', { name: 'Gateway keys' })
      .getByRole('link', { name: 'team-a' })
      .waitFor();
    await keys.page.getByText('file mode, read-only').waitFor();
    await keys.page.getByText('This console is read-only').waitFor();
    expect(await keys.page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    await keys.page.getByRole('link', { name: 'team-a' }).click();
    await heading(keys, 'API key team-a');
    await keys.page.getByRole('table', { name: 'Attributes of team-a' }).waitFor();
    expect(await keys.page.getByRole('button', { name: /^(Disable|Enable) / }).count()).toBe(0);
    await readOnlyPages.closeChecked();

    const routing = await readOnlyPages.open('/routing/default');
    await heading(routing, 'RouteConfig default');
    await routing.page.getByRole('table', { name: 'Route entries of default, in order' }).waitFor();
    expect(await routing.page.getByRole('switch', { name: 'Active' }).isDisabled()).toBe(true);
    await routing.page.getByText('No rollout controller runs in this console').waitFor();
    for (const name of [/^Edit entry /, /^Remove entry /, /^Canary stage /, 'Add an entry', 'Review changes'])
      expect(await routing.page.getByRole('button', { name }).count()).toBe(0);
    await expectLabelled(routing);
    await routing.screenshot('routing-read-only');
  });
});
