/** The finish reasons the simulator answers with (a tool call ends with `tool_calls`). */
export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

/** A tool call the simulated model makes (chat/object: choices[].message.tool_calls[]). */
export interface SimToolCall {
  readonly id: string;
  readonly name: string;
}

/** Fields every body and chunk of one chat completion shares. */
export interface CompletionIdentity {
  /** Unique per completion; each API prefixes it its way (chatcmpl-, resp_). */
  readonly id: string;
  readonly created: number;
  /** The requested model, echoed as vLLM does. */
  readonly model: string;
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** The buffered `chat.completion` object (https://platform.openai.com/docs/api-reference/chat/object). */
export function chatCompletionBody(
  identity: CompletionIdentity,
  content: string,
  finishReason: ChatFinishReason,
  usage: Usage,
  toolCall?: SimToolCall,
): string {
  const message = toolCall
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: content } },
        ],
      }
    : { role: 'assistant', content };
  return JSON.stringify({
    id: `chatcmpl-${identity.id}`,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  });
}

/**
 * Encodes the SSE events of one streamed completion (`chat.completion.chunk`,
 * https://platform.openai.com/docs/api-reference/chat-streaming). The shared prefix is serialized once,
 * so a token costs one small JSON.stringify of its text. With `include_usage`, OpenAI sends `usage: null`
 * on every chunk but the last, and the last has `choices: []`.
 */
export class ChatChunkEncoder {
  private readonly prefix: string;
  private readonly suffix: string;

  constructor(identity: CompletionIdentity, includeUsage: boolean) {
    this.prefix =
      'data: {"id":' +
      JSON.stringify(`chatcmpl-${identity.id}`) +
      ',"object":"chat.completion.chunk","created":' +
      identity.created +
      ',"model":' +
      JSON.stringify(identity.model) +
      ',"choices":';
    this.suffix = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  }

  role(): string {
    return (
      this.prefix +
      '[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]' +
      this.suffix
    );
  }

  token(text: string): string {
    return (
      this.prefix +
      '[{"index":0,"delta":{"content":' +
      JSON.stringify(text) +
      '},"logprobs":null,"finish_reason":null}]' +
      this.suffix
    );
  }

  /** The first chunk of a tool call: its id and name, arguments to follow (chat-streaming, delta.tool_calls). */
  toolCallStart(call: SimToolCall): string {
    const delta = {
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
    };
    return `${this.prefix}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}]${this.suffix}`;
  }

  toolArguments(text: string): string {
    return (
      this.prefix +
      '[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":' +
      JSON.stringify(text) +
      '}}]},"logprobs":null,"finish_reason":null}]' +
      this.suffix
    );
  }

  finish(reason: ChatFinishReason): string {
    return (
      this.prefix + '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"' + reason + '"}]' + this.suffix
    );
  }

  usage(usage: Usage): string {
    return this.prefix + '[],"usage":' + JSON.stringify(usage) + '}\n\n';
  }

  done(): string {
    return 'data: [DONE]\n\n';
  }
}
