/**
 * A decoder for the OTLP protobuf messages our exporter sends, so the tests read the real bytes.
 *
 * No installed package ships the opentelemetry-proto .proto files or a generated decoder any more: the
 * OTLP exporters of the pinned SDK (otlp-transformer 0.301) write protobuf with their own hand-rolled
 * writer and depend on no schema. So the messages are declared here, with protobufjs (a dependency
 * already), field by field with the numbers of open-telemetry/opentelemetry-proto
 * (opentelemetry/proto/{common,resource,trace,metrics}/v1/*.proto and collector/{trace,metrics}/v1/*.proto).
 * Only the fields the tests read are declared; protobufjs skips the others on the wire, as any decoder
 * built from an older schema would. An independent decoder is the point: one that shares the SDK's
 * serializer could not catch the SDK writing a wrong field.
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ type, id, rule: 'repeated' });

const root = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        // opentelemetry/proto/common/v1/common.proto
        AnyValue: {
          oneofs: {
            value: {
              oneof: [
                'string_value',
                'bool_value',
                'int_value',
                'double_value',
                'array_value',
                'kvlist_value',
                'bytes_value',
              ],
            },
          },
          fields: {
            string_value: { type: 'string', id: 1 },
            bool_value: { type: 'bool', id: 2 },
            int_value: { type: 'int64', id: 3 },
            double_value: { type: 'double', id: 4 },
            array_value: { type: 'ArrayValue', id: 5 },
            kvlist_value: { type: 'KeyValueList', id: 6 },
            bytes_value: { type: 'bytes', id: 7 },
          },
        },
        ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
        KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
        KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
        InstrumentationScope: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'string', id: 2 },
            attributes: repeated('KeyValue', 3),
          },
        },
        // opentelemetry/proto/resource/v1/resource.proto
        Resource: { fields: { attributes: repeated('KeyValue', 1) } },
        // opentelemetry/proto/trace/v1/trace.proto
        ResourceSpans: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scope_spans: repeated('ScopeSpans', 2),
            schema_url: { type: 'string', id: 3 },
          },
        },
        ScopeSpans: {
          fields: {
            scope: { type: 'InstrumentationScope', id: 1 },
            spans: repeated('Span', 2),
            schema_url: { type: 'string', id: 3 },
          },
        },
        Span: {
          fields: {
            trace_id: { type: 'bytes', id: 1 },
            span_id: { type: 'bytes', id: 2 },
            trace_state: { type: 'string', id: 3 },
            parent_span_id: { type: 'bytes', id: 4 },
            name: { type: 'string', id: 5 },
            kind: { type: 'SpanKind', id: 6 },
            start_time_unix_nano: { type: 'fixed64', id: 7 },
            end_time_unix_nano: { type: 'fixed64', id: 8 },
            attributes: repeated('KeyValue', 9),
            dropped_attributes_count: { type: 'uint32', id: 10 },
            status: { type: 'Status', id: 15 },
            flags: { type: 'fixed32', id: 16 },
          },
        },
        SpanKind: {
          values: {
            SPAN_KIND_UNSPECIFIED: 0,
            SPAN_KIND_INTERNAL: 1,
            SPAN_KIND_SERVER: 2,
            SPAN_KIND_CLIENT: 3,
            SPAN_KIND_PRODUCER: 4,
            SPAN_KIND_CONSUMER: 5,
          },
        },
        Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'StatusCode', id: 3 } } },
        StatusCode: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } },
        // opentelemetry/proto/collector/trace/v1/trace_service.proto
        ExportTraceServiceRequest: { fields: { resource_spans: repeated('ResourceSpans', 1) } },
        // opentelemetry/proto/metrics/v1/metrics.proto
        ResourceMetrics: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scope_metrics: repeated('ScopeMetrics', 2),
            schema_url: { type: 'string', id: 3 },
          },
        },
        ScopeMetrics: {
          fields: {
            scope: { type: 'InstrumentationScope', id: 1 },
            metrics: repeated('Metric', 2),
            schema_url: { type: 'string', id: 3 },
          },
        },
        Metric: {
          oneofs: { data: { oneof: ['histogram'] } },
          fields: {
            name: { type: 'string', id: 1 },
            description: { type: 'string', id: 2 },
            unit: { type: 'string', id: 3 },
            histogram: { type: 'Histogram', id: 9 },
          },
        },
        Histogram: {
          fields: {
            data_points: repeated('HistogramDataPoint', 1),
            aggregation_temporality: { type: 'AggregationTemporality', id: 2 },
          },
        },
        AggregationTemporality: {
          values: {
            AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
            AGGREGATION_TEMPORALITY_DELTA: 1,
            AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
          },
        },
        HistogramDataPoint: {
          fields: {
            attributes: repeated('KeyValue', 9),
            start_time_unix_nano: { type: 'fixed64', id: 2 },
            time_unix_nano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5 },
            bucket_counts: repeated('fixed64', 6),
            explicit_bounds: repeated('double', 7),
            min: { type: 'double', id: 11 },
            max: { type: 'double', id: 12 },
          },
        },
        // opentelemetry/proto/collector/metrics/v1/metrics_service.proto
        ExportMetricsServiceRequest: { fields: { resource_metrics: repeated('ResourceMetrics', 1) } },
      },
    },
  },
});

export type AttributeValue = string | number | boolean | string[];
export type AttributeMap = Record<string, AttributeValue>;

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startNanos: bigint;
  endNanos: bigint;
  attributes: AttributeMap;
  status: string;
  resource: AttributeMap;
  scope: string;
}

export interface DecodedHistogramPoint {
  attributes: AttributeMap;
  count: number;
  sum: number;
  bucketCounts: number[];
  explicitBounds: number[];
}

export interface DecodedMetric {
  name: string;
  unit: string;
  description: string;
  temporality: string;
  points: DecodedHistogramPoint[];
  resource: AttributeMap;
  scope: string;
}

const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true } as const;

// biome-ignore lint/suspicious/noExplicitAny: protobufjs toObject output is untyped by construction
type Plain = any;

export function decodeTraceRequest(body: Buffer): DecodedSpan[] {
  const type = root.lookupType('otlp.ExportTraceServiceRequest');
  const request: Plain = type.toObject(type.decode(body), TO_OBJECT);
  const spans: DecodedSpan[] = [];
  for (const rs of request.resource_spans) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scope_spans) {
      for (const s of ss.spans) {
        spans.push({
          traceId: hex(s.trace_id),
          spanId: hex(s.span_id),
          parentSpanId: hex(s.parent_span_id),
          name: s.name,
          kind: s.kind,
          startNanos: BigInt(s.start_time_unix_nano),
          endNanos: BigInt(s.end_time_unix_nano),
          attributes: attributesOf(s.attributes),
          status: s.status?.code ?? 'STATUS_CODE_UNSET',
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return spans;
}

export function decodeMetricsRequest(body: Buffer): DecodedMetric[] {
  const type = root.lookupType('otlp.ExportMetricsServiceRequest');
  const request: Plain = type.toObject(type.decode(body), TO_OBJECT);
  const metrics: DecodedMetric[] = [];
  for (const rm of request.resource_metrics) {
    const resource = attributesOf(rm.resource?.attributes);
    for (const sm of rm.scope_metrics) {
      for (const m of sm.metrics) {
        metrics.push({
          name: m.name,
          unit: m.unit,
          description: m.description,
          temporality: m.histogram?.aggregation_temporality ?? '',
          points: (m.histogram?.data_points ?? []).map(
            (p: Plain): DecodedHistogramPoint => ({
              attributes: attributesOf(p.attributes),
              count: Number(p.count),
              sum: p.sum,
              bucketCounts: p.bucket_counts.map(Number),
              explicitBounds: p.explicit_bounds,
            }),
          ),
          resource,
          scope: sm.scope?.name ?? '',
        });
      }
    }
  }
  return metrics;
}

function attributesOf(list: Plain[] | undefined): AttributeMap {
  const out: AttributeMap = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    switch (v.value) {
      case 'string_value':
        out[kv.key] = v.string_value;
        break;
      case 'bool_value':
        out[kv.key] = v.bool_value;
        break;
      case 'int_value':
        out[kv.key] = Number(v.int_value);
        break;
      case 'double_value':
        out[kv.key] = v.double_value;
        break;
      case 'array_value':
        // Only string arrays are emitted (agent_router.mcp.servers).
        out[kv.key] = (v.array_value?.values ?? []).map((e: Plain) => String(e.string_value));
        break;
      default:
        throw new Error(`attribute ${kv.key} has a value kind the tests do not expect: ${v.value}`);
    }
  }
  return out;
}

function hex(bytes: Uint8Array | undefined): string {
  return bytes ? Buffer.from(bytes).toString('hex') : '';
}
