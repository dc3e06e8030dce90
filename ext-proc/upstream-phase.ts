/**
 * Per-attempt phases (Envoy's upstream ext_proc filter, once per attempt): translate the request for
 * the attempt's backend — path, credentials, body, model — and the response back to the OpenAI shape.
 * The attempt's candidate comes from the chosen entry's fallback chain and the attempt count, so a
 * retry on another provider is translated for that provider and its credentials.
 *
 * Provider errors are where a provider quotes what it was sent, so on an error status the credential
 * this attempt injected is redacted from the headers passed on and from the body, before and after
 * normalisation; in a converted stream, from the error events (the translator's parser has joined an
 * event split across chunks, so the event is whole when it is searched). Successful bodies are not
 * searched: a 2xx means the provider accepted the credential, and none quotes it back there. A
 * provider's 401/403 becomes 502 `provider_auth_error`, which the gateway's retry policy treats like
 * any 5xx (the next backend of the chain is tried), and which tells the client not to retry.
 */
import type { AttemptRecord, PickerChoice } from '../analytics/record.ts';
import type { Credential } from '../config/credentials.ts';
import type { CompiledBackend, CompiledEntry } from '../config/snapshot.ts';
import type { SnapshotStore } from '../config/store.ts';
import { DESTINATION_ENDPOINT_HEADER, PICKER_SCORES_NAMESPACE } from '../endpoint-picker/protocol.ts';
import type { AttemptLedger } from './attempt-ledger.ts';
import { attemptSecrets, redactErrorChunk, type SecretMatcher } from './credentials/secret-matcher.ts';
import { errors } from './errors.ts';
import {
  ATTEMPT_HEADER,
  BACKEND_HEADER,
  ENVOY_ATTEMPT_COUNT_HEADER,
  INTERNAL_PREFIX,
  KEY_ID_HEADER,
  METADATA_NAMESPACE,
  PROVIDER_REQUEST_ID_HEADER,
  REQUEST_ID_HEADER,
  RESOLVED_MODEL_HEADER,
  ROUTE_HEADER,
} from './headers.ts';
import { type RequestJson, requestJson } from './json/request-json.ts';
import {
  type HttpHead,
  type MetadataReader,
  NO_CHANGE,
  type PhaseResult,
  type Phases,
  type StreamOutcome,
} from './phases.ts';
import { ERROR_EVENT_PREFIX } from './translate/openai-stream.ts';
import { translatorFor } from './translate/registry.ts';
import {
  bodyInput,
  OPERATION_BY_PATH,
  type Operation,
  type ResponseContext,
  type StreamTranslator,
  type Translator,
  type UpstreamRequest,
} from './translate/translator.ts';

/** Provider statuses that mean "your credential was refused" (RFC 9110 §15.5.2, §15.5.4). */
const PROVIDER_AUTH_STATUSES = new Set([401, 403]);
/** Error bodies are small; in a streamed body mode, bytes past this are dropped, never held. */
const MAX_ERROR_BODY_BYTES = 1 << 20;

export interface AttemptObserver {
  /** The backend an attempt goes to: the configured one (the same object for every attempt at it). */
  onAttempt(backend: Pick<CompiledBackend, 'id' | 'provider'>): void;
}

/** The finite numbers of a metadata object (the picker may be another build: nothing else is trusted). */
function numbers(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/**
 * Why the picker chose the endpoint this attempt goes to, from its forwarded metadata
 * (endpoint-picker/scheduling/explain.ts pickerScoresMetadata).
 */
function pickerChoice(
  picker: Record<string, unknown> | undefined,
  endpoint: string,
): PickerChoice | undefined {
  const endpoints = picker?.endpoints;
  if (endpoints === null || typeof endpoints !== 'object') return undefined;
  const { total, ...scores } = numbers((endpoints as Record<string, unknown>)[endpoint]);
  if (total === undefined) return undefined;
  return { total, scores, weights: numbers(picker!.weights) };
}

export class UpstreamPhases implements Phases {
  #candidate: CompiledEntry | undefined;
  #translator: Translator | undefined;
  #operation: Operation = 'chat.completions';
  #attempt = 1;
  #keyId: string | undefined;
  #internalHeaders: string[] = [];
  #stream: StreamTranslator | undefined;
  #errorStatus = 0;
  #context: ResponseContext | undefined;
  #responseHead: HttpHead | undefined;
  #requestHead: HttpHead | undefined;
  #credential: Credential | undefined;
  /** The credential is the caller's own (bring-your-own-key), not the backend's. */
  #ownCredential = false;
  #minted: readonly string[] | undefined;
  #secrets: SecretMatcher | undefined;
  /** An error body that arrives in chunks (a streamed body mode the gateway would not override). */
  #errorChunks: Buffer[] = [];
  #errorBytes = 0;
  /** This attempt as the request record will show it, once the router-level phase takes it. */
  #record: AttemptRecord | undefined;

  constructor(
    private readonly store: SnapshotStore,
    private readonly observer: AttemptObserver,
    private readonly ledger?: AttemptLedger,
  ) {}

  requestHeaders(head: HttpHead, endOfStream: boolean, metadata: MetadataReader): PhaseResult {
    // The decision travels in the router-level filter's dynamic metadata (forwarded to this filter) and,
    // for gateways that do not forward it, in headers — which only the first attempt is sure to see.
    const decision = metadata(METADATA_NAMESPACE);
    const fromMetadata = (key: string) =>
      typeof decision?.[key] === 'string' ? (decision[key] as string) : undefined;
    const routeId = fromMetadata('route') ?? head.get(ROUTE_HEADER);
    if (routeId === undefined)
      throw errors.gatewayMisconfigured(
        'The per-attempt phase saw no route decision (neither forwarded agent-router metadata nor the route header); is the router-level filter installed?',
      );
    const entry = this.store.current.entries.get(routeId);
    if (!entry) throw errors.routeGone(routeId);
    const attempt = Number(head.get(ENVOY_ATTEMPT_COUNT_HEADER) ?? '1');
    this.#attempt = Number.isInteger(attempt) && attempt > 0 ? attempt : 1;
    const chain = entry.fallbackChain;
    this.#candidate = chain[Math.min(this.#attempt, chain.length) - 1]!;
    const path = fromMetadata('path') ?? head.get(':path') ?? '';
    const query = path.indexOf('?');
    this.#operation = OPERATION_BY_PATH.get(query < 0 ? path : path.slice(0, query)) ?? 'chat.completions';
    // The translator of the pair (client API, provider schema), compiled in registry.ts.
    this.#translator = translatorFor(this.#operation, this.#candidate.backend.provider);
    if (!this.#translator)
      throw errors.internal(`no translator for provider ${this.#candidate.backend.provider}`);
    this.#keyId = fromMetadata('key_id') ?? head.get(KEY_ID_HEADER);
    this.#requestHead = head;
    for (const name of head.names()) if (name.startsWith(INTERNAL_PREFIX)) this.#internalHeaders.push(name);
    this.observer.onAttempt(this.#candidate.backend);
    const requestId = head.get(REQUEST_ID_HEADER);
    if (this.ledger && requestId !== undefined) {
      this.#record = { backend: this.#candidate.backend.id, status: 0, startMs: Date.now() };
      const endpoint = head.get(DESTINATION_ENDPOINT_HEADER)?.split(',')[0]?.trim();
      if (endpoint) {
        this.#record.endpoint = endpoint;
        const choice = pickerChoice(metadata(PICKER_SCORES_NAMESPACE), endpoint);
        if (choice) this.#record.picker = choice;
      }
      this.ledger.note(requestId, this.#record);
    }
    if (endOfStream) throw errors.invalidBody('The request has no body; send a JSON object.');
    return { needsBody: true };
  }

  requestBody(body: Buffer): PhaseResult | Promise<PhaseResult> {
    const candidate = this.#candidate!;
    const request = requestJson(body);
    const input = bodyInput(request);
    const backend = candidate.backend;
    const translator = this.#translator!;
    if (translator.convertsResponses) {
      const json = input.json();
      this.#context = {
        operation: this.#operation,
        model: candidate.resolvedModel,
        stream: json.stream === true,
        // Always: the request log and token metrics need every stream's usage; the router-level
        // phase removes the usage chunk for clients that did not ask for it.
        includeUsage: true,
      };
    }
    // Bring-your-own-key: the caller's credential for this backend wins over the backend's own.
    const own =
      this.#keyId === undefined
        ? undefined
        : this.store.current.keysById.get(this.#keyId)?.providerCredentials.get(backend.id);
    this.#credential = own ?? backend.credential;
    this.#ownCredential = own !== undefined;
    // A response that came before the body (an early provider answer) may have built an empty matcher.
    this.#secrets = undefined;
    const translated = translator.request({
      ...input,
      operation: this.#operation,
      backend,
      model: candidate.resolvedModel,
      credential: this.#credential,
      headers: this.#requestHead,
    });
    return translated instanceof Promise
      ? translated.then((t) => this.#requestResult(t, request))
      : this.#requestResult(translated, request);
  }

  #requestResult(translated: UpstreamRequest, request: RequestJson): PhaseResult {
    if (request.leaksStandIn(translated.body))
      throw errors.internal(
        `the ${this.#candidate!.backend.provider} translator serialised a large body without input.encode`,
      );
    this.#minted = translated.secrets;
    this.#secrets = undefined;
    return {
      setHeaders: [
        [':path', translated.path],
        ['content-length', String(translated.body.length)],
        ...translated.headers,
      ],
      // Internal headers are for the gateway; providers must not see them.
      removeHeaders: [...translated.removeHeaders, ...this.#internalHeaders],
      body: translated.body,
    };
  }

  responseHeaders(head: HttpHead, endOfStream: boolean): PhaseResult {
    const candidate = this.#candidate;
    if (!candidate) return NO_CHANGE;
    const translator = this.#translator!;
    this.#responseHead = head;
    const said = Number(head.get(':status'));
    // Envoy always passes a three-digit status; anything else is a broken answer, treated as a 502
    // (normalised and searched for the credential like any error) rather than passed on as a success.
    const status = Number.isInteger(said) && said >= 100 && said <= 999 ? said : 502;
    const setHeaders: (readonly [string, string])[] = [
      [RESOLVED_MODEL_HEADER, candidate.resolvedModel],
      [BACKEND_HEADER, candidate.backend.id],
      [ATTEMPT_HEADER, String(this.#attempt)],
    ];
    const providerRequestId = translator.requestIdHeader ? head.get(translator.requestIdHeader) : undefined;
    if (this.#record) {
      this.#record.status = Number.isInteger(status) ? status : 0;
      this.#record.endMs = Date.now();
      if (PROVIDER_AUTH_STATUSES.has(status)) this.#record.errorCode = 'provider_auth_error';
    }
    if (status >= 400) {
      this.#errorStatus = status;
      const secrets = this.#attemptSecrets();
      if (providerRequestId)
        setHeaders.push([PROVIDER_REQUEST_ID_HEADER, secrets.redactText(providerRequestId)]);
      if (!secrets.empty) {
        for (const name of head.names()) {
          if (name.startsWith(':')) continue;
          const value = head.get(name)!;
          const redacted = secrets.redactText(value);
          if (redacted !== value) setHeaders.push([name, redacted]);
        }
      }
      if (PROVIDER_AUTH_STATUSES.has(status)) {
        // Envoy lets ext_proc set `:status` (HeaderMutationRules: only host, :authority, :scheme,
        // :method and x-envoy-* are protected). `x-should-retry: false` is the OpenAI and Anthropic
        // SDKs' own signal to skip their retries of a 5xx (openai-node client.ts, shouldRetry).
        setHeaders.push([':status', '502'], ['x-should-retry', 'false']);
      }
      // The converted body has another length (the body answer sets it, or the gateway re-frames it).
      return endOfStream
        ? { setHeaders }
        : { setHeaders, removeHeaders: ['content-length'], responseBodyMode: 'BUFFERED' };
    }
    if (providerRequestId) setHeaders.push([PROVIDER_REQUEST_ID_HEADER, providerRequestId]);
    const context = this.#context;
    if (!translator.convertsResponses || !context) return { setHeaders };
    const changes = translator.responseHeaders?.(head, context) ?? {};
    setHeaders.push(...(changes.setHeaders ?? []));
    const removeHeaders = [...(changes.removeHeaders ?? [])];
    if (context.stream) {
      this.#stream = translator.createStream(context);
      // The converted stream has another length; the gateway re-frames it.
      removeHeaders.push('content-length');
      return { setHeaders, removeHeaders, responseBodyMode: 'STREAMED' };
    }
    return { setHeaders, removeHeaders, responseBodyMode: 'BUFFERED' };
  }

  responseBody(body: Buffer): PhaseResult {
    const translator = this.#translator!;
    const failed = this.#errorStatus > 0;
    // Redacted before the translator reads it: its message may keep only part of the body.
    const received = failed ? this.#attemptSecrets().redact(body) : body;
    // No context: the provider answered before the request body reached this filter, so nothing was
    // translated for it and there is nothing to translate back; its answer passes as it is.
    if (!failed && !this.#context) return NO_CHANGE;
    const converted = failed
      ? this.#errorBody(received)
      : translator.responseBody(body, this.#context!, this.#responseHead);
    const setHeaders: [string, string][] = [
      ['content-type', 'application/json'],
      ['content-length', String(converted.length)],
    ];
    if (failed && translator.retryAfter && this.#responseHead?.get('retry-after') === undefined) {
      const seconds = translator.retryAfter(received);
      if (seconds !== undefined) setHeaders.push(['retry-after', String(seconds)]);
    }
    return { body: converted, setHeaders };
  }

  responseChunk(chunk: Buffer, endOfStream: boolean): Buffer | undefined {
    if (this.#errorStatus > 0) return this.#errorChunk(chunk, endOfStream);
    const out = this.#stream?.chunk(chunk, endOfStream);
    if (out) return out.includes(ERROR_EVENT_PREFIX) ? this.#attemptSecrets().redact(out) : out;
    // Not converted (a stream where none was asked for, a body in a streamed mode): the provider's own
    // bytes pass, searched where they carry an error at all, as the router-level phase does.
    return redactErrorChunk(chunk, () => this.#attemptSecrets());
  }

  /** The normalised error for a redacted provider error body, redacted once more as a whole. */
  #errorBody(received: Buffer): Buffer {
    const status = this.#errorStatus;
    const backend = this.#candidate!.backend;
    let error = this.#translator!.error(status, received, this.#responseHead);
    if (this.#record && this.#record.errorCode === undefined && error.error.code)
      this.#record.errorCode = error.error.code;
    if (PROVIDER_AUTH_STATUSES.has(status)) {
      const said = error.error.code ? `${error.error.message} (${error.error.code})` : error.error.message;
      error = errors.providerAuth(backend.id, backend.provider, status, this.#ownCredential, said).toBody();
    }
    return this.#attemptSecrets().redact(Buffer.from(JSON.stringify(error)));
  }

  /**
   * An error body in a streamed body mode (the gateway did not honour the BUFFERED override): held
   * until its end, then answered as a whole, as in BUFFERED mode.
   */
  #errorChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    if (this.#errorBytes < MAX_ERROR_BODY_BYTES && chunk.length > 0) {
      this.#errorChunks.push(chunk);
      this.#errorBytes += chunk.length;
    }
    if (!endOfStream) return Buffer.alloc(0);
    const body = Buffer.concat(this.#errorChunks);
    this.#errorChunks = [];
    return this.#errorBody(this.#attemptSecrets().redact(body));
  }

  #attemptSecrets(): SecretMatcher {
    this.#secrets ??= attemptSecrets(this.#credential, this.#minted);
    return this.#secrets;
  }

  finish(outcome: StreamOutcome): void {
    const record = this.#record;
    if (!record) return;
    // Refused here before the provider answered (a body this phase would not send): its own error.
    if (outcome.error && record.errorCode === undefined) record.errorCode = outcome.error.code;
    record.endMs ??= Date.now();
  }
}
