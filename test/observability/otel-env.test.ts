import { describe, expect, it } from 'vitest';
import { otelSettingsFromEnv } from '../../observability/otel/env.ts';

describe('OpenTelemetry settings from the SDK environment variables', () => {
  it('asks for no export when no OTLP endpoint variable is set', () => {
    expect(otelSettingsFromEnv({})).toBeUndefined();
    expect(
      otelSettingsFromEnv({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toBeUndefined();
    // Blank counts as unset.
    expect(otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeUndefined();
  });

  it('asks for none when OTEL_SDK_DISABLED is true, whatever its case', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(otelSettingsFromEnv({ ...env, OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
    expect(otelSettingsFromEnv({ ...env, OTEL_SDK_DISABLED: 'false' })).toBeDefined();
    expect(otelSettingsFromEnv({ ...env, OTEL_SDK_DISABLED: 'yes' })).toBeDefined();
  });

  it('appends the signal path to the generic endpoint for OTLP/HTTP, with or without a trailing slash', () => {
    const settings = otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp' });
    expect(settings?.traces?.url).toBe('http://collector:4318/otlp/v1/traces');
    expect(settings?.metrics?.url).toBe('http://collector:4318/otlp/v1/metrics');
    expect(settings?.traces?.protocol).toBe('http/protobuf');
    const slash = otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(slash?.traces?.url).toBe('http://collector:4318/v1/traces');
  });

  it('uses a signal endpoint as given, and exports only the signals an endpoint names', () => {
    const settings = otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom' });
    expect(settings?.traces?.url).toBe('http://tempo:4318/custom');
    expect(settings?.metrics).toBeUndefined();
    const both = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://mimir:9009/otlp/v1/metrics',
    });
    expect(both?.traces?.url).toBe('http://collector:4318/v1/traces');
    expect(both?.metrics?.url).toBe('http://mimir:9009/otlp/v1/metrics');
  });

  it('uses the generic endpoint as given for gRPC, and lets a signal protocol override the generic one', () => {
    const settings = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
    });
    expect(settings?.traces).toMatchObject({ protocol: 'grpc', url: 'http://collector:4317' });
    expect(settings?.metrics).toMatchObject({
      protocol: 'http/json',
      url: 'http://collector:4317/v1/metrics',
    });
  });

  it('falls back to http/protobuf for an unknown protocol, as the SDK does', () => {
    const settings = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift',
    });
    expect(settings?.traces?.protocol).toBe('http/protobuf');
  });

  it('merges generic and signal headers, the signal winning, percent-decoded', () => {
    const settings = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20generic,x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20traces',
    });
    expect(settings?.traces?.headers).toEqual({ authorization: 'Bearer traces', 'x-tenant': 'a' });
    expect(settings?.metrics?.headers).toEqual({ authorization: 'Bearer generic', 'x-tenant': 'a' });
  });

  it('turns a signal off with OTEL_<SIGNAL>_EXPORTER=none, and asks for nothing when both are off', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    const noMetrics = otelSettingsFromEnv({ ...env, OTEL_METRICS_EXPORTER: 'none' });
    expect(noMetrics?.traces).toBeDefined();
    expect(noMetrics?.metrics).toBeUndefined();
    expect(otelSettingsFromEnv({ ...env, OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none' })).toBe(
      undefined,
    );
  });

  it('ignores an endpoint that is not a URL', () => {
    expect(otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318 oops' })).toBeUndefined();
  });

  it('names the service from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then the default', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    const attributes = 'service.name=from-attributes,deployment.environment.name=prod';
    expect(otelSettingsFromEnv(env)?.serviceName).toBe('agent-router');
    expect(otelSettingsFromEnv(env, 'agent-router-ext-proc')?.serviceName).toBe('agent-router-ext-proc');
    const fromAttributes = otelSettingsFromEnv({ ...env, OTEL_RESOURCE_ATTRIBUTES: attributes }, 'default');
    expect(fromAttributes?.serviceName).toBe('from-attributes');
    expect(fromAttributes?.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod' });
    const fromName = otelSettingsFromEnv({
      ...env,
      OTEL_RESOURCE_ATTRIBUTES: attributes,
      OTEL_SERVICE_NAME: 'svc',
    });
    expect(fromName?.serviceName).toBe('svc');
  });

  it('reads the sampler, the metric export interval and the temporality preference', () => {
    const settings = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
    });
    expect(settings?.traces).toMatchObject({ sampler: 'traceidratio', samplerRatio: 0.25 });
    expect(settings?.metrics).toMatchObject({ exportIntervalMillis: 15_000, temporality: 'delta' });
    const defaults = otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(defaults?.traces).toMatchObject({ sampler: 'parentbased_always_on', samplerRatio: 1 });
    expect(defaults?.metrics).toMatchObject({
      exportIntervalMillis: 60_000,
      exportTimeoutMillis: 30_000,
      temporality: 'cumulative',
    });
  });
});
