/**
 * Per-attempt phases (Envoy's upstream ext_proc filter, once per attempt): translate the request for
 * the attempt's backend — path, credentials, body, model — and the response back to the OpenAI shape.
 * The attempt's candidate comes from the chosen entry's fallback chain and the attempt count, so a
 * retry on another provider is translated for that provider and its credentials.
 */
import type { CompiledEntry } from '../config/snapshot.ts';
import type { SnapshotStore } from '../config/store.ts';
import { errors } from './errors.ts';
import {
  ATTEMPT_HEADER,
  BACKEND_HEADER,
  ENVOY_ATTEMPT_COUNT_HEADER,
  INTERNAL_PREFIX,
  KEY_ID_HEADER,
  METADATA_NAMESPACE,
  PROVIDER_REQUEST_ID_HEADER,
  RESOLVED_MODEL_HEADER,
  ROUTE_HEADER,
} from './headers.ts';
import { type RequestJson, requestJson } from './json/request-json.ts';
import { type HttpHead, type MetadataReader, NO_CHANGE, type PhaseResult, type Phases } from './phases.ts';
import { translators } from './translate/registry.ts';
import {
  bodyInput,
  OPERATION_BY_PATH,
  type Operation,
  type ResponseContext,
  type StreamTranslator,
  type Translator,
  type UpstreamRequest,
} from './translate/translator.ts';

export interface AttemptObserver {
  onAttempt(backendId: string, provider: string): void;
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

  constructor(
    private readonly store: SnapshotStore,
    private readonly observer: AttemptObserver,
  ) {}

  requestHeaders(head: HttpHead, endOfStream: boolean, metadata: MetadataReader): PhaseResult {
    // The decision travels in the router-level filter's dynamic metadata (forwarded to this filter) and,
    // for gateways that do not forward it, in headers — which only the first attempt is sure to see.
    const decision = metadata(METADATA_NAMESPACE);
    const fromMetadata = (key: string) =>
      typeof decision?.[key] === 'string' ? (decision[key] as string) : undefined;
    const routeId = fromMetadata('route') ?? head.get(ROUTE_HEADER);
    if (routeId === undefined)
      throw errors.internal('per-attempt phase saw no route header; is the router-level filter installed?');
    const entry = this.store.current.entries.get(routeId);
    if (!entry) throw errors.routeGone(routeId);
    const attempt = Number(head.get(ENVOY_ATTEMPT_COUNT_HEADER) ?? '1');
    this.#attempt = Number.isInteger(attempt) && attempt > 0 ? attempt : 1;
    const chain = entry.fallbackChain;
    this.#candidate = chain[Math.min(this.#attempt, chain.length) - 1]!;
    this.#translator = translators.get(this.#candidate.backend.provider);
    if (!this.#translator)
      throw errors.internal(`no translator for provider ${this.#candidate.backend.provider}`);
    const path = fromMetadata('path') ?? head.get(':path') ?? '';
    const query = path.indexOf('?');
    this.#operation = OPERATION_BY_PATH.get(query < 0 ? path : path.slice(0, query)) ?? 'chat.completions';
    this.#keyId = fromMetadata('key_id') ?? head.get(KEY_ID_HEADER);
    for (const name of head.names()) if (name.startsWith(INTERNAL_PREFIX)) this.#internalHeaders.push(name);
    this.observer.onAttempt(this.#candidate.backend.id, this.#candidate.backend.provider);
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
    const translated = translator.request({
      ...input,
      operation: this.#operation,
      backend,
      model: candidate.resolvedModel,
      credential: own ?? backend.credential,
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

  responseHeaders(head: HttpHead): PhaseResult {
    const candidate = this.#candidate;
    if (!candidate) return NO_CHANGE;
    const translator = this.#translator!;
    this.#responseHead = head;
    const status = Number(head.get(':status'));
    const setHeaders: (readonly [string, string])[] = [
      [RESOLVED_MODEL_HEADER, candidate.resolvedModel],
      [BACKEND_HEADER, candidate.backend.id],
      [ATTEMPT_HEADER, String(this.#attempt)],
    ];
    const providerRequestId = translator.requestIdHeader ? head.get(translator.requestIdHeader) : undefined;
    if (providerRequestId) setHeaders.push([PROVIDER_REQUEST_ID_HEADER, providerRequestId]);
    if (status >= 400) {
      this.#errorStatus = status;
      return { setHeaders, responseBodyMode: 'BUFFERED' };
    }
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
    const converted = failed
      ? Buffer.from(JSON.stringify(translator.error(this.#errorStatus, body, this.#responseHead)))
      : translator.responseBody(body, this.#context!, this.#responseHead);
    const setHeaders: [string, string][] = [
      ['content-type', 'application/json'],
      ['content-length', String(converted.length)],
    ];
    if (failed && translator.retryAfter && this.#responseHead?.get('retry-after') === undefined) {
      const seconds = translator.retryAfter(body);
      if (seconds !== undefined) setHeaders.push(['retry-after', String(seconds)]);
    }
    return { body: converted, setHeaders };
  }

  responseChunk(chunk: Buffer, endOfStream: boolean): Buffer | undefined {
    return this.#stream?.chunk(chunk, endOfStream);
  }

  finish(): void {}
}
