/**
 * The console web app's files, as the build left them in `console/web/dist/` (`npm run build:console`):
 * read once at start into memory, served with a Content-Security-Policy that lets the page load only
 * from this origin (no CDN, font or analytics host), so it works offline and an injected script has
 * nowhere to send what it reads. Paths outside `/api/` that name no file get `index.html`, so the app's
 * own routes (`/keys/team-a`) survive a reload.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_APP_DIR = fileURLToPath(new URL('./web/dist/', import.meta.url));

/**
 * Same-origin only. `connect-src 'self'` keeps fetches on the console; `frame-ancestors 'none'` stops
 * click-jacking of the write controls; inline scripts and styles are refused, so the bundle must not
 * need them.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers every page and asset carries. */
export const APP_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface AppFile {
  body: Buffer;
  type: string;
  /** Names with a content hash (`app-3f9a1c.js`) never change: cached for a year; the rest revalidate. */
  immutable: boolean;
}

export interface ConsoleApp {
  /** Answers GET/HEAD of an app path; false when `pathname` is not the app's (an /api/ path). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): boolean;
  /** Whether a build was found; without one every page explains how to build it. */
  readonly built: boolean;
}

const HASHED = /[.-][0-9a-zA-Z_-]{8,}\.(js|css|woff2|svg|png)$/;

function readTree(root: string): Map<string, AppFile> {
  const files = new Map<string, AppFile>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const url = `/${path.relative(root, full).split(path.sep).join('/')}`;
        files.set(url, {
          body: readFileSync(full),
          type: TYPES[path.extname(name)] ?? 'application/octet-stream',
          immutable: HASHED.test(name),
        });
      }
    }
  };
  walk(root);
  return files;
}

const NOT_BUILT = Buffer.from(
  '<!doctype html><meta charset="utf-8"><title>Agent Router Console</title>' +
    '<p>The console web app is not built. Run <code>npm run build:console</code> (npm start and the ' +
    'Docker image do), then reload. The JSON API is under <code>/api/v1/</code>.</p>\n',
);

export function loadConsoleApp(dir: string = DEFAULT_APP_DIR): ConsoleApp {
  const files = existsSync(path.join(dir, 'index.html')) ? readTree(dir) : new Map<string, AppFile>();
  const index = files.get('/index.html');
  return {
    built: index !== undefined,
    serve(req, res, pathname) {
      if (pathname.startsWith('/api/')) return false;
      const file = files.get(pathname) ?? (path.extname(pathname) === '' ? index : undefined);
      const headers: Record<string, string | number> = { ...APP_HEADERS };
      if (file === undefined) {
        const body = index === undefined && path.extname(pathname) === '' ? NOT_BUILT : undefined;
        res.writeHead(body ? 503 : 404, {
          ...headers,
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          ...(body ? { 'content-length': body.length } : {}),
        });
        res.end(req.method === 'HEAD' ? undefined : (body ?? 'not found\n'));
        return true;
      }
      headers['content-type'] = file.type;
      headers['content-length'] = file.body.length;
      headers['cache-control'] = file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return true;
    },
  };
}
