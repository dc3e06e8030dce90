/**
 * Reads the standard OpenTelemetry SDK environment variables into plain settings, once, at startup.
 * Definitions: opentelemetry-specification, specification/configuration/sdk-environment-variables.md and
 * specification/protocol/exporter.md.
 *
 * Why we read them here and do not leave them all to the SDK: the SDK's readers (`getStringFromEnv` in
 * @opentelemetry/core, the exporters' env configuration in @opentelemetry/otlp-exporter-base) read
 * `process.env` and take no environment argument, and `createOtelExporter(env)` must be decided by the
 * environment it is given, in tests and in production alike. So the settings that decide *whether* and
 * *where* to export are read from `env` here, with the SDK's own parser for the key=value lists
 * (`parseKeyPairsIntoRecord`, the one its exporters use) and the SDK's precedence, and handed to the
 * exporters explicitly; an explicit setting wins over the environment in the SDK, so with
 * `env === process.env` both agree. What is left to the SDK, read from `process.env` by the exporters
 * themselves: OTEL_EXPORTER_OTLP[_SIGNAL]_TIMEOUT, _COMPRESSION, _CERTIFICATE, _CLIENT_KEY,
 * _CLIENT_CERTIFICATE and _INSECURE (gRPC).
 *
 * Read here: OTEL_SDK_DISABLED; OTEL_EXPORTER_OTLP_ENDPOINT and _TRACES_/_METRICS_ENDPOINT;
 * OTEL_EXPORTER_OTLP_PROTOCOL and _TRACES_/_METRICS_PROTOCOL; OTEL_EXPORTER_OTLP_HEADERS and
 * _TRACES_/_METRICS_HEADERS; OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER (`none` turns a signal off;
 * we export OTLP only); OTEL_SERVICE_NAME; OTEL_RESOURCE_ATTRIBUTES; OTEL_TRACES_SAMPLER and _ARG;
 * OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT; OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
 *
 * A signal is exported only when an endpoint variable names it: its own or the generic one. The SDK
 * would fall back to localhost:4318 for a signal with no endpoint; a gateway that was told where to send
 * traces should not start sending metrics somewhere it was not told.
 */
import { diag } from '@opentelemetry/api';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export type TemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface OtlpSignalSettings {
  protocol: OtlpProtocol;
  /** The full export URL: for HTTP with the signal path, for gRPC the endpoint as given. */
  url: string;
  /** Sent with every export (e.g. the collector's credentials); never put in a payload. */
  headers: Readonly<Record<string, string>>;
}

export interface OtelSettings {
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, service.name excluded (it is `serviceName`). */
  resourceAttributes: Readonly<Record<string, string>>;
  traces?: OtlpSignalSettings & { sampler: SamplerName; samplerRatio: number };
  metrics?: OtlpSignalSettings & {
    exportIntervalMillis: number;
    exportTimeoutMillis: number;
    temporality: TemporalityPreference;
  };
}

export type Env = Readonly<Record<string, string | undefined>>;

const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const TEMPORALITIES: readonly TemporalityPreference[] = ['cumulative', 'delta', 'lowmemory'];

/** Spec defaults (sdk-environment-variables.md, "Periodic exporting MetricReader"). */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;
const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;
export const DEFAULT_SERVICE_NAME = 'agent-router';

/** The settings, or undefined when the environment asks for no OTLP export at all. */
export function otelSettingsFromEnv(
  env: Env,
  defaultServiceName = DEFAULT_SERVICE_NAME,
): OtelSettings | undefined {
  // Spec: a boolean is true only for a case-insensitive "true"; anything else is false.
  if (flag(env, 'OTEL_SDK_DISABLED')) return undefined;
  const traces = signal(env, 'TRACES', 'v1/traces');
  const metrics = signal(env, 'METRICS', 'v1/metrics');
  if (!traces && !metrics) return undefined;

  const resourceAttributes = parseKeyPairsIntoRecord(value(env, 'OTEL_RESOURCE_ATTRIBUTES'));
  // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, which wins over our default.
  const serviceName =
    value(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? defaultServiceName;
  delete resourceAttributes['service.name'];

  const settings: OtelSettings = { serviceName, resourceAttributes };
  if (traces) {
    const sampler = oneOf(env, 'OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on');
    settings.traces = { ...traces, sampler, samplerRatio: ratio(env, 'OTEL_TRACES_SAMPLER_ARG') };
  }
  if (metrics) {
    settings.metrics = {
      ...metrics,
      exportIntervalMillis: positive(env, 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULT_EXPORT_INTERVAL_MS),
      exportTimeoutMillis: positive(env, 'OTEL_METRIC_EXPORT_TIMEOUT', DEFAULT_EXPORT_TIMEOUT_MS),
      temporality: oneOf(
        env,
        'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
        TEMPORALITIES,
        'cumulative',
        (raw) => raw.toLowerCase(),
      ),
    };
  }
  return settings;
}

function signal(env: Env, name: 'TRACES' | 'METRICS', resourcePath: string): OtlpSignalSettings | undefined {
  const exporters = value(env, `OTEL_${name}_EXPORTER`);
  if (exporters?.split(',').some((exporter) => exporter.trim() === 'none')) return undefined;

  const protocol =
    value(env, `OTEL_EXPORTER_OTLP_${name}_PROTOCOL`) !== undefined
      ? oneOf(env, `OTEL_EXPORTER_OTLP_${name}_PROTOCOL`, PROTOCOLS, 'http/protobuf')
      : oneOf(env, 'OTEL_EXPORTER_OTLP_PROTOCOL', PROTOCOLS, 'http/protobuf');

  // The signal's own endpoint is used as is; the generic one gets the signal's path for OTLP/HTTP
  // (exporter.md, "Endpoint URLs for OTLP/HTTP") and is used as is for gRPC.
  let exportUrl = url(env, `OTEL_EXPORTER_OTLP_${name}_ENDPOINT`);
  if (exportUrl === undefined) {
    const generic = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    if (generic !== undefined) {
      exportUrl =
        protocol === 'grpc' ? generic : `${generic.endsWith('/') ? generic : `${generic}/`}${resourcePath}`;
    }
  }
  if (exportUrl === undefined) return undefined;

  // Signal-specific headers override generic ones of the same name, as in the SDK's exporters.
  const headers = {
    ...parseKeyPairsIntoRecord(value(env, 'OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseKeyPairsIntoRecord(value(env, `OTEL_EXPORTER_OTLP_${name}_HEADERS`)),
  };
  return { protocol, url: exportUrl, headers };
}

/** A variable's value, trimmed; blank counts as unset (spec: "empty value … MUST be treated as unset"). */
function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function flag(env: Env, name: string): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw !== undefined && raw !== 'true' && raw !== 'false') {
    diag.warn(`${name} is neither true nor false; taken as false`);
  }
  return raw === 'true';
}

function url(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(raw);
  } catch {}
  // OTLP endpoints are http(s) URLs, for gRPC too (the scheme says whether to use TLS; exporter.md).
  if (parsed?.protocol === 'http:' || parsed?.protocol === 'https:') return raw;
  // The value itself is not repeated: a URL may carry credentials.
  diag.warn(`${name} is not an http(s) URL; the variable is ignored`);
  return undefined;
}

function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
  normalise: (raw: string) => string = (raw) => raw,
): T {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const normalised = normalise(raw);
  if ((allowed as readonly string[]).includes(normalised)) return normalised as T;
  diag.warn(`${name}=${raw} is not one of ${allowed.join(', ')}; using ${fallback}`);
  return fallback;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && n > 0) return n;
  diag.warn(`${name}=${raw} is not a positive number; using ${fallback}`);
  return fallback;
}

function ratio(env: Env, name: string): number {
  const raw = value(env, name);
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0 && n <= 1) return n;
  diag.warn(`${name}=${raw} is not a ratio in [0, 1]; using 1`);
  return 1;
}
