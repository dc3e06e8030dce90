/**
 * Histogram bucket boundaries of the OpenTelemetry GenAI metrics, in seconds, as the semantic conventions
 * advise them ("This metric SHOULD be specified with ExplicitBucketBoundaries of …"):
 * open-telemetry/semantic-conventions, docs/gen-ai/gen-ai-metrics.md, sections `gen_ai.server.request.duration`,
 * `gen_ai.server.time_to_first_token`, `gen_ai.server.time_per_output_token` and `gen_ai.client.token.usage`.
 *
 * One list per metric, shared by the OTel instruments, the Prometheus histograms and the request store's
 * per-minute rollups, so a percentile read from the store and one read from a dashboard fall in the same
 * buckets. The store keeps one column per bucket: changing a list here changes the store's schema.
 * Buckets are upper-inclusive, as in OTel and Prometheus (`le`): a value equal to a boundary counts in the
 * bucket that boundary closes.
 */

/** `gen_ai.server.request.duration`, seconds. */
export const REQUEST_DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]);

/** `gen_ai.server.time_to_first_token`, seconds. */
export const TIME_TO_FIRST_TOKEN_BUCKETS_S: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
]);

/** `gen_ai.server.time_per_output_token`, seconds. */
export const TIME_PER_OUTPUT_TOKEN_BUCKETS_S: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
]);

/** `gen_ai.client.token.usage`, tokens. */
export const TOKEN_USAGE_BUCKETS: readonly number[] = Object.freeze([
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]);
