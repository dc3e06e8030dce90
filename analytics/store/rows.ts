/**
 * A request record as a raw row and back: one column per scalar field, the token counts flattened into
 * four columns, the attempts as JSON (their declared fields only). Reading a row builds a record with
 * exactly the record's fields, absent ones omitted (a NULL column never becomes an `undefined` or `null`
 * property), so what a client of the store sees is what was written, and nothing a table happens to hold
 * besides.
 */
import type { AttemptRecord, RequestRecord } from '../record.ts';
import type { ExperimentSample } from './store.ts';

/** Raw row columns, in the order `recordValues` lists them. */
export const RECORD_COLUMNS = [
  'id',
  'time',
  'key_id',
  'method',
  'path',
  'operation',
  'route_config',
  'route_entry',
  'decision',
  'logical_model',
  'resolved_model',
  'backend',
  'provider',
  'endpoint',
  'attempts',
  'status',
  'error_code',
  'stream',
  'cancelled',
  'latency_ms',
  'ttft_ms',
  'tpot_ms',
  'tokens_prompt',
  'tokens_completion',
  'tokens_cached',
  'tokens_reasoning',
  'cost_usd',
  'session_hash',
  'response_model',
  'trace_parent',
  'trace_state',
] as const;

export type RecordColumn = (typeof RECORD_COLUMNS)[number];

/** The columns `experimentSamples` reads. */
export const SAMPLE_COLUMNS: readonly RecordColumn[] = [
  'route_config',
  'route_entry',
  'decision',
  'resolved_model',
  'session_hash',
  'status',
  'error_code',
  'latency_ms',
  'ttft_ms',
  'tokens_prompt',
  'tokens_completion',
  'cost_usd',
];

/**
 * An attempt with only its declared fields, those that are set (neither undefined nor, read back, null):
 * nothing a caller attached on the side reaches the store, and nothing absent comes back as a property.
 */
function attemptFields(a: AttemptRecord): AttemptRecord {
  const out: AttemptRecord = { backend: a.backend, status: a.status };
  if (a.errorCode !== undefined && a.errorCode !== null) out.errorCode = a.errorCode;
  if (a.endpoint !== undefined && a.endpoint !== null) out.endpoint = a.endpoint;
  if (a.picker !== undefined && a.picker !== null) out.picker = a.picker;
  if (a.startMs !== undefined && a.startMs !== null) out.startMs = a.startMs;
  if (a.endMs !== undefined && a.endMs !== null) out.endMs = a.endMs;
  return out;
}

/** The record's values in RECORD_COLUMNS order; time in whole milliseconds, booleans as 0/1, absent fields as null. */
export function recordValues(r: RequestRecord): (string | number | null)[] {
  return [
    r.id,
    Math.trunc(r.time),
    r.keyId ?? null,
    r.method ?? null,
    r.path ?? null,
    r.operation ?? null,
    r.routeConfig ?? null,
    r.routeEntry ?? null,
    r.decision ?? null,
    r.logicalModel ?? null,
    r.resolvedModel ?? null,
    r.backend ?? null,
    r.provider ?? null,
    r.endpoint ?? null,
    JSON.stringify(r.attempts.map(attemptFields)),
    r.status,
    r.errorCode ?? null,
    r.stream ? 1 : 0,
    r.cancelled ? 1 : 0,
    r.latencyMs,
    r.ttftMs ?? null,
    r.tpotMs ?? null,
    r.tokens?.prompt ?? null,
    r.tokens?.completion ?? null,
    r.tokens?.cached ?? null,
    r.tokens?.reasoning ?? null,
    r.costUsd ?? null,
    r.sessionHash ?? null,
    r.responseModel ?? null,
    r.traceParent ?? null,
    r.traceState ?? null,
  ];
}

type Row = Record<string, unknown>;

const present = (v: unknown) => v !== null && v !== undefined;

/** Copies a text column into `into[field]` when the column is not NULL. */
function text(into: Record<string, unknown>, field: string, v: unknown): void {
  if (present(v)) into[field] = String(v);
}

/** Copies a numeric column (PostgreSQL returns int8 as a string) when the column is not NULL. */
function number(into: Record<string, unknown>, field: string, v: unknown): void {
  if (present(v)) into[field] = Number(v);
}

function parseAttempts(v: unknown): AttemptRecord[] {
  return ((typeof v === 'string' ? JSON.parse(v) : v) as AttemptRecord[]).map(attemptFields);
}

/** A raw row (all RECORD_COLUMNS selected) as a record. */
export function rowToRecord(row: Row): RequestRecord {
  const r: Record<string, unknown> = { id: String(row.id), time: Number(row.time) };
  text(r, 'keyId', row.key_id);
  text(r, 'method', row.method);
  text(r, 'path', row.path);
  text(r, 'operation', row.operation);
  text(r, 'routeConfig', row.route_config);
  text(r, 'routeEntry', row.route_entry);
  text(r, 'decision', row.decision);
  text(r, 'logicalModel', row.logical_model);
  text(r, 'resolvedModel', row.resolved_model);
  text(r, 'backend', row.backend);
  text(r, 'provider', row.provider);
  text(r, 'endpoint', row.endpoint);
  r.attempts = parseAttempts(row.attempts);
  r.status = Number(row.status);
  text(r, 'errorCode', row.error_code);
  r.stream = Boolean(row.stream);
  r.cancelled = Boolean(row.cancelled);
  r.latencyMs = Number(row.latency_ms);
  number(r, 'ttftMs', row.ttft_ms);
  number(r, 'tpotMs', row.tpot_ms);
  if (present(row.tokens_prompt)) {
    const tokens: Record<string, number> = {
      prompt: Number(row.tokens_prompt),
      completion: Number(row.tokens_completion),
    };
    number(tokens, 'cached', row.tokens_cached);
    number(tokens, 'reasoning', row.tokens_reasoning);
    r.tokens = tokens;
  }
  number(r, 'costUsd', row.cost_usd);
  text(r, 'sessionHash', row.session_hash);
  text(r, 'responseModel', row.response_model);
  text(r, 'traceParent', row.trace_parent);
  text(r, 'traceState', row.trace_state);
  return r as unknown as RequestRecord;
}

/** A row with SAMPLE_COLUMNS selected as an experiment sample. */
export function rowToSample(row: Row): ExperimentSample {
  const s: Record<string, unknown> = {};
  text(s, 'routeConfig', row.route_config);
  text(s, 'routeEntry', row.route_entry);
  text(s, 'decision', row.decision);
  text(s, 'resolvedModel', row.resolved_model);
  text(s, 'sessionHash', row.session_hash);
  s.status = Number(row.status);
  text(s, 'errorCode', row.error_code);
  s.latencyMs = Number(row.latency_ms);
  number(s, 'ttftMs', row.ttft_ms);
  if (present(row.tokens_prompt)) s.tokens = Number(row.tokens_prompt) + Number(row.tokens_completion);
  number(s, 'costUsd', row.cost_usd);
  return s as unknown as ExperimentSample;
}
