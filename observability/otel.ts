/**
 * OpenTelemetry export of the request records: one span per request (a child per attempt) and the GenAI
 * metrics, over OTLP, when the standard OTEL_EXPORTER_OTLP_* variables ask for it.
 *
 * Semantic conventions followed: GenAI as of core semconv v1.41 (Development), through the pinned
 * `@opentelemetry/semantic-conventions` 1.45.0; see otel/semconv.ts for why that version and not the
 * package's own. What is read from the environment, and what is left to the SDK: otel/env.ts. Span
 * shape: otel/record-spans.ts. Metrics: otel/record-metrics.ts.
 *
 * The providers are private to this exporter, never registered as the global ones: nothing else in the
 * process starts emitting through them, and a test can create and shut down as many as it likes.
 * Records cost the request path nothing but the SDK's in-memory work: spans are batched
 * (BatchSpanProcessor) and metrics aggregated in memory and pushed on an interval.
 */
import { Metadata } from '@grpc/grpc-js';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { RequestRecord } from '../analytics/record.ts';
import {
  type Env,
  type OtelSettings,
  type OtlpSignalSettings,
  otelSettingsFromEnv,
  type SamplerName,
  type TemporalityPreference,
} from './otel/env.ts';
import { genAiMetrics } from './otel/record-metrics.ts';
import { recordSpans } from './otel/record-spans.ts';
import { genAiView } from './otel/record-view.ts';

export interface OtelExporter {
  /** Turns one request record into its spans and metric points, in memory; export happens later, in batches. */
  onRecord(record: RequestRecord): void;
  /** Exports everything recorded so far. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops; later records are dropped. Safe to call more than once. */
  shutdown(): Promise<void>;
}

/** The instrumentation scope of every span and metric. */
export const INSTRUMENTATION_SCOPE = 'agent-router';

/**
 * The exporter, or undefined when the environment sets no OTLP endpoint (or disables the SDK). The
 * service name is OTEL_SERVICE_NAME, else service.name from OTEL_RESOURCE_ATTRIBUTES, else
 * `options.serviceName`, else "agent-router".
 */
export function createOtelExporter(
  env: Env = process.env,
  options: { serviceName?: string } = {},
): OtelExporter | undefined {
  const settings = otelSettingsFromEnv(env, options.serviceName);
  if (!settings) return undefined;
  const resource = resourceOf(settings);

  const tracerProvider = settings.traces
    ? new TracerProvider({
        resource,
        sampler: samplerOf(settings.traces.sampler, settings.traces.samplerRatio),
        spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter(settings.traces) })],
      })
    : undefined;
  const meterProvider = settings.metrics
    ? new MeterProvider({
        resource,
        readers: [
          new PeriodicExportingMetricReader({
            exporter: metricExporter(settings.metrics, settings.metrics.temporality),
            exportIntervalMillis: settings.metrics.exportIntervalMillis,
            exportTimeoutMillis: Math.min(
              settings.metrics.exportTimeoutMillis,
              settings.metrics.exportIntervalMillis,
            ),
          }),
        ],
      })
    : undefined;
  const tracer = tracerProvider?.getTracer(INSTRUMENTATION_SCOPE);
  const metrics = meterProvider ? genAiMetrics(meterProvider.getMeter(INSTRUMENTATION_SCOPE)) : undefined;

  let stopped: Promise<void> | undefined;
  return {
    onRecord(record) {
      if (stopped) return;
      const view = genAiView(record);
      if (tracer) recordSpans(tracer, record, view);
      metrics?.record(record, view);
    },
    async forceFlush() {
      await Promise.all([tracerProvider?.forceFlush(), meterProvider?.forceFlush()]);
    },
    shutdown() {
      stopped ??= Promise.all([tracerProvider?.shutdown(), meterProvider?.shutdown()]).then(() => undefined);
      return stopped;
    },
  };
}

function resourceOf(settings: OtelSettings): Resource {
  return defaultResource().merge(
    resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName }),
  );
}

function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

function spanExporter(signal: OtlpSignalSettings): SpanExporter {
  switch (signal.protocol) {
    case 'grpc':
      return new GrpcTraceExporter({ url: signal.url, metadata: metadataOf(signal.headers) });
    case 'http/json':
      return new JsonTraceExporter({ url: signal.url, headers: { ...signal.headers } });
    case 'http/protobuf':
      return new ProtoTraceExporter({ url: signal.url, headers: { ...signal.headers } });
  }
}

const TEMPORALITY: Readonly<Record<TemporalityPreference, AggregationTemporalityPreference>> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};

function metricExporter(signal: OtlpSignalSettings, temporality: TemporalityPreference): PushMetricExporter {
  const temporalityPreference = TEMPORALITY[temporality];
  switch (signal.protocol) {
    case 'grpc':
      return new GrpcMetricExporter({
        url: signal.url,
        metadata: metadataOf(signal.headers),
        temporalityPreference,
      });
    case 'http/json':
      return new JsonMetricExporter({
        url: signal.url,
        headers: { ...signal.headers },
        temporalityPreference,
      });
    case 'http/protobuf':
      return new ProtoMetricExporter({
        url: signal.url,
        headers: { ...signal.headers },
        temporalityPreference,
      });
  }
}

function metadataOf(headers: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}
