import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChatEndpoint, serveChatCompletion } from './chat-completions.ts';
import type { EngineConfig } from './engine/config.ts';
import type { EngineSnapshot } from './engine/engine.ts';
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
import { createLatencyHistograms, createServerCounters, renderVllmMetrics } from './metrics.ts';
import { RealTimeEngine } from './realtime-engine.ts';
import { serveResponse } from './responses.ts';

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
  /** Fixed cost of an engine step that prefills, so the first token comes this long after admission. Default 0. */
  ttftMs?: number;
  /** Fixed cost of an engine decode step: the delay between further output tokens. Default 0. */
  msPerToken?: number;
  /** Requests decoded at once (the engine's batch size); later ones wait in FIFO order. Default 64. */
  maxConcurrency?: number;
  /** Served model names; when non-empty, other names get 404 `model_not_found`. Default [] (any name). */
  models?: readonly string[];
  /**
   * Engine settings; each one given wins over the options above (`maxBatchSize` over `maxConcurrency`,
   * `prefillMsBase` over `ttftMs`, `decodeMsPerStepBase` over `msPerToken`). Costs given neither here nor
   * above are 0, so a server configured with the options above alone times tokens as it always did. The KV
   * and prefix caches default to the engine's (DEFAULT_ENGINE_CONFIG); `seed` defaults to the server's.
   */
  engine?: Partial<EngineConfig>;
  /** Adapter capacity in `vllm:lora_requests_info` (vLLM `--max-loras`; LoRA is not simulated). Default 1. */
  maxLoras?: number;
}

export interface ModelServerStats {
  /** Requests to the OpenAI API (`/v1/...`), including rejected ones. */
  readonly requestsServed: number;
  readonly running: number;
  readonly waiting: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
  /** Everything the engine reports, for tests and the benchmark. */
  readonly engine: EngineSnapshot;
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
  const seed = options.seed ?? 0;
  const models = options.models ?? [];
  const acceptedModels = new Set(models);
  const expectedAuthorization = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;
  const engine = new RealTimeEngine({
    prefillMsPerToken: 0,
    decodeMsPerStepPerSeq: 0,
    seed,
    ...options.engine,
    maxBatchSize: options.engine?.maxBatchSize ?? options.maxConcurrency ?? 64,
    prefillMsBase: options.engine?.prefillMsBase ?? options.ttftMs ?? 0,
    decodeMsPerStepBase: options.engine?.decodeMsPerStepBase ?? options.msPerToken ?? 0,
  });
  const counters = createServerCounters();
  const latency = createLatencyHistograms();
  const maxLoras = options.maxLoras ?? 1;
  let fault: Fault | undefined;
  let requestCount = 0;

  const chat: ChatEndpoint = {
    seed,
    engine,
    counters,
    latency,
    acceptsModel: (model) => acceptedModels.size === 0 || acceptedModels.has(model),
    currentFault: () => fault,
    nextRequestId: () => `${name}-${++requestCount}`,
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
    ['/v1/responses', { method: 'POST', serve: (req, res) => serveResponse(chat, req, res) }],
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
              engine: engine.snapshot(),
              counters,
              latency,
              maxLoras,
              nowSeconds: Date.now() / 1000,
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
        // Destroyed sockets abort their requests, which the engine drops; then its timer stops.
        server.closeAllConnections();
        engine.close();
      });
      return closing;
    },
    setFault(next) {
      fault = next;
    },
    stats: () => {
      const snapshot = engine.snapshot();
      return {
        requestsServed: counters.requestsServed,
        running: snapshot.running,
        waiting: snapshot.waiting,
        promptTokens: snapshot.promptTokens,
        generationTokens: snapshot.generationTokens,
        engine: snapshot,
      };
    },
  };
}

function writeBody(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
