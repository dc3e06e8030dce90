/**
 * The GenAI metrics from one request record (semconv v1.41 docs/gen-ai/gen-ai-metrics.md), with the
 * explicit bucket boundaries that document advises, given as instrument advice (../genai-buckets.ts).
 *
 * Attributes, as each metric's table lists them: `gen_ai.operation.name`, `gen_ai.provider.name`,
 * `gen_ai.request.model`, `gen_ai.response.model`; `error.type` on the duration only (the only one of the
 * four whose table has it); `gen_ai.token.type` on token usage. Plus `gen_ai.original.model`, as Envoy AI
 * Gateway adds it, so a split's variants can be told apart under one logical name. No ids, keys or
 * sessions: metric attributes must stay low in cardinality as much as they must stay free of secrets.
 *
 * When each is recorded:
 * - `gen_ai.server.request.duration`: every request, failed ones with `error.type`.
 * - `gen_ai.server.time_to_first_token` and `gen_ai.server.time_per_output_token`: "for successful
 *   responses" only (their descriptions): not for a 4xx/5xx, a cancelled request or one with an error
 *   code. TPOT exists for streams with more than one output token only (the record computes it).
 * - `gen_ai.client.token.usage`: when the provider reported usage; input and output as two points.
 *   Named `client` because the gateway is the provider's client, as Envoy AI Gateway argues
 *   (internal/metrics/genai.go). Cached and reasoning tokens are subsets of input and output, so they
 *   are not recorded as further token types (that would double-count a sum over types); the span has them.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { RequestRecord } from '../../analytics/record.ts';
import {
  REQUEST_DURATION_BUCKETS_S,
  TIME_PER_OUTPUT_TOKEN_BUCKETS_S,
  TIME_TO_FIRST_TOKEN_BUCKETS_S,
  TOKEN_USAGE_BUCKETS,
} from '../genai-buckets.ts';
import type { GenAiView } from './record-view.ts';
import { ATTR, METRIC, TOKEN_TYPE_INPUT, TOKEN_TYPE_OUTPUT } from './semconv.ts';

export interface GenAiMetrics {
  record(record: RequestRecord, view: GenAiView): void;
}

export function genAiMetrics(meter: Meter): GenAiMetrics {
  const histogram = (
    name: string,
    unit: string,
    description: string,
    buckets: readonly number[],
  ): Histogram =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...buckets] } });
  // Units and descriptions as in the semconv metric tables.
  const tokenUsage = histogram(
    METRIC.tokenUsage,
    '{token}',
    'Number of input and output tokens used.',
    TOKEN_USAGE_BUCKETS,
  );
  const duration = histogram(
    METRIC.requestDuration,
    's',
    'Generative AI server request duration such as time-to-last byte or last output token.',
    REQUEST_DURATION_BUCKETS_S,
  );
  const ttft = histogram(
    METRIC.timeToFirstToken,
    's',
    'Time to generate first token for successful responses.',
    TIME_TO_FIRST_TOKEN_BUCKETS_S,
  );
  const tpot = histogram(
    METRIC.timePerOutputToken,
    's',
    'Time per output token generated after the first token for successful responses.',
    TIME_PER_OUTPUT_TOKEN_BUCKETS_S,
  );

  return {
    record(record, view) {
      const base: Attributes = { [ATTR.operation]: view.operation };
      if (view.provider !== undefined) base[ATTR.provider] = view.provider;
      if (view.model !== undefined) base[ATTR.requestModel] = view.model;
      if (view.responseModel !== undefined) base[ATTR.responseModel] = view.responseModel;
      if (view.originalModel !== undefined) base[ATTR.originalModel] = view.originalModel;

      duration.record(
        record.latencyMs / 1000,
        view.errorType === undefined ? base : { ...base, [ATTR.errorType]: view.errorType },
      );
      if (view.succeeded) {
        if (record.ttftMs !== undefined) ttft.record(record.ttftMs / 1000, base);
        if (record.tpotMs !== undefined) tpot.record(record.tpotMs / 1000, base);
      }
      const tokens = record.tokens;
      if (tokens) {
        tokenUsage.record(tokens.prompt, { ...base, [ATTR.tokenType]: TOKEN_TYPE_INPUT });
        tokenUsage.record(tokens.completion, { ...base, [ATTR.tokenType]: TOKEN_TYPE_OUTPUT });
      }
    },
  };
}
