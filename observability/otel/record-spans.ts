/**
 * One request record → one span for the request and one child span per attempt.
 *
 * Kinds. The request span is SERVER: it stands for the gateway serving the client's request, and a
 * gateway's span for an inbound request is a server span (HTTP semconv), with the `gen_ai.*` attributes
 * of the call it brokered. Each attempt span is CLIENT: it is what GenAI semconv's inference span
 * describes, a call to a model service over HTTP ("Span kind SHOULD be CLIENT … RECOMMENDED … when the
 * GenAI call happens over instrumented protocol such as HTTP", docs/gen-ai/gen-ai-spans.md, v1.41).
 * So a trace shows the gateway's view and each upstream call under it, as for any HTTP proxy.
 *
 * Names: `{gen_ai.operation.name} {gen_ai.request.model}`, the operation alone when no model is known
 * (the request was refused before routing, or an attempt went to another backend than the final one).
 *
 * Times. The request span runs from `record.time` to `record.time + latencyMs`. An attempt runs from its
 * `startMs` to its `endMs`, which is when its response headers arrived; the last attempt's response body
 * is the request's, so it runs on to the end of the request. An attempt without times (the router-level
 * phase knew only the final backend, or another gateway's per-attempt filter noted it) gets an equal
 * slice of the request in attempt order, and says so with `agent_router.timing_estimated = true`: the
 * order is real, the boundaries are not.
 *
 * The record names the provider and resolved model of the final backend only, so an attempt at another
 * backend (a fallback's earlier tries) carries its backend id but no provider or model.
 */
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { millisToHrTime, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { AttemptRecord, RequestRecord } from '../../analytics/record.ts';
import { attemptErrorType, attemptFailed, type GenAiView } from './record-view.ts';
import { ATTR } from './semconv.ts';

export function recordSpans(tracer: Tracer, record: RequestRecord, view: GenAiView): void {
  const start = record.time;
  const end = record.time + record.latencyMs;
  // The sampler sees the attributes semconv marks as relevant to sampling; the rest are built only for a
  // span that is recorded, so a trace sampled out costs little more than the sampling decision.
  const parent = tracer.startSpan(
    spanName(view.operation, view.model),
    { kind: SpanKind.SERVER, startTime: millisToHrTime(start), attributes: samplingAttributes(view) },
    callerContext(record),
  );
  if (!parent.isRecording()) return;
  parent.setAttributes(requestAttributes(record, view));
  if (view.serverError) parent.setStatus({ code: SpanStatusCode.ERROR });

  const attempts = record.attempts;
  if (attempts.length > 0) {
    const context = trace.setSpan(ROOT_CONTEXT, parent);
    const slice = (end - start) / attempts.length;
    for (let i = 0; i < attempts.length; i++) {
      const attempt = attempts[i]!;
      const known = attempt.startMs !== undefined && attempt.endMs !== undefined;
      const last = i === attempts.length - 1;
      const cutByClient = last && record.cancelled;
      const attributes = attemptAttributes(record, view, attempt, i, cutByClient);
      if (!known) attributes[ATTR.timingEstimated] = true;
      const sameBackend = attempt.backend === record.backend;
      const child = tracer.startSpan(
        spanName(view.operation, sameBackend ? view.model : undefined),
        {
          kind: SpanKind.CLIENT,
          startTime: millisToHrTime(known ? attempt.startMs! : start + i * slice),
          attributes,
        },
        context,
      );
      if (attemptFailed(attempt, cutByClient)) child.setStatus({ code: SpanStatusCode.ERROR });
      const ended = known ? (last ? Math.max(attempt.endMs!, end) : attempt.endMs!) : start + (i + 1) * slice;
      child.end(millisToHrTime(ended));
    }
  }
  parent.end(millisToHrTime(end));
}

const W3C = new W3CTraceContextPropagator();
const HEADERS: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * The trace the request arrived in (ext-proc/trace-context.ts chose and checked it), as the parent of
 * its span: the root context when it came with none. The default parent-based sampler then follows
 * the caller's sampled flag.
 */
function callerContext(record: RequestRecord): Context {
  if (record.traceParent === undefined) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent: record.traceParent };
  if (record.traceState !== undefined) carrier.tracestate = record.traceState;
  return W3C.extract(ROOT_CONTEXT, carrier, HEADERS);
}

function spanName(operation: string, model: string | undefined): string {
  return model === undefined ? operation : `${operation} ${model}`;
}

/** gen-ai-spans.md marks operation, provider and request model as sampling-relevant. */
function samplingAttributes(view: GenAiView): Attributes {
  const a: Attributes = { [ATTR.operation]: view.operation };
  if (view.provider !== undefined) a[ATTR.provider] = view.provider;
  if (view.model !== undefined) a[ATTR.requestModel] = view.model;
  return a;
}

function requestAttributes(record: RequestRecord, view: GenAiView): Attributes {
  const a: Attributes = {
    [ATTR.stream]: record.stream,
    [ATTR.requestId]: record.id,
    [ATTR.cancelled]: record.cancelled,
  };
  if (view.responseModel !== undefined) a[ATTR.responseModel] = view.responseModel;
  if (view.originalModel !== undefined) a[ATTR.originalModel] = view.originalModel;
  if (view.errorType !== undefined) a[ATTR.errorType] = view.errorType;
  if (record.status > 0) a[ATTR.httpStatus] = record.status;
  if (record.ttftMs !== undefined) a[ATTR.timeToFirstChunk] = record.ttftMs / 1000;
  const tokens = record.tokens;
  if (tokens) {
    a[ATTR.inputTokens] = tokens.prompt;
    a[ATTR.outputTokens] = tokens.completion;
    if (tokens.cached !== undefined) a[ATTR.cacheReadInputTokens] = tokens.cached;
    if (tokens.reasoning !== undefined) a[ATTR.reasoningOutputTokens] = tokens.reasoning;
  }
  if (record.routeConfig !== undefined) a[ATTR.routeConfig] = record.routeConfig;
  if (record.routeEntry !== undefined) a[ATTR.routeEntry] = record.routeEntry;
  if (record.decision !== undefined) a[ATTR.decision] = record.decision;
  if (record.keyId !== undefined) a[ATTR.keyId] = record.keyId;
  if (record.backend !== undefined) a[ATTR.backend] = record.backend;
  if (record.endpoint !== undefined) a[ATTR.endpoint] = record.endpoint;
  if (record.sessionHash !== undefined) a[ATTR.sessionHash] = record.sessionHash;
  if (record.costUsd !== undefined) a[ATTR.costUsd] = record.costUsd;
  return a;
}

function attemptAttributes(
  record: RequestRecord,
  view: GenAiView,
  attempt: AttemptRecord,
  index: number,
  cutByClient: boolean,
): Attributes {
  const a: Attributes = { [ATTR.operation]: view.operation, [ATTR.backend]: attempt.backend };
  if (attempt.backend === record.backend) {
    if (view.provider !== undefined) a[ATTR.provider] = view.provider;
    if (view.model !== undefined) a[ATTR.requestModel] = view.model;
  }
  if (attempt.status > 0) a[ATTR.httpStatus] = attempt.status;
  const errorType = attemptErrorType(attempt, cutByClient);
  if (errorType !== undefined) a[ATTR.errorType] = errorType;
  // HTTP semconv: "The ordinal number of request resending attempt", set from the first resend on.
  if (index > 0) a[ATTR.resendCount] = index;
  if (attempt.endpoint !== undefined) addServer(a, attempt.endpoint);
  return a;
}

/** `ip:port` or `[v6]:port` → server.address and server.port; anything else is left out. */
function addServer(a: Attributes, endpoint: string): void {
  const colon = endpoint.lastIndexOf(':');
  if (colon <= 0) return;
  const port = Number(endpoint.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return;
  let host = endpoint.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  a[ATTR.serverAddress] = host;
  a[ATTR.serverPort] = port;
}
