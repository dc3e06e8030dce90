import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anthropicErrorBody } from '../../../ext-proc/client-api.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { AnthropicStreamTranslator } from '../../../ext-proc/translate/anthropic.ts';
import {
  MessagesFromChatStream,
  messagesResponseBody,
  toChatRequest,
} from '../../../ext-proc/translate/messages-chat.ts';
import { chatTarget, translatorFor } from '../../../ext-proc/translate/registry.ts';
import { SseParser } from '../../../ext-proc/translate/sse.ts';
import { GATEWAY_THINKING_SIGNATURE } from '../../../ext-proc/translate/thinking-signature.ts';
import { bodyInput, type ResponseContext } from '../../../ext-proc/translate/translator.ts';
import { EventUsageScanner } from '../../../ext-proc/usage.ts';

const DIR = path.dirname(fileURLToPath(import.meta.url));
const read = (dir: string, name: string) => readFileSync(path.join(DIR, '../../fixtures', dir, name));
const pair = (name: string) =>
  JSON.parse(read('anthropic-messages', name).toString()) as {
    anthropic: Record<string, unknown>;
    openai: Record<string, unknown>;
  };

const context: ResponseContext = {
  operation: 'messages',
  model: 'gpt-4o-mini',
  stream: true,
  includeUsage: true,
};

/** The events of a Messages stream, parsed. */
function events(bytes: Buffer): { event: string; data: Record<string, unknown> }[] {
  const parser = new SseParser();
  return [...parser.push(bytes), ...parser.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

/** Runs a stream through the translator in the given pieces. */
function run(pieces: Buffer[]): Buffer {
  const stream = new MessagesFromChatStream(context);
  const out = pieces.map((p, i) => stream.chunk(p, i === pieces.length - 1));
  return Buffer.concat(out);
}

function randomPieces(bytes: Buffer, random: () => number): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = 1 + Math.floor(random() * 40);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('Messages → Chat Completions request', () => {
  it.each(['request.tools.json', 'request.thinking-structured.json'])('%s', (name) => {
    const { anthropic, openai } = pair(name);
    expect(toChatRequest(anthropic, chatTarget('OpenAI'))).toEqual(openai);
  });

  it('refuses Anthropic server tools, naming the tool and the backend and saying what to do instead', () => {
    expect(() =>
      toChatRequest(
        {
          model: 'm',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'hi' }],
          tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        },
        chatTarget('Gemini'),
      ),
    ).toThrow(
      /web_search_20250305.*Gemini.*Route this model to an Anthropic backend, or define the tool as a custom tool/,
    );
  });

  it('refuses a block type with no chat equivalent with a 400 naming where it is', () => {
    try {
      toChatRequest(
        { model: 'm', messages: [{ role: 'user', content: [{ type: 'search_result' }] }] },
        chatTarget('OpenAI'),
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AgentRouterError);
      expect((error as AgentRouterError).status).toBe(400);
      expect((error as AgentRouterError).param).toBe('messages[0].content[0]');
    }
  });
});

describe('Chat Completions → Messages answer', () => {
  it('response.tool-use.json', () => {
    const { openai, anthropic } = pair('response.tool-use.json');
    const out = messagesResponseBody(Buffer.from(JSON.stringify(openai)), { ...context, stream: false });
    expect(JSON.parse(out.toString())).toEqual(anthropic);
  });

  it('answers 502 when a tool call’s arguments are not a JSON object', () => {
    const { openai } = pair('response.tool-use.json');
    const broken = JSON.parse(JSON.stringify(openai));
    broken.choices[0].message.tool_calls[0].function.arguments = '{"location":';
    expect(() => messagesResponseBody(Buffer.from(JSON.stringify(broken)), context)).toThrow(
      /not a JSON object/,
    );
  });
});

describe('Chat Completions stream → Messages stream', () => {
  // Anthropic's documented tool-use stream, as our Anthropic translator gives it to chat clients,
  // back to the Messages stream: the same blocks, stop reason and usage come out.
  const chatStream = () => {
    const toChat = new AnthropicStreamTranslator(
      { operation: 'chat.completions', model: 'claude-sonnet-4-5', stream: true, includeUsage: true },
      { created: 1_700_000_000 },
    );
    return toChat.chunk(read('anthropic', 'stream.tool-use.sse'), true);
  };

  it('gives Anthropic’s event sequence with text, tool_use and input_json_delta', () => {
    const out = events(run([chatStream()]));
    const types = out.map((e) => e.event);
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    for (const e of out) expect(e.data.type).toBe(e.event);
    const starts = out.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block);
    expect(starts).toEqual([
      { type: 'text', text: '' },
      { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: {} },
      { type: 'tool_use', id: 'toolu_01Nq4bVjLkzXpeCnRdwcS2Lp', name: 'get_time', input: {} },
    ]);
    // Each tool's input, joined from its input_json_delta events, is the original stream's.
    const inputs = (list: { event: string; data: Record<string, unknown> }[]) => {
      const byIndex = new Map<unknown, string>();
      for (const e of list) {
        const delta = e.data.delta as { type?: string; partial_json?: string } | undefined;
        if (delta?.type === 'input_json_delta')
          byIndex.set(e.data.index, (byIndex.get(e.data.index) ?? '') + delta.partial_json);
      }
      return [...byIndex.values()].map((json) => JSON.parse(json) as unknown);
    };
    const original = events(read('anthropic', 'stream.tool-use.sse'));
    expect(inputs(out)).toEqual(inputs(original));
    expect(inputs(out)).toHaveLength(2);
    const stops = out.filter((e) => e.event === 'content_block_stop').map((e) => e.data.index);
    expect(stops).toEqual([0, 1, 2]);
    const delta = out.find((e) => e.event === 'message_delta')!.data;
    expect(delta.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
    expect((delta.usage as { output_tokens: number }).output_tokens).toBe(89);
    // The router-level usage scanner reads the same counts from the translated stream.
    const scanner = new EventUsageScanner();
    scanner.push(run([chatStream()]), true);
    expect(scanner.usage).toMatchObject({ completionTokens: 89, promptTokens: 472 });
  });

  it('gives the same bytes under every random split of the stream', () => {
    const bytes = chatStream();
    const whole = run([bytes]);
    const random = seeded(14);
    for (let i = 0; i < 200; i++) expect(run(randomPieces(bytes, random)).equals(whole)).toBe(true);
  });

  it('ends a stream cut before its finish with an error event and no message_stop', () => {
    const bytes = chatStream();
    const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
    const out = events(run([cut]));
    expect(out.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'api_error', message: expect.any(String) } },
    });
    expect(out.map((e) => e.event)).not.toContain('message_stop');
  });

  it('signs a thinking block from reasoning_content with the gateway’s signature_delta before it stops', () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', model: 'qwen3', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const bytes = Buffer.from(
      chunk({ reasoning_content: 'Think' }) +
        chunk({ reasoning_content: 'ing.' }) +
        chunk({ content: 'Done.' }) +
        chunk({}, 'stop') +
        'data: [DONE]\n\n',
    );
    const out = events(run([bytes]));
    expect(out.map((e) => [e.event, (e.data.delta as { type?: string } | undefined)?.type ?? ''])).toEqual([
      ['message_start', ''],
      ['content_block_start', ''],
      ['content_block_delta', 'thinking_delta'],
      ['content_block_delta', 'thinking_delta'],
      ['content_block_delta', 'signature_delta'],
      ['content_block_stop', ''],
      ['content_block_start', ''],
      ['content_block_delta', 'text_delta'],
      ['content_block_stop', ''],
      ['message_delta', ''],
      ['message_stop', ''],
    ]);
    expect(out[4]!.data).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'signature_delta', signature: GATEWAY_THINKING_SIGNATURE },
    });
    const random = seeded(7);
    const whole = run([bytes]);
    for (let i = 0; i < 50; i++) expect(run(randomPieces(bytes, random)).equals(whole)).toBe(true);
  });

  it('turns an error event of the chat stream into Anthropic’s, with its type', () => {
    const error =
      'data: {"error":{"message":"Slow down","type":"rate_limit_error","param":null,"code":null}}\n\ndata: [DONE]\n\n';
    const out = events(run([Buffer.from(error)]));
    expect(out).toEqual([
      { event: 'error', data: { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down' } } },
    ]);
  });
});

describe('Anthropic error shape', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [422, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [529, 'overloaded_error'],
  ])('HTTP %i is %s', (status, type) => {
    expect(
      anthropicErrorBody(status, { error: { message: 'm', type: 'api_error', param: null, code: null } }),
    ).toEqual({
      type: 'error',
      error: { type, message: 'm' },
    });
  });
});

describe('registry', () => {
  it('passes Messages bodies to Anthropic with only the model replaced', async () => {
    const raw = Buffer.from(
      '{"model":"claude-model","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}',
    );
    const translator = translatorFor('messages', 'Anthropic')!;
    const request = await translator.request({
      ...bodyInput(raw),
      operation: 'messages',
      backend: { basePath: '', apiVersion: undefined, defaults: {} } as never,
      model: 'claude-sonnet-4-5',
      credential: undefined,
    });
    expect(request.path).toBe('/v1/messages');
    expect(request.body.toString()).toBe(raw.toString().replace('claude-model', 'claude-sonnet-4-5'));
    expect(request.removeHeaders).not.toContain('anthropic-beta');
  });

  it('refuses previous_response_id on a provider that keeps no responses, saying what to do', async () => {
    const translator = translatorFor('responses', 'Gemini')!;
    await expect(async () =>
      translator.request({
        ...bodyInput(Buffer.from('{"model":"m","input":"hi","previous_response_id":"resp_1"}')),
        operation: 'responses',
        backend: {} as never,
        model: 'm',
        credential: undefined,
      }),
    ).rejects.toThrow(/previous_response_id.*Gemini.*whole conversation in "input"/);
  });
});
