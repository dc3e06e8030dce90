/**
 * The OpenTelemetry names agent-router emits, in one place.
 *
 * Version followed: the GenAI conventions as last published in core semantic conventions **v1.41**
 * (status Development; the package's GenAI docs link v1.41.0). Core semconv v1.42.0 deprecated every
 * `gen_ai.*` definition, unchanged, and moved them to open-telemetry/semantic-conventions-genai, which has
 * made no release yet (its drafts keep these names, values and bucket advice); its maintainers ask
 * instrumentations to keep using the deprecated constants generated from core until it releases
 * (semantic-conventions-genai issue #247). So the GenAI names below come from the `incubating` entry point
 * of `@opentelemetry/semantic-conventions` 1.45.0, pinned exactly, where they are marked deprecated for
 * that move only; the stable names (`error.type`, `http.*`, `server.*`) from its stable entry point.
 * The bucket advice is in ../genai-buckets.ts.
 *
 * We are a new instrumentation, so the transition plan for instrumentations that emitted v1.36.0 or
 * earlier (`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`) does not apply: we emit the latest.
 */
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ERROR_TYPE_VALUE_OTHER,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROMPT_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_RPC_RESPONSE_STATUS_CODE,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
  GEN_AI_PROVIDER_NAME_VALUE_MISTRAL_AI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  GEN_AI_TOKEN_TYPE_VALUE_INPUT,
  GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_GEN_AI_SERVER_REQUEST_DURATION,
  METRIC_GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN,
  METRIC_GEN_AI_SERVER_TIME_TO_FIRST_TOKEN,
} from '@opentelemetry/semantic-conventions/incubating';
import type { Provider } from '../../config/manifests.ts';

export const ATTR = {
  operation: ATTR_GEN_AI_OPERATION_NAME,
  provider: ATTR_GEN_AI_PROVIDER_NAME,
  requestModel: ATTR_GEN_AI_REQUEST_MODEL,
  responseModel: ATTR_GEN_AI_RESPONSE_MODEL,
  /**
   * The logical model the client asked for, before routing rewrote it. Not a semconv name: Envoy AI
   * Gateway's (envoyproxy/ai-gateway internal/metrics/genai.go, `genaiAttributeOriginalModel`), which it
   * puts on its GenAI metrics and spans beside `gen_ai.request.model`; we use the same key so dashboards
   * built for one work for the other.
   */
  originalModel: 'gen_ai.original.model',
  stream: ATTR_GEN_AI_REQUEST_STREAM,
  timeToFirstChunk: ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  inputTokens: ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  outputTokens: ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  cacheReadInputTokens: ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  reasoningOutputTokens: ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  tokenType: ATTR_GEN_AI_TOKEN_TYPE,
  errorType: ATTR_ERROR_TYPE,
  httpStatus: ATTR_HTTP_RESPONSE_STATUS_CODE,
  resendCount: ATTR_HTTP_REQUEST_RESEND_COUNT,
  serverAddress: ATTR_SERVER_ADDRESS,
  serverPort: ATTR_SERVER_PORT,
  // Ours, under our own namespace. Ids and names only: the record holds no key, credential or raw session.
  requestId: 'agent_router.request_id',
  routeConfig: 'agent_router.route_config',
  routeEntry: 'agent_router.route_entry',
  decision: 'agent_router.decision',
  keyId: 'agent_router.key_id',
  backend: 'agent_router.backend',
  endpoint: 'agent_router.endpoint',
  sessionHash: 'agent_router.session_hash',
  cancelled: 'agent_router.cancelled',
  costUsd: 'agent_router.cost_usd',
  /** On an attempt span whose time range was spread evenly because the record had no attempt timings. */
  timingEstimated: 'agent_router.timing_estimated',
} as const;

/**
 * MCP spans (ext-proc/mcp): the MCP conventions of the same pinned package (core semconv v1.41
 * docs/gen-ai/mcp.md, since moved to semantic-conventions-genai unchanged), with the HTTP and
 * `agent_router.*` names above. Not `mcp.session.id`: it would be the session id itself, which is a
 * bearer secret here; the session is named by `agent_router.session_hash` instead.
 */
export const MCP_ATTR = {
  method: ATTR_MCP_METHOD_NAME,
  protocolVersion: ATTR_MCP_PROTOCOL_VERSION,
  toolName: ATTR_GEN_AI_TOOL_NAME,
  promptName: ATTR_GEN_AI_PROMPT_NAME,
  operation: ATTR_GEN_AI_OPERATION_NAME,
  /** The JSON-RPC error code of the answer, as a string (mcp.md: "rpc.response.status_code"). */
  rpcStatus: ATTR_RPC_RESPONSE_STATUS_CODE,
  networkTransport: ATTR_NETWORK_TRANSPORT,
  /** The MCP server (RouteConfig name) a request or call went to; the servers of a fan-out. */
  server: 'agent_router.mcp.server',
  servers: 'agent_router.mcp.servers',
} as const;

/** `gen_ai.operation.name` of a tools/call (mcp.md: "SHOULD be set to execute_tool"). */
export const OPERATION_EXECUTE_TOOL = GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL;
/** `error.type` of a tools/call answered with `isError: true` (mcp.md). */
export const ERROR_TYPE_TOOL = 'tool_error';

export const METRIC = {
  tokenUsage: METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  requestDuration: METRIC_GEN_AI_SERVER_REQUEST_DURATION,
  timeToFirstToken: METRIC_GEN_AI_SERVER_TIME_TO_FIRST_TOKEN,
  timePerOutputToken: METRIC_GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN,
} as const;

export const TOKEN_TYPE_INPUT = GEN_AI_TOKEN_TYPE_VALUE_INPUT;
export const TOKEN_TYPE_OUTPUT = GEN_AI_TOKEN_TYPE_VALUE_OUTPUT;
export const ERROR_TYPE_OTHER = ERROR_TYPE_VALUE_OTHER;

/**
 * `gen_ai.provider.name` per ProviderBackend provider, from the well-known values (semconv v1.41
 * docs/gen-ai/gen-ai-metrics.md and the gen-ai registry). The value names the API flavour and endpoint:
 * - Gemini is the Gemini API (generativelanguage.googleapis.com) → `gcp.gemini`; VertexAI and
 *   VertexAnthropic both call aiplatform.googleapis.com → `gcp.vertex_ai` (the registry's notes on
 *   those two values say exactly this).
 * - OpenAICompatible (vLLM, llama.cpp, a pool behind the endpoint picker, …) speaks the OpenAI REST API:
 *   semconv asks for the instrumentation's best knowledge and names OpenAI-API hosts as the example of
 *   providers that may differ from the model's maker, so it is `openai`; `agent_router.backend` and the
 *   model attributes tell the real system apart.
 */
const PROVIDER_NAMES: Readonly<Record<Provider, string>> = {
  OpenAI: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  OpenAICompatible: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  AzureOpenAI: GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  Anthropic: GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  Gemini: GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  VertexAI: GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
  VertexAnthropic: GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
  Bedrock: GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  Mistral: GEN_AI_PROVIDER_NAME_VALUE_MISTRAL_AI,
};

/** The semconv provider name; a provider we do not know passes through as is ("a custom value MAY be used"). */
export function providerName(provider: string): string {
  return Object.hasOwn(PROVIDER_NAMES, provider) ? PROVIDER_NAMES[provider as Provider] : provider;
}

/** The gateway's operations (ext-proc/translate/translator.ts `Operation`) as `gen_ai.operation.name`. */
const OPERATION_NAMES: Readonly<Record<string, string>> = {
  'chat.completions': GEN_AI_OPERATION_NAME_VALUE_CHAT,
  completions: GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
  embeddings: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
};

/**
 * A record without an operation (a path the gateway does not serve, or a request refused before its path
 * was read) counts as `chat`, which is also what the gateway assumes for such a path
 * (ext-proc/upstream-phase.ts).
 */
export function operationName(operation: string | undefined): string {
  if (operation !== undefined && Object.hasOwn(OPERATION_NAMES, operation))
    return OPERATION_NAMES[operation]!;
  return GEN_AI_OPERATION_NAME_VALUE_CHAT;
}
