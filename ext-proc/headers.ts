/**
 * Header names of agent-router's contract with the gateway. The router-level phase sets the internal
 * ones, the per-attempt phase reads and strips them; clients can never inject them because the
 * router-level phase removes whatever a client sent under these names (CLIENT_FORBIDDEN_HEADERS).
 */
import {
  DESTINATION_ENDPOINT_HEADER,
  PRIORITY_HEADER,
  SERVED_ENDPOINT_KEY,
  SUBSET_HINT_KEY,
} from '../endpoint-picker/protocol.ts';

export const INTERNAL_PREFIX = 'x-agent-router-';

/** Target header: the chosen route entry id "<namespace>/<routeconfig>/<entry>"; the gateway routes on it. */
export const ROUTE_HEADER = 'x-agent-router-route';
export const KEY_ID_HEADER = 'x-agent-router-key-id';
export const LOGICAL_MODEL_HEADER = 'x-agent-router-model';
/** The request's id, shared by the router-level and per-attempt phases for log correlation. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Response headers the per-attempt phase adds, for the client and for the router-level log line. */
export const RESOLVED_MODEL_HEADER = 'x-agent-router-resolved-model';
export const BACKEND_HEADER = 'x-agent-router-backend';
export const ATTEMPT_HEADER = 'x-agent-router-attempt';
/** The provider's own request id (x-request-id, request-id, x-amzn-requestid, …), under one name. */
export const PROVIDER_REQUEST_ID_HEADER = 'x-agent-router-provider-request-id';

/**
 * Envoy adds this to upstream requests when the route sets `include_request_attempt_count`; the
 * per-attempt phase uses it to pick the fallback candidate (1 = first choice).
 */
export const ENVOY_ATTEMPT_COUNT_HEADER = 'x-envoy-attempt-count';

/** gRPC metadata the gateway sets per ext_proc filter (Envoy GrpcService.initial_metadata). */
export const FILTER_METADATA_KEY = 'x-agent-router-filter';
export type FilterLevel = 'router' | 'upstream';

/** Dynamic metadata namespace carrying the decision and usage. */
export const METADATA_NAMESPACE = 'agent-router';

/**
 * Request headers a client may never hand on: our internal request headers (the target header would
 * pick the route, the key id the bring-your-own-key credential), the response headers the per-attempt
 * phase adds, and the Gateway API Inference Extension's destination names
 * (kubernetes-sigs/gateway-api-inference-extension, docs/proposals/004-endpoint-picker-protocol:
 * `x-gateway-destination-endpoint` is what Envoy's override_host load balancing follows to a pool pod,
 * and only the endpoint picker, a later filter, may set it; `x-gateway-destination-endpoint-served` and
 * `-subset` are the protocol's metadata keys, which no client has a reason to send as headers).
 */
export const CLIENT_FORBIDDEN_HEADERS: readonly string[] = Object.freeze([
  ROUTE_HEADER,
  KEY_ID_HEADER,
  LOGICAL_MODEL_HEADER,
  RESOLVED_MODEL_HEADER,
  BACKEND_HEADER,
  ATTEMPT_HEADER,
  PROVIDER_REQUEST_ID_HEADER,
  DESTINATION_ENDPOINT_HEADER,
  SERVED_ENDPOINT_KEY,
  SUBSET_HINT_KEY,
]);

/**
 * Client inputs under our prefix, kept: the request priority the endpoint picker sheds by (README,
 * "Endpoint picker"; the upstream derives it from an InferenceObjective, we take it from the client).
 */
export const CLIENT_INPUT_HEADERS: ReadonlySet<string> = new Set([PRIORITY_HEADER]);
