/**
 * `npm run build:console` (console/web/build.ts): the bundle the console serves, checked as files and as
 * console/static.ts serves them — content-hashed names cached for good, an index.html that needs no
 * inline script or style (the CSP refuses them), and nothing that would load from another origin.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsoleApp } from '../../../console/static.ts';
import { buildConsoleApp, type ConsoleBuild } from '../../../console/web/build.ts';

let built: ConsoleBuild;
let server: http.Server;
let url: string;

beforeAll(async () => {
  built = await buildConsoleApp(mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-build-')));
  const app = loadConsoleApp(built.outDir);
  server = http.createServer((req, res) => {
    if (!app.serve(req, res, new URL(req.url ?? '/', 'http://x').pathname)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const read = (asset: string) => readFileSync(path.join(built.outDir, asset), 'utf8');

describe('the console web app build', () => {
  it('names its script and stylesheet by content hash, and index.html loads exactly those', () => {
    expect(built.script).toMatch(/^\/assets\/app-[0-9A-Z]{8,}\.js$/);
    expect(built.stylesheet).toMatch(/^\/assets\/app-[0-9A-Z]{8,}\.css$/);
    const html = read('index.html');
    expect(html).toContain(`<script type="module" src="${built.script}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="${built.stylesheet}">`);
  });

  it('needs no inline script or style, which the CSP refuses', () => {
    const html = read('index.html');
    expect(html.match(/<script\b[^>]*>[^<]+<\/script>/g)).toBeNull();
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('loads nothing from another origin: the only URLs in the bundle are XML namespace names', () => {
    const urls = [read(built.script), read(built.stylesheet), read('index.html')].flatMap(
      (text) => text.match(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)]*/gi) ?? [],
    );
    expect(new Set(urls)).toEqual(
      new Set([
        'http://www.w3.org/1998/Math/MathML',
        'http://www.w3.org/1999/xhtml',
        'http://www.w3.org/2000/svg',
      ]),
    );
    expect(read(built.stylesheet)).not.toMatch(/@import|url\((?!data:)/);
  });

  it('is served with the hashed assets cached for good and index.html for the app routes', async () => {
    const script = await fetch(`${url}${built.script}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const page = await fetch(`${url}/routing/default`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toBe(read('index.html'));
  });
});
