/**
 * Prompt-caching markers in OpenAI-format requests. The Chat Completions API has no such field (OpenAI
 * caches prefixes on its own), so clients that want Anthropic's caching put Anthropic's
 * `cache_control` on a content part (`{"type":"text","text":…,"cache_control":{"type":"ephemeral"}}`)
 * or on a tool (beside `function`, as LiteLLM's prompt-caching docs place it, or inside `function`,
 * where Envoy AI Gateway's OpenAI schema inlines it: envoyproxy/ai-gateway
 * internal/apischema/openai/openai.go, AnthropicContentFields). Anthropic caches only up to the
 * breakpoints a request marks
 * (platform.claude.com/docs/en/build-with-claude/prompt-caching), so a translator that drops them
 * turns caching off. The marker is Anthropic's CacheControlEphemeral: `{type: "ephemeral", ttl?: "5m" |
 * "1h"}` (anthropic-sdk-typescript src/resources/messages/messages.ts); it is passed to the Messages API
 * as it is, and Bedrock's translator turns it into a cachePoint block.
 */
import { errors } from '../errors.ts';

export interface CacheControl {
  type: string;
  ttl?: unknown;
  [member: string]: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `cache_control` of a content part (or any object carrying one), checked to be an object with a
 * type; undefined when absent or null. `param` names the holder in the 400 a malformed marker gets.
 */
export function cacheControlOf(holder: unknown, param: string): CacheControl | undefined {
  if (!isObject(holder)) return undefined;
  const marker = holder.cache_control;
  if (marker === undefined || marker === null) return undefined;
  if (!isObject(marker) || typeof marker.type !== 'string')
    throw errors.invalidBody(
      `${param}.cache_control must be an object such as {"type": "ephemeral"}.`,
      `${param}.cache_control`,
    );
  return marker as CacheControl;
}

/** A tool's marker: `tools[i].cache_control`, else `tools[i].function.cache_control`. */
export function toolCacheControlOf(tool: unknown, param: string): CacheControl | undefined {
  return (
    cacheControlOf(tool, param) ??
    cacheControlOf(isObject(tool) ? tool.function : undefined, `${param}.function`)
  );
}
