/**
 * OpenTelemetry export of the request records: one span per request (a child per attempt) and the GenAI
 * metrics, over OTLP, when the standard OTEL_EXPORTER_OTLP_* variables ask for it.
 *
 * Semantic conventions followed: GenAI as of core semconv v1.41 (Development), through the pinned
 * `@opentelemetry/semantic-conventions` 1.45.0; see otel/semconv.ts for why that version and not the
 * package's own. What is read from the environment, and what is left to the SDK: otel/env.ts. Span
 * shape: otel/record-spans.ts (MCP requests: otel/record-mcp-spans.ts). Metrics: otel/record-metrics.ts.
 *
 * The providers are private to this exporter, never registered as the global ones: nothing else in the
 * process starts emitting through them, and a test can create and shut down as many as it likes.
 * Records cost the request path nothing but the SDK's in-memory work: spans are batched
 * (BatchSpanProcessor) and metrics aggregated in memory and pushed on an interval.
 */
import type { RequestRecord } from '../analytics/record.ts';
import type { McpRequestRecord } from './mcp-record.ts';
import { type Env, otelSettingsFromEnv } from './otel/env.ts';

export interface OtelExporter {
  /** Turns one request record into its spans and metric points, in memory; export happens later, in batches. */
  onRecord(record: RequestRecord): void;
  /** The same for one MCP gateway request: its span and a child per call to an MCP server (otel/record-mcp-spans.ts). */
  onMcpRecord(record: McpRequestRecord): void;
  /** Exports everything recorded so far. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops; later records are dropped. Safe to call more than once. */
  shutdown(): Promise<void>;
}

/**
 * The exporter, or undefined when the environment sets no OTLP endpoint (or disables the SDK); the SDK
 * (otel/sdk-exporter.ts) is loaded only in the first case. The service name is OTEL_SERVICE_NAME, else
 * service.name from OTEL_RESOURCE_ATTRIBUTES, else `options.serviceName`, else "agent-router".
 */
export async function createOtelExporter(
  env: Env = process.env,
  options: { serviceName?: string } = {},
): Promise<OtelExporter | undefined> {
  const settings = otelSettingsFromEnv(env, options.serviceName);
  if (!settings) return undefined;
  const { sdkExporter } = await import('./otel/sdk-exporter.ts');
  return sdkExporter(settings);
}
