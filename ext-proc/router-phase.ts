/**
 * Router-level phases (Envoy's HTTP filter chain, once per request): authenticate, read the model,
 * decide the route, set the target header; on the way back read usage and write the request log line.
 */
import { randomUUID } from 'node:crypto';
import type { AttemptRecord, RequestRecord, TokenCounts } from '../analytics/record.ts';
import type { CompiledEntry, TokenPrice } from '../config/snapshot.ts';
import type { SnapshotStore } from '../config/store.ts';
import type { AttemptLedger } from './attempt-ledger.ts';
import { authenticate, type Caller, presentedKey } from './auth/authenticate.ts';
import { type ClientApi, clientApiOf, clientErrorBody } from './client-api.ts';
import { attemptSecrets, redactErrorChunk, type SecretMatcher } from './credentials/secret-matcher.ts';
import { AgentRouterError, errors } from './errors.ts';
import {
  ATTEMPT_HEADER,
  BACKEND_HEADER,
  CLIENT_FORBIDDEN_HEADERS,
  CLIENT_INPUT_HEADERS,
  INTERNAL_PREFIX,
  KEY_ID_HEADER,
  LOGICAL_MODEL_HEADER,
  METADATA_NAMESPACE,
  REQUEST_ID_HEADER,
  RESOLVED_MODEL_HEADER,
  ROUTE_HEADER,
} from './headers.ts';
import { requestJson } from './json/request-json.ts';
import { type HttpHead, NO_CHANGE, type PhaseResult, type Phases, type StreamOutcome } from './phases.ts';
import type { RequestObserver } from './request-log.ts';
import { credentialParameter, pathOnly } from './request-path.ts';
import { decide, type RouteDecision } from './router/route.ts';
import { type SessionHasher, sessionHasher } from './session-hash.ts';
import { type TraceContext, traceContextOf } from './trace-context.ts';
import { openAIErrorFrom } from './translate/openai-error.ts';
import { OPERATION_BY_PATH } from './translate/translator.ts';
import { responseModelOf, type TokenUsage, type UsageScanner } from './usage.ts';

/**
 * Removed in the request-headers answer, the one answer whose header mutations Envoy applies in every
 * body mode (a body answer's are dropped in STREAMED), so no path that reaches the upstream keeps them:
 * the gateway key (no provider ever sees it) and every header a client may not forge. Removing an
 * absent header costs Envoy nothing, so one frozen list serves every request.
 */
const STRIPPED: readonly string[] = Object.freeze([
  'authorization',
  'x-api-key',
  ...CLIENT_FORBIDDEN_HEADERS,
]);
const KNOWN_UNDER_PREFIX: ReadonlySet<string> = new Set([...STRIPPED, ...CLIENT_INPUT_HEADERS]);

/** STRIPPED, plus any other name under our prefix the client sent (none, on almost every request). */
function strippedFrom(head: HttpHead): readonly string[] {
  let more: string[] | undefined;
  for (const name of head.names()) {
    if (!name.startsWith(INTERNAL_PREFIX) || KNOWN_UNDER_PREFIX.has(name)) continue;
    more ??= [...STRIPPED];
    more.push(name);
  }
  return more ?? STRIPPED;
}

/** What every router-level stream of one server shares. */
export interface RouterShared {
  /** Attempts the per-attempt phase noted for a request (same process, the sidecar deployment). */
  attempts?: AttemptLedger;
  hashSession?: SessionHasher;
  random?: () => number;
}

const defaultHasher = sessionHasher();

export class RouterPhases implements Phases {
  readonly #started = performance.now();
  readonly #startedAt = Date.now();
  #firstByte: number | undefined;
  /** The answering backend's credential matcher, built on the first chunk that carries an error. */
  #answering: SecretMatcher | undefined;
  #sessionHash: string | undefined;
  #trace: TraceContext | undefined;
  #requestId = '';
  #caller: Caller | undefined;
  #head: HttpHead | undefined;
  /** `:path` without its query: what the log, metadata and errors may show (request-path.ts). */
  #path: string | undefined;
  /** The API the client speaks, by its path: the shape of its answers and errors (client-api.ts). */
  #api: ClientApi = clientApiOf(undefined);
  /** An error status whose body is rewritten into the client's error shape (a client API not OpenAI's). */
  #errorStatus = 0;
  #decision: RouteDecision | undefined;
  #stream = false;
  /** The client asked for a usage chunk (stream_options.include_usage); others get it stripped. */
  #clientUsage = false;
  #resolvedModel: string | undefined;
  #backend: string | undefined;
  #attempts: number | undefined;
  #usage: TokenUsage | undefined;
  /** The model a buffered answer names (responseModelOf); a stream's is its scanner's. */
  #bodyModel: string | undefined;
  #scanner: UsageScanner | undefined;

  constructor(
    private readonly store: SnapshotStore,
    private readonly observer: RequestObserver,
    private readonly shared: RouterShared = {},
    /** The trace context in the Process stream's gRPC metadata, if Envoy sent one (trace-context.ts). */
    private readonly streamTrace: { traceParent?: string; traceState?: string } = {},
  ) {}

  requestHeaders(head: HttpHead, endOfStream: boolean): PhaseResult {
    this.#head = head;
    this.#requestId = head.get(REQUEST_ID_HEADER) ?? randomUUID();
    this.#trace = traceContextOf(this.streamTrace, (name) => head.get(name));
    const method = head.get(':method') ?? 'GET';
    const rawPath = head.get(':path') ?? '/';
    const path = pathOnly(rawPath);
    this.#path = path;
    // First: every error from here on, an authentication failure included, is in the client API's shape.
    const operation = OPERATION_BY_PATH.get(path);
    this.#api = clientApiOf(operation);
    // A credential in the query is refused, not stripped and not accepted as the gateway key. It never
    // reaches a provider either way (translators build the upstream `:path` from the backend's, without
    // the client's query), but a URL is written to access logs, proxy logs and browser history on its
    // way here, so the client has to learn to send it in a header; one silently stripped would keep
    // leaking, one accepted would invite more. The gateway's own logs keep the path only.
    const credential = credentialParameter(rawPath);
    if (credential !== undefined) {
      throw new AgentRouterError(
        400,
        'invalid_request_error',
        'credential_in_query',
        `The query parameter "${credential}" looks like a credential; URLs are logged, so keys are not accepted there. Send the key in the Authorization header (Bearer) or x-api-key, and remove it from the URL.`,
        credential,
      );
    }
    const snapshot = this.store.current;
    this.#caller = authenticate(snapshot, presentedKey(head.get('authorization'), head.get('x-api-key')));

    if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) {
      return { respond: { status: 200, body: this.#models(path) } };
    }
    if (operation === undefined) {
      throw new AgentRouterError(
        404,
        'invalid_request_error',
        'unknown_url',
        `Unknown request URL: ${method} ${path}.`,
      );
    }
    if (method !== 'POST') {
      throw new AgentRouterError(
        405,
        'invalid_request_error',
        'method_not_allowed',
        `${path} accepts POST only.`,
      );
    }
    if (endOfStream) throw errors.invalidBody('The request has no body; send a JSON object.');
    return { needsBody: true, removeHeaders: strippedFrom(head) };
  }

  #models(path: string): unknown {
    const names = this.#caller!.routeConfig.modelNames;
    const entry = (id: string) => ({ id, object: 'model', created: 0, owned_by: 'agent-router' });
    if (path === '/v1/models') return { object: 'list', data: names.map(entry) };
    const encoded = path.slice('/v1/models/'.length);
    let id: string;
    try {
      id = decodeURIComponent(encoded);
    } catch {
      // `%` not followed by two hex digits, or escapes that are not UTF-8 (RFC 3986 §2.1).
      throw new AgentRouterError(
        400,
        'invalid_request_error',
        'invalid_url',
        `The model id in ${path} is not valid percent-encoding (RFC 3986 §2.1); encode it with encodeURIComponent.`,
      );
    }
    if (!this.#caller!.routeConfig.models.has(id)) throw errors.modelNotFound(id);
    return entry(id);
  }

  requestBody(body: Buffer): PhaseResult {
    const request = requestJson(body).object();
    if (typeof request.model !== 'string' || request.model.length === 0) throw errors.missingModel();
    this.#stream = request.stream === true;
    this.#clientUsage = this.#api.clientAsksUsage(request);
    const caller = this.#caller!;
    const head = this.#head!;
    const sessionKey = head.get(caller.routeConfig.sessionHeader) ?? this.#api.sessionKey(request);
    if (sessionKey !== undefined) this.#sessionHash = (this.shared.hashSession ?? defaultHasher)(sessionKey);
    const decision = decide(caller.routeConfig, {
      model: request.model,
      sessionKey,
      random: (this.shared.random ?? Math.random)(),
      header: (name) => head.get(name),
      attributes: caller.attributes,
    });
    this.#decision = decision;
    const { entry } = decision;
    return {
      setHeaders: [
        [ROUTE_HEADER, entry.id],
        [KEY_ID_HEADER, caller.keyId],
        [LOGICAL_MODEL_HEADER, decision.logicalModel],
        [REQUEST_ID_HEADER, this.#requestId],
      ],
      clearRouteCache: true,
      dynamicMetadata: decisionMetadata(decision, caller.keyId, this.#path ?? ''),
    };
  }

  responseHeaders(head: HttpHead): PhaseResult {
    this.#resolvedModel = head.get(RESOLVED_MODEL_HEADER);
    this.#backend = head.get(BACKEND_HEADER);
    const attempt = Number(head.get(ATTEMPT_HEADER));
    if (Number.isInteger(attempt) && attempt > 0) this.#attempts = attempt;
    const status = Number(head.get(':status'));
    // The request id goes back to the client, so a user can quote it and we can find the log line.
    const setHeaders: [string, string][] = [[REQUEST_ID_HEADER, this.#requestId]];
    if (status >= 400 && this.#api.errorBody) {
      // Every error reaches this filter in the OpenAI shape (the per-attempt phase normalises providers'
      // errors, the gateway's own are built so); a client of another API gets its own shape.
      this.#errorStatus = status;
      return { setHeaders, removeHeaders: ['content-length'], responseBodyMode: 'BUFFERED' };
    }
    if (!this.#decision || status < 200 || status >= 300) return { setHeaders };
    const contentType = head.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      // Every stream is asked for usage (per-attempt phase); a client that did not ask must not see it.
      this.#scanner = this.#api.usageScanner(!this.#clientUsage);
      return { setHeaders, responseBodyMode: 'STREAMED' };
    }
    return contentType.includes('json') ? { setHeaders, responseBodyMode: 'BUFFERED' } : { setHeaders };
  }

  responseBody(body: Buffer): PhaseResult {
    this.#firstByte ??= performance.now();
    if (this.#errorStatus > 0) {
      const converted = Buffer.from(
        JSON.stringify(
          this.#api.errorBody!(this.#errorStatus, openAIErrorFrom(this.#errorStatus, body, 'The gateway')),
        ),
      );
      return {
        body: converted,
        setHeaders: [
          ['content-type', 'application/json'],
          ['content-length', String(converted.length)],
        ],
      };
    }
    this.#usage = this.#api.usage(body);
    this.#bodyModel = responseModelOf(body);
    if (!this.#usage) return NO_CHANGE;
    return { dynamicMetadata: { [METADATA_NAMESPACE]: usageMetadata(this.#usage) } };
  }

  /** The client's shape of a gateway error this phase raised (stream.ts answers it). */
  clientError(error: AgentRouterError): unknown {
    return clientErrorBody(this.#api, error);
  }

  responseChunk(chunk: Buffer, endOfStream: boolean): Buffer | undefined {
    if (chunk.length > 0) this.#firstByte ??= performance.now();
    const out = this.#scanner?.push(chunk, endOfStream);
    // A pass-through provider (OpenAI-compatible servers, proxies in front of them) may report a
    // failure mid-stream as an error event inside its 200, quoting what it was sent; the per-attempt
    // phase searches only converted streams and error statuses, so the answering backend's credential
    // is searched for here, in chunks that carry an error at all. An event split across chunks is
    // searched chunk by chunk: a credential split at that boundary would pass.
    return redactErrorChunk(out ?? chunk, this.#answeringSecrets) ?? out;
  }

  /** The credential the answering backend was sent: the caller's own for it, else the backend's. */
  readonly #answeringSecrets = (): SecretMatcher => {
    this.#answering ??= this.#answeringMatcher();
    return this.#answering;
  };

  #answeringMatcher(): SecretMatcher {
    const backendId = this.#backend;
    if (backendId === undefined) return attemptSecrets(undefined, undefined);
    const keyId = this.#caller?.keyId;
    const own =
      keyId === undefined
        ? undefined
        : this.store.current.keysById.get(keyId)?.providerCredentials.get(backendId);
    return attemptSecrets(own ?? this.store.current.backends.get(backendId)?.credential, undefined);
  }

  finish(outcome: StreamOutcome): void {
    const decision = this.#decision;
    const usage = this.#usage ?? this.#scanner?.usage;
    const backendId = this.#backend ?? decision?.entry.backend.id;
    const backend = backendId === undefined ? undefined : this.store.current.backends.get(backendId);
    const resolvedModel = this.#resolvedModel ?? decision?.entry.resolvedModel;
    // A stream the gateway reset before the response completed is 499, whatever status the response
    // headers had: the client got no complete answer. It is nginx's "client closed request" and what
    // Envoy maps a cancelled gRPC call to (source/common/grpc/status.cc, grpcToHttpStatus); Envoy's
    // access log flags the same request DC, "downstream connection termination". An upstream that
    // breaks mid-stream resets the ext_proc stream alike; Envoy's flags (UR, UPE) tell it apart.
    const status = outcome.cancelled ? 499 : (outcome.status ?? 0);
    const now = performance.now();
    const latencyMs = round(now - this.#started);
    const record: RequestRecord = {
      id: this.#requestId,
      time: this.#startedAt,
      attempts: this.#attemptsOf(backendId, status),
      status,
      stream: this.#stream,
      cancelled: outcome.cancelled,
      latencyMs,
    };
    const method = this.#head?.get(':method');
    if (method !== undefined) record.method = method;
    if (this.#path !== undefined) {
      record.path = this.#path;
      const operation = OPERATION_BY_PATH.get(this.#path);
      if (operation) record.operation = operation;
    }
    if (this.#caller) record.keyId = this.#caller.keyId;
    if (decision) {
      record.routeConfig = decision.routeConfigId;
      record.routeEntry = decision.entry.name;
      record.decision = decision.reason;
      record.logicalModel = decision.logicalModel;
    }
    if (resolvedModel !== undefined) record.resolvedModel = resolvedModel;
    if (backendId !== undefined) record.backend = backendId;
    if (backend) record.provider = backend.provider;
    const endpoint = record.attempts.at(-1)?.endpoint;
    if (endpoint !== undefined) record.endpoint = endpoint;
    if (outcome.error) record.errorCode = outcome.error.code;
    if (this.#firstByte !== undefined) {
      record.ttftMs = round(this.#firstByte - this.#started);
      // Time per output token after the first (OTel gen_ai.server.time_per_output_token).
      if (this.#stream && usage && usage.completionTokens > 1)
        record.tpotMs = round((now - this.#firstByte) / (usage.completionTokens - 1));
    }
    if (usage) {
      const tokens: TokenCounts = { prompt: usage.promptTokens, completion: usage.completionTokens };
      if (usage.cachedTokens !== undefined) tokens.cached = usage.cachedTokens;
      if (usage.reasoningTokens !== undefined) tokens.reasoning = usage.reasoningTokens;
      record.tokens = tokens;
      const price = resolvedModel === undefined ? undefined : backend?.prices?.get(resolvedModel);
      if (price) record.costUsd = costOf(price, tokens);
    }
    if (this.#sessionHash !== undefined) record.sessionHash = this.#sessionHash;
    const responseModel = this.#bodyModel ?? this.#scanner?.model;
    if (responseModel !== undefined) record.responseModel = responseModel;
    const trace = this.#trace;
    if (trace !== undefined) {
      record.traceParent = trace.traceParent;
      if (trace.traceState !== undefined) record.traceState = trace.traceState;
    }
    this.observer.onRequest(record);
  }

  /**
   * The attempts the per-attempt phase noted for this request; without them (a gateway whose
   * per-attempt filter reaches another process) the one the response headers named, if any.
   */
  #attemptsOf(backend: string | undefined, status: number): AttemptRecord[] {
    const noted = this.#requestId ? this.shared.attempts?.take(this.#requestId) : undefined;
    if (noted?.length) return noted;
    if (this.#backend === undefined || backend === undefined) return [];
    return [{ backend, status }];
  }
}

type DecisionMetadata = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * Decision metadata by entry, then key id, then path: keyed by strings that already exist, so a lookup
 * makes none. Bounded per entry, as childrenFor is.
 */
const decisionMetadataCache = new WeakMap<CompiledEntry, Map<string, Map<string, DecisionMetadata>>>();
const MAX_DECISION_METADATA_KEYS_PER_ENTRY = 1024;

/**
 * The router's decision as dynamic metadata, for the per-attempt filter and access logs. It names only
 * the entry (its id, name, route config, models, backend), the key's id, the logical model and the path:
 * values that repeat from request to request. So it is made once per combination and frozen, and its
 * Struct is encoded once (struct.ts toStruct): encoding these eight members was a third of the
 * router's request-body answer.
 */
function decisionMetadata(decision: RouteDecision, keyId: string, path: string): DecisionMetadata {
  const { entry } = decision;
  let byKey = decisionMetadataCache.get(entry);
  if (byKey === undefined) {
    byKey = new Map();
    decisionMetadataCache.set(entry, byKey);
  }
  let byPath = byKey.get(keyId);
  if (byPath === undefined) {
    if (byKey.size >= MAX_DECISION_METADATA_KEYS_PER_ENTRY) byKey.clear();
    byPath = new Map();
    byKey.set(keyId, byPath);
  }
  let metadata = byPath.get(path);
  const known = metadata?.[METADATA_NAMESPACE];
  // An entry serves one route config and logical model in practice; a decision naming others replaces
  // the remembered value rather than sharing it.
  if (
    metadata === undefined ||
    known!.logical_model !== decision.logicalModel ||
    known!.route_config !== decision.routeConfigId
  ) {
    metadata = Object.freeze({
      [METADATA_NAMESPACE]: Object.freeze({
        key_id: keyId,
        // The per-attempt phase reads these two from forwarded metadata: Envoy's upstream filters
        // share one header map across attempts, so headers stripped on attempt 1 are gone on attempt 2.
        route: entry.id,
        path,
        route_config: decision.routeConfigId,
        route_entry: entry.name,
        logical_model: decision.logicalModel,
        resolved_model: entry.resolvedModel,
        backend: entry.backend.id,
      }),
    });
    byPath.set(path, metadata);
  }
  return metadata;
}

/** Cost in US dollars: cached prompt tokens at the cached price, the rest of the prompt at the input price. */
export function costOf(price: TokenPrice, tokens: TokenCounts): number {
  const cached = Math.min(tokens.cached ?? 0, tokens.prompt);
  return (
    (tokens.prompt - cached) * price.input + cached * price.cachedInput + tokens.completion * price.output
  );
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function usageMetadata(usage: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    cached_tokens: usage.cachedTokens,
  };
}
