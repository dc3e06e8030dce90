/**
 * The OpenTelemetry SDK side of observability/otel.ts: providers, processors and OTLP exporters. Loaded
 * only when the environment asks for export, so a process without OTEL_EXPORTER_OTLP_* never loads the
 * SDK and its six exporters (about half a second of start-up and tens of MB).
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
import type { OtelExporter } from '../otel.ts';
import type { OtelSettings, OtlpSignalSettings, SamplerName, TemporalityPreference } from './env.ts';
import { recordMcpSpans } from './record-mcp-spans.ts';
import { genAiMetrics } from './record-metrics.ts';
import { recordSpans } from './record-spans.ts';
import { genAiView } from './record-view.ts';

/** The instrumentation scope of every span and metric. */
export const INSTRUMENTATION_SCOPE = 'agent-router';

/** The exporter the settings describe. */
export function sdkExporter(settings: OtelSettings): OtelExporter {
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
    onMcpRecord(record) {
      if (!stopped && tracer) recordMcpSpans(tracer, record);
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
