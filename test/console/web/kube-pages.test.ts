/**
 * The console web app in Kubernetes mode, in headless Chromium: the console reads and writes through
 * the list/watch test server with server-side apply (test/kube/fake-api-server.ts stands in for the API
 * server, which cannot run here), its running configuration a real KubeSource. The key and RouteConfig
 * pages show the status conditions the cluster reports — what is not True said in words, a condition of
 * an older generation called not yet reconciled — and a canary step refused because another field manager
 * owns the weights shows the API server's message, naming the manager and the field.
 *
 * After every test: no request from the page left loopback, and the page logged no console error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConsoleApp } from '../../../console/static.ts';
import { buildConsoleApp } from '../../../console/web/build.ts';
import { type Browser, launchBrowser } from '../../helpers/browser.ts';
import { capturingLogger } from '../../helpers/log-capture.ts';
import type { FakeApiServer } from '../../kube/fake-api-server.ts';
import { NS, routeConfig } from '../../kube/objects.ts';
import { AB_SPLIT, type KubeConsole, startKubeConsole } from '../kube-console.ts';
import { consolePages, expectLabelled, heading } from './console-page.ts';

const TOKEN = 'kube-pages-admin-token-7a41';

let kube: KubeConsole;
let fake: FakeApiServer;
let browser: Browser;
const pages = consolePages(
  () => browser,
  () => kube.server.url,
  TOKEN,
);

beforeAll(async () => {
  kube = await startKubeConsole({
    token: TOKEN,
    logger: capturingLogger().logger,
    app: async (dir) => loadConsoleApp((await buildConsoleApp(dir)).outDir),
  });
  fake = kube.fake;
  browser = await launchBrowser();
}, 60_000);

afterEach(() => pages.closeChecked());

afterAll(async () => {
  await browser?.close();
  await kube?.close();
});

const now = new Date().toISOString();

describe('the console in Kubernetes mode, in Chromium', () => {
  it("shows a key's status conditions, and says in words the one that is not True", async () => {
    fake.patchStatus('APIKey', NS, 'team-a', {
      status: {
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'accepted and in use',
            lastTransitionTime: now,
            observedGeneration: 1,
          },
          {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'SecretNotFound',
            message: 'spec.secretRef: Secret "team-a-rotated" not found in namespace "apps"',
            lastTransitionTime: now,
            observedGeneration: 1,
          },
        ],
      },
    });
    const w = await pages.open('/keys/team-a');
    await heading(w, 'API key team-a');
    const table = w.page.getByRole('table', { name: 'Status conditions of API key team-a' });
    await table.waitFor();
    expect(await table.locator('tbody tr th').allTextContents()).toEqual(['Accepted', 'ResolvedRefs']);
    expect(await table.locator('tbody tr').nth(1).locator('td').allTextContents()).toEqual([
      'False',
      'SecretNotFound',
      'spec.secretRef: Secret "team-a-rotated" not found in namespace "apps"',
      '1',
      expect.stringMatching(/^\d{4}-\d{2}-\d{2} /),
    ]);
    await w.page
      .getByRole('status')
      .filter({
        hasText:
          'ResolvedRefs is False (SecretNotFound): spec.secretRef: Secret "team-a-rotated" not found in namespace "apps"',
      })
      .waitFor();
    await expectLabelled(w);
    await w.screenshot('kube-key-conditions');
  });

  it("shows a RouteConfig's conditions, calling one of an older generation not yet reconciled", async () => {
    // Another spec change moves the generation past what the conditions speak of.
    fake.apply(routeConfig('ab', AB_SPLIT(), { active: true }));
    const generation = fake.get('RouteConfig', NS, 'ab')!.metadata.generation as number;
    expect(generation).toBeGreaterThan(1);
    fake.patchStatus('RouteConfig', NS, 'ab', {
      status: {
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'accepted and in use',
            lastTransitionTime: now,
            observedGeneration: generation - 1,
          },
        ],
      },
    });
    const w = await pages.open('/routing/ab');
    await heading(w, 'RouteConfig ab');
    const table = w.page.getByRole('table', { name: 'Status conditions of RouteConfig ab' });
    await table.waitFor();
    expect(await table.locator('tbody tr td').first().textContent()).toBe('True');
    await w.page
      .getByRole('status')
      .filter({
        hasText: `Accepted speaks of generation ${generation - 1}; the spec is at generation ${generation}, not yet reconciled`,
      })
      .waitFor();
    await expectLabelled(w);
    await w.screenshot('kube-routeconfig-conditions');
  });

  it('shows the API server’s conflict when another field manager owns the weights, and changes nothing', async () => {
    fake.serverSideApply(routeConfig('ab', AB_SPLIT(), { active: true }), 'argocd');
    const w = await pages.open('/routing/ab');
    await heading(w, 'RouteConfig ab');
    const canary = w.page.getByRole('group', { name: /^Canary of ab-model/ });
    await canary.getByRole('button', { name: /^Canary stage 80\/20/ }).click();
    w.expectFailedLoad('/api/v1/routeconfigs/ab/canary', 409);
    await canary.getByRole('button', { name: 'Confirm' }).click();
    const alert = w.page.getByRole('alert').filter({ hasText: '409 source_conflict' });
    await alert.waitFor();
    const text = (await alert.textContent())!;
    expect(text).toContain('conflict with "argocd"');
    expect(text).toContain('.spec.routes');
    expect(
      (fake.get('RouteConfig', NS, 'ab')!.spec as { routes: { weight: number }[] }).routes[1]!.weight,
    ).toBe(5);
    await w.screenshot('kube-routeconfig-conflict');
  });
});
