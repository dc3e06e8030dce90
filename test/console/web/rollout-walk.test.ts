/**
 * The seed's last two steps in headless Chromium, over the real local stack with the real rollout
 * controller (ticking every 200 ms, as `agent-router start` runs it, on the stack's own SQLite store and
 * YAML file): an automated rollout of summarize-model advances 5 → 20 → 50 → 100 while the openai SDK
 * sends traffic and the page follows each step; then, stepped back to 95/5 from the page's canary
 * buttons, the candidate's simulated model server starts failing and the controller rolls it back to 0.
 * The page is only ever read here, never reloaded: the rollouts panel and the entries table follow the
 * controller on their own. After every test: loopback only, no console error.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ModelServer } from '../../../sim/model-server.ts';
import { type Browser, launchBrowser } from '../../helpers/browser.ts';
import { consolePages, heading } from './console-page.ts';
import { type ConsoleStack, startConsoleStack, ADMIN_TOKEN as TOKEN } from './console-stack.ts';

// Only the error-rate gate: the simulators answer in about a millisecond here, and a latency gate on
// figures that small would judge scheduling noise. The controller's own tests cover the other gates.
const ROLLOUT = `  rollouts:
    - model: summarize-model
      steps: [5, 20, 50, 100]
      stepDuration: 2s
      minRequests: 30
      gates: { errorRate: 5 }
  routes:
`;

let t: ConsoleStack;
let browser: Browser;
const pages = consolePages(
  () => browser,
  () => t.console.url,
  TOKEN,
);

beforeAll(async () => {
  // Loopback addresses no other suite uses, so this file runs beside the others.
  t = await startConsoleStack(
    { backends: '127.0.0.13', pods: '127.0.0.14' },
    {
      liveRollouts: { intervalMs: 200 },
      editConfig: (yaml) => {
        const edited = yaml.replace(/^ {2}routes:\n/m, ROLLOUT);
        if (edited === yaml)
          throw new Error('examples/local.yaml has no `  routes:` line to put the rollout before');
        return edited;
      },
    },
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

/** The weights of summarize-model's two entries in the YAML file now. */
function fileWeights(): Record<string, number> {
  const docs = parseAllDocuments(readFileSync(t.configPath, 'utf8')).map((d) => d.toJS());
  const routes = docs.find((d) => d?.kind === 'RouteConfig').spec.routes as {
    name: string;
    weight?: number;
  }[];
  return Object.fromEntries(
    routes.filter((r) => r.name.startsWith('summarize-')).map((r) => [r.name, r.weight ?? 1]),
  );
}

let sent = 0;
/**
 * Chat completions to summarize-model from the openai SDK, 8 at a time, each in a session of its own
 * (the step's minimum sample counts sessions too), until `done()` or `limit` requests; then the records
 * into the store. A failed request is part of the traffic (the failing canary's), not of the test.
 * Returns how many failed.
 */
async function traffic(done: () => boolean, limit: number): Promise<number> {
  const client = t.gateway();
  let failed = 0;
  let left = limit;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0 && !done()) {
        const i = sent++;
        await client.chat.completions
          .create(
            {
              model: 'summarize-model',
              messages: [{ role: 'user', content: `summarize ${i}` }],
              max_tokens: 2,
            },
            { headers: { 'x-session-id': `walk-${i}` } },
          )
          .catch(() => failed++);
      }
    }),
  );
  await t.stack.writer!.flush();
  return failed;
}

/** Sends traffic until `reached()`, for at most `waves` waves of 400 requests. */
async function trafficUntil(reached: () => Promise<boolean>, waves: number): Promise<void> {
  let met = await reached();
  for (let wave = 0; wave < waves && !met; wave++) {
    // Stop mid-wave once met: the next step's window should not start with a burst of this one's requests.
    let flag = false;
    const poll = setInterval(() => {
      void reached().then((r) => {
        flag = r;
      });
    }, 100);
    await traffic(() => flag, 400).finally(() => clearInterval(poll));
    met = flag || (await reached());
  }
  if (!met)
    throw new Error(
      `not reached after ${waves} waves of traffic; the file says ${JSON.stringify(fileWeights())}`,
    );
}

describe('automated canary progression in Chromium', () => {
  it('shows a healthy rollout advance 5 → 20 → 50 → 100 as the controller steps it, the file and the split following', async () => {
    const w = await pages.open('/routing/default');
    await heading(w, 'RouteConfig default');
    const row = w.page
      .getByRole('table', { name: 'Automated rollouts of default' })
      .getByRole('row', { name: /^summarize-model/ });
    await row.waitFor();
    expect(await row.locator('td').nth(0).textContent()).toBe('summarize-stable → summarize-canary');
    expect(await row.locator('td').nth(1).textContent()).toBe('5% of steps 5 → 20 → 50 → 100');
    expect(await row.locator('td').nth(2).textContent()).toBe('progressing');
    // Without traffic the step waits for its sample, and says so.
    await expect.poll(() => row.locator('td').nth(3).textContent(), { timeout: 10_000 }).toMatch(/^wait: /);

    const steps = w.page
      .getByRole('region', { name: 'Steps taken for summarize-model' })
      .getByRole('listitem');
    const stepTexts = async () =>
      (await steps.allTextContents()).map((text) => text.replace(/^\S+ \S+ /, '').replace(/: .*$/, ''));
    const entries = w.page.getByRole('table', { name: 'Route entries of default, in order' });
    /** The Weight cell of `entry`'s row in the entries table. */
    const weightShown = (entry: string) =>
      entries
        .locator('tbody tr')
        .filter({ has: w.page.locator('th', { hasText: new RegExp(`^${entry}$`) }) })
        .locator('td')
        .nth(3)
        .textContent();

    for (const [stage, listed] of [
      [20, 1],
      [50, 2],
      [100, 3],
    ] as const) {
      await trafficUntil(async () => fileWeights()['summarize-canary'] === stage, 8);
      // The page follows without a reload: the step appears in the list...
      await expect.poll(() => steps.count(), { timeout: 10_000 }).toBe(listed);
      // ...the rollouts table shows the stage...
      await expect
        .poll(() => row.locator('td').nth(1).textContent(), { timeout: 10_000 })
        .toBe(`${stage}% of steps 5 → 20 → 50 → 100`);
      // ...and the entries table shows the weights the controller wrote.
      await expect.poll(() => weightShown('summarize-canary'), { timeout: 10_000 }).toBe(String(stage));
      expect(fileWeights()).toEqual({ 'summarize-stable': 100 - stage, 'summarize-canary': stage });
    }
    expect(await stepTexts()).toEqual([
      'Advanced summarize-canary 5% → 20%',
      'Advanced summarize-canary 20% → 50%',
      'Advanced summarize-canary 50% → 100%',
    ]);
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 10_000 }).toBe('completed');
    await w.screenshot('rollout-advanced');

    // The split in force is the file's: every request now goes to the candidate.
    await expect
      .poll(
        () => {
          const split = t.stack.extProc.store.current.routeConfigs
            .get('default/default')
            ?.models.get('summarize-model')?.split;
          return Object.fromEntries((split?.entries ?? []).map((e) => [e.name, e.weight]));
        },
        { timeout: 10_000 },
      )
      .toEqual({ 'summarize-canary': 100 });
    expect(new Set(await t.chat('summarize-model', 20))).toEqual(new Set(['qwen3-8b-instruct']));
  }, 180_000);

  it('rolls a failing candidate back to 0 at once, stepped back to 95/5 from the page first', async () => {
    const w = await pages.open('/routing/default');
    await heading(w, 'RouteConfig default');
    // A person steps the finished rollout back to 95/5, as the canary buttons offer.
    const canary = w.page.getByRole('group', { name: /^Canary of summarize-model/ });
    await canary.getByText(/now 0\/100$/).waitFor();
    await canary.getByRole('button', { name: /^Canary stage 95\/5/ }).click();
    await canary.getByRole('button', { name: 'Confirm' }).click();
    await canary.getByText(/now 95\/5$/).waitFor();
    expect(fileWeights()).toEqual({ 'summarize-stable': 95, 'summarize-canary': 5 });
    const row = w.page
      .getByRole('table', { name: 'Automated rollouts of default' })
      .getByRole('row', { name: /^summarize-model/ });
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 10_000 }).toBe('progressing');

    // The candidate's model server (sim-llama-v2, summarize-canary's backend) now fails every request.
    const candidate = t.stack.sims.find((s: ModelServer) => s.name === 'sim-llama-v2');
    if (candidate === undefined) throw new Error('no simulator named sim-llama-v2 in the stack');
    candidate.setFault({ status: 500, message: 'simulated candidate failure' });
    try {
      await trafficUntil(async () => fileWeights()['summarize-canary'] === 0, 8);
    } finally {
      candidate.setFault(undefined);
    }
    expect(fileWeights()).toEqual({ 'summarize-stable': 100, 'summarize-canary': 0 });

    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 10_000 }).toBe('rolled-back');
    // The tick that rolled back, or a later one holding it there: either way with the gate's reason.
    expect(await row.locator('td').nth(3).textContent()).toMatch(
      /^(rollback|wait: rolled back): errorRate of summarize-canary is \+\d+\.\d+ pp against the baseline/,
    );
    const steps = w.page
      .getByRole('region', { name: 'Steps taken for summarize-model' })
      .getByRole('listitem');
    await expect.poll(() => steps.count(), { timeout: 10_000 }).toBe(4);
    const last = (await steps.allTextContents()).at(-1)!.replace(/^\S+ \S+ /, '');
    expect(last).toMatch(/^Rolled back summarize-canary 5% → 0%: .*errorRate/);
    // The rollback is shown in the alert colour, apart from the advances.
    expect(await steps.last().getAttribute('class')).toContain('transition-rollback');
    await w.screenshot('rollout-rolled-back');

    // Back on the baseline alone: the stable variant answers everything, the failure is over for clients.
    expect(new Set(await t.chat('summarize-model', 20))).toEqual(new Set(['qwen2.5-7b-instruct']));
  }, 180_000);
});
