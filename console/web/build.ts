/**
 * `npm run build:console`: bundles the console web app (console/web/src, Preact + uPlot) with esbuild into
 * console/web/dist/ — `index.html` and content-hashed `assets/app-<hash>.js` / `.css`, which console/static.ts
 * serves (hashed names cached for good). Everything the page needs is in those files: no CDN, font or
 * analytics host, so the console works offline and under its `script-src 'self'; style-src 'self'` CSP
 * (no inline script or style in index.html).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = path.join(HERE, 'dist');

export interface ConsoleBuild {
  outDir: string;
  /** Paths of the bundle under outDir, as index.html names them (`/assets/app-XXXX.js`). */
  script: string;
  stylesheet: string;
}

function page(script: string, stylesheet: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Agent Router Console</title>',
    // No favicon file: without this the browser asks for /favicon.ico and logs the 404.
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="${stylesheet}">`,
    `<script type="module" src="${script}"></script>`,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    '<noscript>The Agent Router Console needs JavaScript. The JSON API is under /api/v1/.</noscript>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Builds into `outDir`, emptied first so files of an older build never linger beside the new ones. */
export async function buildConsoleApp(outDir: string = DEFAULT_OUT_DIR): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(HERE, 'src/main.tsx') },
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map(
    (file) => `/${path.relative(outDir, path.resolve(file)).split(path.sep).join('/')}`,
  );
  const script = outputs.find((f) => f.endsWith('.js'));
  const stylesheet = outputs.find((f) => f.endsWith('.css'));
  if (script === undefined || stylesheet === undefined)
    throw new Error(`console build: expected one .js and one .css output, got ${outputs.join(', ')}`);
  writeFileSync(path.join(outDir, 'index.html'), page(script, stylesheet));
  return { outDir, script, stylesheet };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildConsoleApp(process.argv[2] ?? DEFAULT_OUT_DIR);
  console.log(`console web app built into ${built.outDir}: ${built.script}, ${built.stylesheet}`);
}
