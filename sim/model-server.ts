import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBatchSlots } from './batch-slots.ts';
import { type ChatEndpoint, serveChatCompletion } from './chat-completions.ts';
import {
  injectedFault,
  internalError,
  invalidApiKey,
  methodNotAllowed,
  SimHttpError,
  unknownUrl,
  writeError,
} from './errors.ts';
import type { Fault } from './fault.ts';
import { createServerCounters, renderVllmMetrics } from './metrics.ts';

export type { Fault } from './fault.ts';

export interface ModelServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port, reported by `url`. */
  port?: number;
  /** Server id, sent as `x-sim-server` on every response. Default `sim`. */
  name?: string;
  /** Output is a pure function of this seed and the prompt. Default 0. */
  seed?: number;
  /** When set, `/v1/...` requests must carry `Authorization: Bearer <apiKey>` (like `vllm serve --api-key`). */
  apiKey?: string;
  /** Delay from admission to the first token. Default 0. */
  ttftMs?: number;
  /** Decode delay per further output token. Default 0. */
  msPerToken?: number;
  /** Requests decoded at once; later ones wait in FIFO order. Default 64. */
  maxConcurrency?: number;
  /** Served model names; when non-empty, other names get 404 `model_not_found`. Default [] (any name). */
  models?: readonly string[];
}

export interface ModelServerStats {
  /** Requests to the OpenAI API (`/v1/...`), including rejected ones. */
  readonly requestsServed: number;
  readonly running: number;
  readonly waiting: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
}

export interface ModelServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`; the OpenAI base URL is `url + '/v1'`. */
  readonly url: string;
  readonly name: string;
  /** Stops listening and destroys every connection, idle keep-alive and in-flight alike, so it returns promptly. */
  close(): Promise<void>;
  setFault(fault: Fault | undefined): void;
  stats(): ModelServerStats;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const name = options.name ?? 'sim';
  const maxConcurrency = options.maxConcurrency ?? 64;
  const models = options.models ?? [];
  const acceptedModels = new Set(models);
  const expectedAuthorization = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;
  const slots = createBatchSlots(maxConcurrency);
  const counters = createServerCounters();
  let fault: Fault | undefined;

  const chat: ChatEndpoint = {
    seed: options.seed ?? 0,
    ttftMs: options.ttftMs ?? 0,
    msPerToken: options.msPerToken ?? 0,
    slots,
    counters,
    acceptsModel: (model) => acceptedModels.size === 0 || acceptedModels.has(model),
    currentFault: () => fault,
  };

  const modelList = JSON.stringify({
    object: 'list',
    data: models.map((id) => ({
      id,
      object: 'model',
      created: Math.floor(Date.now() / 1000),
      owned_by: 'agent-router-sim',
    })),
  });

  // vLLM labels metrics with its first served model name.
  const metricsModelName = models[0] ?? name;

  const routes = new Map<string, Route>([
    ['/v1/chat/completions', { method: 'POST', serve: (req, res) => serveChatCompletion(chat, req, res) }],
    ['/v1/models', { method: 'GET', serve: (_req, res) => writeBody(res, 'application/json', modelList) }],
    ['/health', { method: 'GET', serve: (_req, res) => writeBody(res, 'text/plain', '') }],
    [
      '/metrics',
      {
        method: 'GET',
        serve: (_req, res) =>
          writeBody(
            res,
            'text/plain; version=0.0.4; charset=utf-8',
            renderVllmMetrics({
              modelName: metricsModelName,
              running: slots.running,
              waiting: slots.waiting,
              // A stand-in until the simulator models KV blocks: the share of batch slots in use.
              kvCacheUsage: slots.running / maxConcurrency,
              counters,
            }),
          ),
      },
    ],
  ]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-sim-server', name);
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const method = req.method ?? 'GET';
    try {
      // vLLM checks the API key on /v1 routes only, leaving /health and /metrics open to probes and scrapers.
      if (path.startsWith('/v1/')) {
        counters.requestsServed++;
        if (expectedAuthorization !== undefined && req.headers.authorization !== expectedAuthorization) {
          throw invalidApiKey();
        }
        if (fault !== undefined && fault.afterTokens === undefined)
          throw injectedFault(fault.status, fault.message);
      }
      const route = routes.get(path);
      if (route === undefined) throw unknownUrl(method, path);
      if (method !== route.method) throw methodNotAllowed(method, route.method);
      await route.serve(req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      writeError(res, error instanceof SimHttpError ? error : internalError());
    }
  }

  // HTTP keep-alive is on by default in node:http; close() tears those sockets down too.
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    name,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Destroyed sockets abort their requests, which frees slots and clears decode timers.
        server.closeAllConnections();
      });
      return closing;
    },
    setFault(next) {
      fault = next;
    },
    stats: () => ({
      requestsServed: counters.requestsServed,
      running: slots.running,
      waiting: slots.waiting,
      promptTokens: counters.promptTokens,
      generationTokens: counters.generationTokens,
    }),
  };
}

function writeBody(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
