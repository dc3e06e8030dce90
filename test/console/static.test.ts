import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import { loadSnapshot } from '../../config/file-source.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { CONTENT_SECURITY_POLICY, loadConsoleApp } from '../../console/static.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

const CONFIG = path.join(import.meta.dirname, '../../examples/local.yaml');

describe('console web app files', () => {
  let store: RequestStore;
  let built: ConsoleServer;
  let unbuilt: ConsoleServer;

  beforeAll(async () => {
    const dist = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-app-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(path.join(dist, 'assets', 'app-3f9a1c2b.js'), 'console.log(1)');
    store = openSqliteStore({ dataDir: ':memory:' });
    const common = {
      host: '127.0.0.1',
      port: 0,
      store,
      config: { snapshot: loadSnapshot(CONFIG, { supportedProviders }) },
      adminToken: undefined,
      logger: capturingLogger().logger,
    };
    built = await startConsole({ ...common, app: loadConsoleApp(dist) });
    unbuilt = await startConsole({ ...common, app: loadConsoleApp(path.join(dist, 'nothing-here')) });
  });

  afterAll(async () => {
    await built?.close();
    await unbuilt?.close();
    await store?.close();
  });

  it('serves the page with a same-origin-only Content-Security-Policy', async () => {
    const response = await fetch(`${built.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('id="app"');
  });

  it("answers the app's own routes with the page, so a reload keeps the route", async () => {
    const response = await fetch(`${built.url}/keys/team-a`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('id="app"');
  });

  it('caches content-hashed assets for good and 404s a missing one', async () => {
    const asset = await fetch(`${built.url}/assets/app-3f9a1c2b.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${built.url}/assets/missing-00000000.js`)).status).toBe(404);
  });

  it('leaves /api/ to the API', async () => {
    const response = await fetch(`${built.url}/api/v1/nothing`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json');
  });

  it('explains how to build the app when there is no build', async () => {
    const response = await fetch(`${unbuilt.url}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build:console');
  });
});
