/**
 * `agent-router console`: the console API, JSON under `/api/v1/` (node:http), and the web app.
 *
 *   GET    /api/v1/session                            who the caller is, the mode, and the CSRF token
 *   POST   /api/v1/session {token}                    log in with the admin token (a session cookie)
 *   DELETE /api/v1/session                            log out
 *   GET    /api/v1/keys[/{name}]                      API keys, never a secret (keys.ts)
 *   POST   /api/v1/keys {name,routeConfig,attributes} a new key; its generated secret is returned once
 *   PATCH  /api/v1/keys/{name} {enabled}              enable or disable a key
 *   GET    /api/v1/routeconfigs[/{name}]              RouteConfigs with what each logical name does (routeconfigs.ts)
 *   POST   /api/v1/routeconfigs/{name}/preview {spec} validation problems and the diff, nothing written
 *   PUT    /api/v1/routeconfigs/{name} {spec,version} a new spec
 *   POST   /api/v1/routeconfigs/{name}/canary {logicalModel,stage,version}  a canary stage
 *   POST   /api/v1/routeconfigs/{name}/remove-old {logicalModel,version}    drop the old variant after cutover
 *   GET    /api/v1/mcpservers                         MCP servers and the RouteConfigs exposing them, never a credential (mcp-servers.ts)
 *   GET    /api/v1/requests                           Request Logs (requests.ts)
 *   GET    /api/v1/usage                              Usage Analytics (usage.ts)
 *   GET    /api/v1/experiments/{logicalModel}         the split's variants compared with the baseline (experiments.ts)
 *   GET    /api/v1/experiments/{logicalModel}/gate    the same as 200/412, for rollout webhooks
 *   GET    /api/v1/rollouts                           the automated canaries as the rollout controller last judged them
 *   GET    /healthz                                   liveness, unauthenticated
 *   GET    /readyz                                    readiness (configuration synced, store answering), unauthenticated
 *   GET    /…                                         the web app (static.ts), unauthenticated: it holds no data
 *
 * Every `/api/` request but the session's needs the admin token or a session (access.ts) unless the
 * console was started without a token, which the CLI allows only on a loopback address. Writes go
 * through the configuration source (a ConfigWriter: the YAML file edited in place), never around it,
 * need the checks a cross-site page cannot pass (access.ts), are refused whole with `--read-only`, and
 * each leaves one audit line (audit.ts). Errors are the OpenAI-like error object (errors.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestStore } from '../analytics/store/store.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { type ConfigWriter, type Json, SourceConflictError } from '../config/writer.ts';
import type { Logger } from '../observability/logger.ts';
import { type AccessOptions, authenticate, checkWrite, type Principal } from './access.ts';
import { type AuditDraft, auditWrite } from './audit.ts';
import type { AdminToken } from './auth.ts';
import { configEndpoint, configMethods } from './config-api.ts';
import { ConsoleError, consoleErrors } from './errors.ts';
import { decodeModel, experimentEndpoint, gateEndpoint } from './experiments.ts';
import { requestsEndpoint } from './requests.ts';
import type { RolloutStatus } from './rollout/controller.ts';
import {
  clearedSessionCookie,
  randomToken,
  readCookie,
  SessionStore,
  sameSecret,
  sessionCookie,
} from './session.ts';
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
  /** Where keys and RouteConfigs are read and written; undefined: those endpoints answer 503. */
  writer?: ConfigWriter;
  /** Refuse every write (403 read_only), for configuration kept in Git. */
  readOnly?: boolean;
  /** Log-in sessions (default: 8-hour sessions held in this process). */
  sessions?: SessionStore;
  /** The rollout controller's view (console/rollout/run.ts); undefined: no rollouts run here. */
  rollouts?: { status(): readonly RolloutStatus[] };
  /** Readiness for /readyz (default: always ready once listening). */
  ready?: () => boolean | Promise<boolean>;
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
/** Request bodies are small JSON objects; a RouteConfig spec of thousands of entries still fits. */
const MAX_BODY_BYTES = 1024 * 1024;

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Methods each path takes (HEAD goes with GET). */
function allowedMethods(path: string): readonly string[] | undefined {
  if (path === '/api/v1/session') return ['GET', 'POST', 'DELETE'];
  if (
    path === '/api/v1/requests' ||
    path === '/api/v1/usage' ||
    path === '/api/v1/rollouts' ||
    EXPERIMENT_PATH.test(path)
  )
    return ['GET'];
  return configMethods(path);
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { store, logger, writer } = options;
  const app = options.app ?? loadConsoleApp();
  const now = options.now ?? Date.now;
  const readOnly = options.readOnly === true;
  const snapshot = () => ('current' in options.config ? options.config.current : options.config.snapshot);
  const mode = writer?.mode ?? ('snapshot' in options.config ? 'kubernetes' : 'file');
  const sessions = options.sessions ?? new SessionStore({ now });
  const access: AccessOptions = { adminToken: options.adminToken, sessions, openCsrfToken: randomToken() };
  const source = () => {
    if (writer === undefined) throw consoleErrors.noConfigSource();
    return writer;
  };

  const sessionState = (principal: Principal | undefined) => ({
    authenticated: principal !== undefined,
    authRequired: options.adminToken !== undefined,
    readOnly,
    mode,
    csrfToken:
      principal?.via === 'open'
        ? access.openCsrfToken
        : principal?.via === 'session'
          ? principal.session!.csrfToken
          : '',
  });

  const readBody = async (req: http.IncomingMessage): Promise<Json> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw consoleErrors.invalidBody(`The body is over ${MAX_BODY_BYTES} bytes.`);
      chunks.push(chunk as Buffer);
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw consoleErrors.invalidBody('The body is not valid JSON.');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw consoleErrors.invalidBody('The body must be a JSON object.');
    return value as Json;
  };

  const session = async (req: http.IncomingMessage, method: string, audit: AuditDraft): Promise<Answer> => {
    if (method === 'GET' || method === 'HEAD') {
      if (options.adminToken === undefined)
        return { status: 200, body: sessionState(authenticate(req, access)) };
      let principal: Principal | undefined;
      try {
        principal = authenticate(req, access);
      } catch {
        principal = undefined;
      }
      return { status: 200, body: sessionState(principal) };
    }
    if (method === 'POST') {
      audit.action = 'session.open';
      checkWrite(req, undefined, access, true);
      const body = await readBody(req);
      if (options.adminToken === undefined) {
        const principal = authenticate(req, access);
        audit.actor = principal.actor;
        return { status: 200, body: sessionState(principal) };
      }
      if (typeof body.token !== 'string' || body.token === '')
        throw consoleErrors.invalidBody('token is required: the admin token.', 'token');
      const expected = options.adminToken.read();
      if (expected === undefined || expected === '')
        throw consoleErrors.tokenUnavailable(options.adminToken.source);
      if (!sameSecret(body.token, expected)) throw consoleErrors.invalidToken();
      const opened = sessions.open(expected);
      audit.actor = opened.session.actor;
      return {
        status: 200,
        body: sessionState({ actor: opened.session.actor, via: 'session', session: opened.session }),
        headers: { 'set-cookie': sessionCookie(opened.id, sessions.ttlMs) },
      };
    }
    // DELETE: logging out needs the CSRF token of the session it ends; without a live session there
    // is nothing to end, and the cookie is cleared all the same.
    audit.action = 'session.close';
    let principal: Principal | undefined;
    try {
      principal = authenticate(req, access);
    } catch {
      principal = undefined;
    }
    if (principal !== undefined) {
      audit.actor = principal.actor;
      checkWrite(req, principal, access, false);
    }
    if (principal?.via === 'session') sessions.close(readCookie(req.headers.cookie));
    return {
      status: 200,
      body: sessionState(principal?.via === 'open' ? principal : undefined),
      headers: { 'set-cookie': clearedSessionCookie() },
    };
  };

  const route = async (
    req: http.IncomingMessage,
    method: string,
    path: string,
    params: URLSearchParams,
    audit: AuditDraft,
  ): Promise<Answer> => {
    const allowed = allowedMethods(path);
    if (allowed === undefined) throw consoleErrors.notFound(path);
    const asked = method === 'HEAD' ? 'GET' : method;
    if (!allowed.includes(asked)) throw consoleErrors.methodNotAllowed(method, allowed);
    if (path === '/api/v1/session') return session(req, asked, audit);
    const writes = asked !== 'GET';
    const isPreview = path.endsWith('/preview');
    // A preview writes nothing, so a read-only console still checks edits.
    if (writes && readOnly && !isPreview) throw consoleErrors.readOnly();
    const principal = authenticate(req, access);
    audit.actor = principal.actor;
    let body: Json = {};
    if (writes) {
      checkWrite(req, principal, access, true);
      body = await readBody(req);
    }
    const t = now();
    if (path === '/api/v1/requests') return { status: 200, body: await requestsEndpoint(store, params, t) };
    if (path === '/api/v1/usage') return { status: 200, body: await usageEndpoint(store, params, t) };
    if (path === '/api/v1/rollouts')
      return {
        status: 200,
        body: { running: options.rollouts !== undefined, data: options.rollouts?.status() ?? [] },
      };
    const experiment = EXPERIMENT_PATH.exec(path);
    if (experiment !== null) {
      const model = decodeModel(experiment[1]!);
      if (experiment[2] !== undefined) return gateEndpoint(store, snapshot(), model, params, t);
      return { status: 200, body: await experimentEndpoint(store, snapshot(), model, params, t) };
    }

    return configEndpoint(source(), path, writes, body, audit);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void Promise.resolve()
        .then(() => options.ready?.() ?? true)
        .catch(() => false)
        .then((ready) => {
          res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
          res.end(ready ? 'ready\n' : 'not ready\n');
        });
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && app.serve(req, res, path)) return;
    const audited = method !== 'GET' && method !== 'HEAD' && path.startsWith('/api/');
    const audit: AuditDraft = { actor: 'anonymous', action: `${method} ${path}`, target: '' };
    const answer = path.startsWith('/api/')
      ? route(req, method, path, url.searchParams, audit)
      : Promise.reject(
          method === 'GET' || method === 'HEAD'
            ? consoleErrors.notFound(path)
            : consoleErrors.methodNotAllowed(method, ['GET', 'HEAD']),
        );
    answer
      .catch((error: unknown): Answer => {
        const e = toConsoleError(error);
        if (e.status >= 500)
          logger.error(
            { event: 'console_failed', path, err: error instanceof Error ? error.message : String(error) },
            'console request failed',
          );
        const allow = e.status === 405 ? allowedMethods(path) : undefined;
        return {
          status: e.status,
          body: e.toBody(),
          ...(e.status === 405 ? { headers: { allow: [...(allow ?? ['GET']), 'HEAD'].join(', ') } } : {}),
        };
      })
      .then(({ status, body, headers }) => {
        if (audited) {
          const code = status >= 400 ? (body as { error?: { code?: string } }).error?.code : undefined;
          auditWrite(logger, {
            actor: audit.actor,
            action: audit.action,
            target: audit.target,
            outcome: status < 400 ? 'accepted' : status >= 500 ? 'failed' : 'refused',
            status,
            ...(code !== undefined ? { code } : {}),
            ...(status < 400 && audit.detail !== undefined ? { detail: audit.detail } : {}),
          });
        }
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          // Answers carry request data: no shared cache keeps them.
          'cache-control': 'no-store',
          ...(status === 401 ? { 'www-authenticate': 'Bearer realm="agent-router console"' } : {}),
          ...headers,
        });
        res.end(method === 'HEAD' ? undefined : text);
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
    {
      event: 'console_listening',
      url,
      auth: options.adminToken ? options.adminToken.source : 'open',
      writes: writer === undefined ? 'none' : readOnly ? 'read-only' : writer.mode,
    },
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
  if (error instanceof SourceConflictError) return consoleErrors.sourceConflict(error.message);
  return consoleErrors.internal();
}
