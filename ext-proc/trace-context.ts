/**
 * The W3C trace context a request's record carries, so the request's span joins the trace it is part of.
 *
 * Two places can hold it, and the Process stream's gRPC metadata wins over the HTTP request header:
 * - Envoy, when it traces, injects the context of its own span for the ext_proc call into the stream's
 *   initial metadata (envoyproxy/envoy#33665, Envoy 1.31). That span descends from the client's
 *   context, so it is the nearer parent: the trace then reads client → Envoy → ext_proc call → us.
 * - Without Envoy tracing there is no metadata context, and the client's own `traceparent` header
 *   (forwarded to ext_proc with the other request headers) is the parent.
 *
 * Values are checked against the W3C Trace Context format (Level 1, §3.2): a malformed or all-zero
 * context is ignored rather than passed on, as the spec asks of a receiver.
 */

export interface TraceContext {
  traceParent: string;
  traceState?: string;
}

/** version-traceid-parentid-flags, lower-case hex (W3C Trace Context §3.2.2). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);
/** §3.3.1.5: a vendor may drop tracestate beyond 512 characters; printable ASCII only (§3.3.1.1). */
const TRACESTATE_MAX = 512;
const TRACESTATE = /^[\x20-\x7e]*$/;

/** The valid traceparent in `value`, or undefined. */
export function validTraceParent(value: string | undefined): string | undefined {
  if (value === undefined || value.length < 55) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId] = m;
  // Version ff is invalid; version 00 has exactly four fields; later versions may append more (§3.2.4).
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return undefined;
  return m[0].slice(0, 55);
}

function validTraceState(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > TRACESTATE_MAX) return undefined;
  return TRACESTATE.test(value) ? value : undefined;
}

/**
 * The context from the stream's metadata if it holds a valid one, else from the request headers;
 * tracestate only ever travels with the traceparent it came with.
 */
export function traceContextOf(
  metadata: { traceParent?: string; traceState?: string },
  header: (name: string) => string | undefined,
): TraceContext | undefined {
  const fromMetadata = validTraceParent(metadata.traceParent);
  const traceParent = fromMetadata ?? validTraceParent(header('traceparent'));
  if (traceParent === undefined) return undefined;
  const traceState = validTraceState(fromMetadata ? metadata.traceState : header('tracestate'));
  return traceState === undefined ? { traceParent } : { traceParent, traceState };
}
