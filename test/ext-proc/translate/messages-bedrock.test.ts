/**
 * Anthropic Messages clients on Bedrock: Claude models get the Messages body on InvokeModel(WithResponseStream),
 * their event stream's chunks back as Anthropic's SSE events, beta headers as the body's anthropic_beta,
 * count_tokens on CountTokens; other models go through Converse.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { HttpHead } from '../../../ext-proc/phases.ts';
import {
  BEDROCK_ANTHROPIC_VERSION,
  BedrockMessagesStream,
} from '../../../ext-proc/translate/messages-bedrock.ts';
import { translatorFor } from '../../../ext-proc/translate/registry.ts';
import { SseParser } from '../../../ext-proc/translate/sse.ts';
import { GATEWAY_THINKING_SIGNATURE } from '../../../ext-proc/translate/thinking-signature.ts';
import { bodyInput, type Operation } from '../../../ext-proc/translate/translator.ts';
import { encodeEvents, THROTTLED_STREAM } from '../../fixtures/bedrock/event-streams.ts';

const backend: CompiledBackend = {
  id: 'default/bedrock',
  provider: 'Bedrock',
  origin: 'https://bedrock-runtime.us-east-1.amazonaws.com',
  basePath: '',
  region: 'us-east-1',
  defaults: {},
};
const credential: Credential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
};
const CLAUDE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const messages = [
  { role: 'user', content: [{ type: 'text', text: 'Doc', cache_control: { type: 'ephemeral' } }] },
];

const send = (
  body: Record<string, unknown>,
  model: string,
  operation: Operation = 'messages',
  headers: Record<string, string> = {},
) =>
  translatorFor(operation, 'Bedrock')!.request({
    operation,
    ...bodyInput(Buffer.from(JSON.stringify(body))),
    backend,
    model,
    credential,
    headers: new HttpHead(new Map(Object.entries(headers))),
  });

/** Anthropic's documented tool-use stream, as Bedrock wraps it: one chunk event per Anthropic event. */
const anthropicSse = readFileSync(new URL('../../fixtures/anthropic/stream.tool-use.sse', import.meta.url));
function parsed(bytes: Buffer) {
  const parser = new SseParser();
  return [...parser.push(bytes), ...parser.end()].map((e) => ({
    event: e.event,
    data: JSON.parse(e.data) as unknown,
  }));
}
const bedrockStream = encodeEvents(
  parsed(anthropicSse).map((e) => ({
    event: 'chunk',
    payload: { bytes: Buffer.from(JSON.stringify(e.data)).toString('base64') },
  })),
);

describe('Messages on Bedrock', () => {
  it('sends Claude the Messages body on invoke, anthropic_version in place of model, cache_control kept, signed', async () => {
    const request = await send({ model: 'claude-model', max_tokens: 10, messages }, CLAUDE);
    expect(request.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/invoke`);
    expect(JSON.parse(request.body.toString())).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      max_tokens: 10,
      messages,
    });
    expect(request.headers.find(([name]) => name === 'authorization')?.[1]).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('streams Claude on invoke-with-response-stream without a stream member', async () => {
    const request = await send({ model: 'claude-model', max_tokens: 10, stream: true, messages }, CLAUDE);
    expect(request.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/invoke-with-response-stream`);
    expect(JSON.parse(request.body.toString()).stream).toBeUndefined();
  });

  it('sends other models through Converse', async () => {
    const request = await send({ model: 'm', max_tokens: 10, messages }, 'amazon.nova-pro-v1:0');
    expect(request.path).toBe(`/model/${encodeURIComponent('amazon.nova-pro-v1:0')}/converse`);
  });

  it('refuses count_tokens for a model that is not Claude', async () => {
    expect(() => send({ model: 'm', messages }, 'amazon.nova-pro-v1:0', 'messages.count_tokens')).toThrow(
      /count_tokens is served for Claude models on Anthropic, Vertex AI and Bedrock/,
    );
  });

  it('puts the anthropic-beta header into the body as anthropic_beta, merged with the body’s, and drops the header', async () => {
    const request = await send(
      {
        model: 'claude-model',
        max_tokens: 10,
        anthropic_beta: ['context-1m-2025-08-07'],
        messages,
      },
      CLAUDE,
      'messages',
      { 'anthropic-beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07,computer-use-2025-01-24' },
    );
    const body = JSON.parse(request.body.toString()) as Record<string, unknown>;
    expect(body).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      anthropic_beta: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'computer-use-2025-01-24'],
      max_tokens: 10,
      messages,
    });
    expect(request.removeHeaders).toContain('anthropic-beta');
    expect(request.removeHeaders).toContain('anthropic-version');
  });

  it('counts tokens with CountTokens on the foundation model, the InvokeModel body base64 in input.invokeModel', async () => {
    const request = await send(
      { model: 'claude-model', system: 'Be brief', messages },
      CLAUDE,
      'messages.count_tokens',
      { 'anthropic-beta': 'token-efficient-tools-2025-02-19' },
    );
    const foundation = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
    expect(request.path).toBe(`/model/${encodeURIComponent(foundation)}/count-tokens`);
    const outer = JSON.parse(request.body.toString()) as { input: { invokeModel: { body: string } } };
    expect(Object.keys(outer)).toEqual(['input']);
    expect(Object.keys(outer.input)).toEqual(['invokeModel']);
    expect(JSON.parse(Buffer.from(outer.input.invokeModel.body, 'base64').toString())).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      anthropic_beta: ['token-efficient-tools-2025-02-19'],
      system: 'Be brief',
      messages,
      max_tokens: 1024,
    });
    expect(request.headers.find(([name]) => name === 'authorization')?.[1]).toMatch(/^AWS4-HMAC-SHA256 /);
    // A thinking budget needs max_tokens above it for the body to validate.
    const thinking = await send(
      { model: 'm', messages, thinking: { type: 'enabled', budget_tokens: 8000 } },
      'anthropic.claude-opus-4-1-20250805-v1:0',
      'messages.count_tokens',
    );
    const inner = JSON.parse(
      Buffer.from(
        (JSON.parse(thinking.body.toString()) as { input: { invokeModel: { body: string } } }).input
          .invokeModel.body,
        'base64',
      ).toString(),
    ) as { max_tokens: number };
    expect(inner.max_tokens).toBe(8001);
    expect(thinking.path).toBe(
      `/model/${encodeURIComponent('anthropic.claude-opus-4-1-20250805-v1:0')}/count-tokens`,
    );
  });

  it('answers CountTokens’ {"inputTokens":N} in Anthropic’s {"input_tokens":N}', () => {
    const translator = translatorFor('messages.count_tokens', 'Bedrock')!;
    const context = {
      operation: 'messages.count_tokens' as const,
      model: CLAUDE,
      stream: false,
      includeUsage: true,
    };
    expect(
      JSON.parse(translator.responseBody(Buffer.from('{"inputTokens":42}'), context).toString()),
    ).toEqual({
      input_tokens: 42,
    });
    expect(() => translator.responseBody(Buffer.from('{"tokens":1}'), context)).toThrow(/inputTokens/);
  });

  it('leaves thinking blocks the gateway wrote out of what Claude gets', async () => {
    const request = await send(
      {
        model: 'claude-model',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'Hi' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'from a chat model', signature: GATEWAY_THINKING_SIGNATURE },
              { type: 'text', text: 'Hello' },
            ],
          },
          { role: 'user', content: 'Again' },
        ],
      },
      CLAUDE,
    );
    expect(JSON.parse(request.body.toString()).messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Hello' }],
    });
  });

  it('gives the Anthropic events back as SSE, the same under every random split', () => {
    const whole = new BedrockMessagesStream().chunk(bedrockStream, true);
    expect(parsed(whole)).toEqual(parsed(anthropicSse));
    let s = 3;
    const random = () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    for (let n = 0; n < 100; n++) {
      const stream = new BedrockMessagesStream();
      const out: Buffer[] = [];
      for (let at = 0; at < bedrockStream.length; ) {
        const size = 1 + Math.floor(random() * 200);
        out.push(stream.chunk(bedrockStream.subarray(at, at + size), at + size >= bedrockStream.length));
        at += size;
      }
      expect(Buffer.concat(out).equals(whole)).toBe(true);
    }
  });

  it('turns an exception frame into Anthropic’s error event, and a cut stream into one too', () => {
    const throttled = parsed(new BedrockMessagesStream().chunk(encodeEvents(THROTTLED_STREAM), true));
    expect(throttled.at(-1)).toMatchObject({
      event: 'error',
      data: { type: 'error', error: { type: 'rate_limit_error' } },
    });
    const cut = parsed(new BedrockMessagesStream().chunk(bedrockStream.subarray(0, 400), true));
    expect(cut.at(-1)).toMatchObject({
      event: 'error',
      data: { type: 'error', error: { type: 'api_error' } },
    });
    expect(cut.map((e) => e.event)).not.toContain('message_stop');
  });
});
