/**
 * `agent-router console`: the analytics and experiments API over the request store, JSON under
 * `/api/v1/` (node:http; read-only, GET):
 *
 *   GET /api/v1/requests                         Request Logs (requests.ts)
 *   GET /api/v1/usage                            Usage Analytics (usage.ts)
 *   GET /api/v1/experiments/{logicalModel}       the split's variants compared with the baseline (experiments.ts)
 *   GET /api/v1/experiments/{logicalModel}/gate  the same as 200/412, for rollout webhooks
 *   GET /healthz                                 liveness, unauthenticated
 *   GET /…                                       the web app (static.ts), unauthenticated: it holds no data
 *
 * Every `/api/` request needs the admin token (auth.ts) unless the console was started without one,
 * which the CLI allows only on a loopback address. Errors are the OpenAI-like error object (errors.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestStore } from '../analytics/store/store.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { Logger } from '../observability/logger.ts';
import { type AdminToken, checkBearer } from './auth.ts';
import { ConsoleError, consoleErrors } from './errors.ts';
import { decodeModel, experimentEndpoint, gateEndpoint } from './experiments.ts';
import { requestsEndpoint } from './requests.ts';
import { type ConsoleApp, loadConsoleApp } from './static.ts';
import { usageEndpoint } from './usage.ts';

export const DEFAULT_CONSOLE_PORT = 8081;

export interface ConsoleOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  store: RequestStore;
  /** The configuration in force (the experiments' splits); a SnapshotStore, or a Kubernetes source. */
  config: { readonly current: Snapshot } | { readonly snapshot: Snapshot };
  /** Undefined: the API is open (only on loopback: the CLI refuses it elsewhere). */
  adminToken: AdminToken | undefined;
  logger: Logger;
  now?: () => number;
  /** The web app's files; default the build in console/web/dist. */
  app?: ConsoleApp;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

/** Thrown by a store that is not connected yet (cli/request-store.ts), answered 503. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

const EXPERIMENT_PATH = /^\/api\/v1\/experiments\/([^/]+)(\/gate)?$/;

interface Answer {
  status: number;
  body: unknown;
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { store, logger } = options;
  const app = options.app ?? loadConsoleApp();
  const now = options.now ?? Date.now;
  const snapshot = () => ('current' in options.config ? options.config.current : options.config.snapshot);

  const route = async (req: http.IncomingMessage, path: string, params: URLSearchParams): Promise<Answer> => {
    if (options.adminToken !== undefined) {
      const denied = checkBearer(req.headers.authorization, options.adminToken);
      if (denied) throw denied;
    }
    const t = now();
    if (path === '/api/v1/requests') return { status: 200, body: await requestsEndpoint(store, params, t) };
    if (path === '/api/v1/usage') return { status: 200, body: await usageEndpoint(store, params, t) };
    const experiment = EXPERIMENT_PATH.exec(path);
    if (experiment !== null) {
      const model = decodeModel(experiment[1]!);
      if (experiment[2] !== undefined) return gateEndpoint(store, snapshot(), model, params, t);
      return { status: 200, body: await experimentEndpoint(store, snapshot(), model, params, t) };
    }
    throw consoleErrors.notFound(path);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && app.serve(req, res, path)) return;
    const answer =
      req.method !== 'GET' && req.method !== 'HEAD'
        ? Promise.reject(consoleErrors.methodNotAllowed(req.method ?? ''))
        : path.startsWith('/api/')
          ? route(req, path, url.searchParams)
          : Promise.reject(consoleErrors.notFound(path));
    answer
      .catch((error: unknown): Answer => {
        const e = toConsoleError(error);
        if (e.status >= 500)
          logger.error(
            { event: 'console_failed', path, err: error instanceof Error ? error.message : String(error) },
            'console request failed',
          );
        return { status: e.status, body: e.toBody() };
      })
      .then(({ status, body }) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          // Answers carry request data: no shared cache keeps them.
          'cache-control': 'no-store',
          ...(status === 401 ? { 'www-authenticate': 'Bearer realm="agent-router console"' } : {}),
          ...(status === 405 ? { allow: 'GET, HEAD' } : {}),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  logger.info(
    { event: 'console_listening', url, auth: options.adminToken ? options.adminToken.source : 'open' },
    'console listening',
  );
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function toConsoleError(error: unknown): ConsoleError {
  if (error instanceof ConsoleError) return error;
  if (error instanceof StoreUnavailableError) return consoleErrors.storeUnavailable();
  return consoleErrors.internal();
}
