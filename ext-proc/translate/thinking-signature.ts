/**
 * Thinking blocks the gateway writes itself. A Messages client served by a Chat Completions backend
 * gets the backend's reasoning (`reasoning_content`) as a thinking block (messages-chat.ts), and the
 * Messages API gives every thinking block a `signature`: Anthropic's encrypted proof that Claude wrote
 * the thinking, which its API verifies when the block comes back in a later turn
 * (platform.claude.com/docs/en/build-with-claude/extended-thinking, "Thinking encryption"; a block
 * whose signature does not verify is refused with 400 "Invalid signature in thinking block"). Agents
 * send those blocks back as they were given (Claude Code replays the whole assistant turn, thinking
 * included), so a gateway block must never reach Claude's API, where no signature it could write would
 * verify, and must be known when it returns.
 *
 * So the gateway signs its blocks with one fixed, recognisable value. When they return: a Chat
 * Completions backend gets their text back as the turn's `reasoning_content` where it takes one
 * (via-chat.ts ChatTarget); Anthropic, Claude on Vertex and Claude on Bedrock get the request without
 * them (they were never Claude's thinking, so Claude loses nothing). An empty signature would do the
 * same on the Anthropic side, but a marker says whose block it is to anyone reading a transcript.
 */

/** The `signature` of every thinking block the gateway writes. No Anthropic signature looks like it. */
export const GATEWAY_THINKING_SIGNATURE = 'agent-router:reasoning:v1';

/** The signature as it appears in a JSON body, for a check on raw bytes before any parse. */
const SIGNATURE_BYTES = Buffer.from(JSON.stringify(GATEWAY_THINKING_SIGNATURE));

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a raw Messages body may hold a gateway thinking block (false: it holds none). */
export function mayHoldGatewayThinking(raw: Buffer): boolean {
  return raw.includes(SIGNATURE_BYTES);
}

export function isGatewayThinking(block: unknown): boolean {
  return isObject(block) && block.type === 'thinking' && block.signature === GATEWAY_THINKING_SIGNATURE;
}

/**
 * The Messages body without gateway thinking blocks (the same object when it has none). An assistant
 * turn left with no content is left out: the Messages API refuses an empty turn, and consecutive turns
 * of one role are accepted (they are combined).
 */
export function withoutGatewayThinking(body: Json): Json {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body;
  let changed = false;
  const kept: unknown[] = [];
  for (const message of messages) {
    if (!isObject(message) || !Array.isArray(message.content) || !message.content.some(isGatewayThinking)) {
      kept.push(message);
      continue;
    }
    changed = true;
    const content = message.content.filter((block) => !isGatewayThinking(block));
    if (content.length > 0) kept.push({ ...message, content });
  }
  return changed ? { ...body, messages: kept } : body;
}
