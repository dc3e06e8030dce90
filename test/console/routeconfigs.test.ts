/**
 * RouteConfig editing through the console, in file mode on a temporary copy of examples/local.yaml:
 * what each logical name does, previews with the loader's own problems and a diff, saves with version
 * checks that keep the author's comments and make the running configuration follow, and canary stages
 * through to the removal of the old route.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../config/snapshot.ts';
import { bearer, call, startWriteHarness, type WriteHarness } from './write-harness.ts';

describe('console RouteConfigs (file mode)', () => {
  let h: WriteHarness;
  beforeEach(async () => {
    h = await startWriteHarness();
  });
  afterEach(async () => {
    await h?.close();
  });
  const api = (p: string, method = 'GET', json?: unknown) =>
    call(`${h.url}/api/v1${p}`, method, { headers: bearer(), ...(json !== undefined ? { json } : {}) });
  const splitOf = (s: Snapshot, model: string) =>
    s.routeConfigs
      .get('default/default')!
      .models.get(model)
      ?.split?.entries.map((e) => `${e.name}=${e.weight}`)
      .join(' ');

  it('lists RouteConfigs and tells what each logical name does', async () => {
    const list = await api('/routeconfigs');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      {
        name: 'default',
        namespace: 'default',
        active: true,
        logicalModels: ['chat-model', 'llama-self-hosted', 'summarize-model'],
      },
    ]);

    const rc = await api('/routeconfigs/default');
    expect(rc.body.name).toBe('default');
    expect(rc.body.version).toMatch(/^[0-9a-f]{20}$/);
    expect(rc.body.spec.routes).toHaveLength(7);
    const strategies = Object.fromEntries(
      rc.body.logicalModels.map((m: { name: string; strategy: string }) => [m.name, m.strategy]),
    );
    expect(strategies).toEqual({
      'chat-model': 'split',
      'llama-self-hosted': 'single',
      'summarize-model': 'split',
    });
    const chat = rc.body.logicalModels.find((m: { name: string }) => m.name === 'chat-model');
    expect(chat.entries.map((e: { name: string; role: string }) => `${e.name}:${e.role}`)).toEqual([
      'chat-regulated:policy',
      'chat-v1:split',
      'chat-v2:split',
      'chat-fallback:fallback',
    ]);
    expect(chat.entries[1].resolvedModel).toBe('llama-3.1-8b-instruct');
    expect((await api('/routeconfigs/nope')).status).toBe(404);
  });

  it('previews an edit: the loader’s problems with field paths, reference errors included, and nothing written', async () => {
    const before = h.text();
    const { spec } = (await api('/routeconfigs/default')).body;
    spec.routes[1].weight = -5;
    spec.routes[2].backendRef = { name: 'no-such-backend' };
    const bad = await api('/routeconfigs/default/preview', 'POST', { spec });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems).toContainEqual({
      path: 'spec.routes[1].weight',
      message: expect.stringContaining('integer'),
    });
    spec.routes[1].weight = 50;
    const unresolved = await api('/routeconfigs/default/preview', 'POST', { spec });
    expect(unresolved.body.valid).toBe(false);
    expect(JSON.stringify(unresolved.body.problems)).toContain('no-such-backend');
    spec.routes[2].backendRef = { name: 'sim-llama-v2' };
    spec.routes[2].weight = 70;
    const good = await api('/routeconfigs/default/preview', 'POST', { spec });
    expect(good.body).toMatchObject({ valid: true, problems: [] });
    expect(good.body.diff).toMatch(/^--- a\/local\.yaml\n\+\+\+ b\/local\.yaml\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
    expect(good.body.diff).toContain('\n-      weight: 50\n+      weight: 70\n');
    expect(h.text()).toBe(before);
  });

  it('saves a new spec in place: comments stay, the version moves, and the running split follows', async () => {
    const before = h.text();
    const rc = (await api('/routeconfigs/default')).body;
    rc.spec.routes.find((r: { name: string }) => r.name === 'chat-v2').weight = 70;
    rc.spec.routes.find((r: { name: string }) => r.name === 'chat-v1').weight = 30;
    const saved = await api('/routeconfigs/default', 'PUT', { spec: rc.spec, version: rc.version });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.version).not.toBe(rc.version);
    expect(saved.body.spec).toEqual(rc.spec);
    expect((await api('/routeconfigs/default')).body.version).toBe(saved.body.version);
    await h.applied((s) => splitOf(s, 'chat-model') === 'chat-v1=30 chat-v2=70');
    const after = h.text();
    for (const comment of before.split('\n').filter((l) => l.trimStart().startsWith('#')))
      expect(after).toContain(comment);
    expect(after.split('\n').length).toBe(before.split('\n').length);
  });

  it('refuses a stale version with 409 and an invalid spec with 422 and its problems, leaving the file alone', async () => {
    const rc = (await api('/routeconfigs/default')).body;
    await api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'summarize-model',
      stage: 20,
      version: rc.version,
    });
    const before = h.text();
    const stale = await api('/routeconfigs/default', 'PUT', { spec: rc.spec, version: rc.version });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    const fresh = (await api('/routeconfigs/default')).body;
    fresh.spec.routes[0].backendRef = { name: 'missing-backend' };
    fresh.spec.fallback.perAttemptTimeout = 'soon';
    const invalid = await api('/routeconfigs/default', 'PUT', { spec: fresh.spec, version: fresh.version });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('invalid_config');
    expect(invalid.body.problems).toContainEqual({
      path: 'spec.fallback.perAttemptTimeout',
      message: expect.stringContaining('duration'),
    });
    const missingVersion = await api('/routeconfigs/default', 'PUT', { spec: fresh.spec });
    expect(missingVersion.status).toBe(400);
    expect(h.text()).toBe(before);
  });

  it('steps a canary 95/5 → 80/20 → 50/50 → 0/100, then removes the old route', async () => {
    const before = h.text();
    let version = (await api('/routeconfigs/default')).body.version as string;
    for (const stage of [20, 50, 100]) {
      const answer = await api('/routeconfigs/default/canary', 'POST', {
        logicalModel: 'summarize-model',
        stage,
        version,
      });
      expect(answer.status, answer.text).toBe(200);
      version = answer.body.version;
      const entries = answer.body.logicalModels.find(
        (m: { name: string }) => m.name === 'summarize-model',
      ).entries;
      expect(entries.map((e: { name: string; weight: number }) => `${e.name}=${e.weight}`)).toEqual([
        `summarize-stable=${100 - stage}`,
        `summarize-canary=${stage}`,
      ]);
      await h.applied((s) =>
        stage === 100
          ? splitOf(s, 'summarize-model') === 'summarize-canary=100'
          : splitOf(s, 'summarize-model') === `summarize-stable=${100 - stage} summarize-canary=${stage}`,
      );
    }
    // The old variant was not marked: the first stage marked it, so it stays the old one past 50/50.
    expect(h.text()).toContain('      weight: 0\n      baseline: true\n');
    const removed = await api('/routeconfigs/default/remove-old', 'POST', {
      logicalModel: 'summarize-model',
      version,
    });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.spec.routes.map((r: { name: string }) => r.name)).not.toContain('summarize-stable');
    await h.applied((s) => s.entries.get('default/default/summarize-stable') === undefined);
    const after = h.text();
    expect(after).not.toContain('summarize-stable');
    expect(after).toContain('    # Canary: 95% stable, 5% candidate.\n');
    expect(after).toContain('    - name: summarize-canary\n');
    expect(before).toContain('    - name: summarize-stable\n');
  });

  it('keeps the marked baseline as the old variant (chat-model: chat-v1) at every stage', async () => {
    const { version } = (await api('/routeconfigs/default')).body;
    const answer = await api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'chat-model',
      stage: 5,
      version,
    });
    expect(answer.status, answer.text).toBe(200);
    await h.applied((s) => splitOf(s, 'chat-model') === 'chat-v1=95 chat-v2=5');
  });

  it('refuses a canary on a logical name without exactly two weighted variants, a wrong stage, and remove-old before cutover', async () => {
    const before = h.text();
    const { version } = (await api('/routeconfigs/default')).body;
    const single = await api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'llama-self-hosted',
      stage: 20,
      version,
    });
    expect(single.status).toBe(409);
    expect(single.body.error.code).toBe('not_two_variants');
    expect(single.body.error.message).toContain('1 (llama-self-hosted)');
    const unknown = await api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'nope',
      stage: 20,
      version,
    });
    expect(unknown.status).toBe(404);
    const stage = await api('/routeconfigs/default/canary', 'POST', {
      logicalModel: 'summarize-model',
      stage: 30,
      version,
    });
    expect(stage.status).toBe(400);
    expect(stage.body.error.param).toBe('stage');
    const early = await api('/routeconfigs/default/remove-old', 'POST', {
      logicalModel: 'summarize-model',
      version,
    });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('not_cut_over');
    expect(h.text()).toBe(before);
  });
});
