/**
 * Names of the Gateway API Inference Extension endpoint-picker protocol
 * (kubernetes-sigs/gateway-api-inference-extension, docs/proposals/004-endpoint-picker-protocol, v1.0.0).
 */

/** Request header the EPP sets to the picked endpoints, "ip:port[,ip:port…]", primary first. */
export const DESTINATION_ENDPOINT_HEADER = 'x-gateway-destination-endpoint';
/** Dynamic-metadata namespace for the same value (Envoy's subset/override-host LB reads `envoy.lb`). */
export const DESTINATION_METADATA_NAMESPACE = 'envoy.lb';
/** Filter-metadata namespace and key in which a gateway may restrict the candidates. */
export const SUBSET_HINT_NAMESPACE = 'envoy.lb.subset_hint';
export const SUBSET_HINT_KEY = 'x-gateway-destination-endpoint-subset';
/** Response-side metadata (namespace `envoy.lb`) naming the endpoint that actually served the request. */
export const SERVED_ENDPOINT_KEY = 'x-gateway-destination-endpoint-served';

/** gRPC health services the EPP exposes (same document, "Health Checking"). */
export const HEALTH_SERVICES = [
  'liveness',
  'readiness',
  'envoy.service.ext_proc.v3.ExternalProcessor',
] as const;

/** Request priority (negative = sheddable). Our header; the upstream derives it from an InferenceObjective. */
export const PRIORITY_HEADER = 'x-agent-router-priority';

/**
 * Our own dynamic-metadata namespace (not part of the GIE protocol): the picked endpoints' scores,
 * `{ endpoints: { "ip:port": { total, <scorer>: score } } }`, forwarded by Envoy to ext-proc's upstream
 * filter so the request record can explain the pick.
 */
export const PICKER_SCORES_NAMESPACE = 'agent-router.picker';
