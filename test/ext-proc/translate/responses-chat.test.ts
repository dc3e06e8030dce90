import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnthropicStreamTranslator } from '../../../ext-proc/translate/anthropic.ts';
import { chatTarget } from '../../../ext-proc/translate/registry.ts';
import {
  ResponsesFromChatStream,
  responsesFromChatBody,
  responsesToChat,
} from '../../../ext-proc/translate/responses-chat.ts';
import { SseParser } from '../../../ext-proc/translate/sse.ts';
import type { ResponseContext } from '../../../ext-proc/translate/translator.ts';
import { EventUsageScanner } from '../../../ext-proc/usage.ts';

const DIR = path.dirname(fileURLToPath(import.meta.url));
const read = (dir: string, name: string) => readFileSync(path.join(DIR, '../../fixtures', dir, name));
const context: ResponseContext = { operation: 'responses', model: 'm', stream: true, includeUsage: true };

function events(bytes: Buffer): { event: string; data: Record<string, unknown> }[] {
  const parser = new SseParser();
  return [...parser.push(bytes), ...parser.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

function run(pieces: Buffer[]): Buffer {
  const stream = new ResponsesFromChatStream(context);
  return Buffer.concat(pieces.map((p, i) => stream.chunk(p, i === pieces.length - 1)));
}

/** Anthropic's documented tool-use stream as our Anthropic translator gives it to chat clients. */
function chatStream(): Buffer {
  return new AnthropicStreamTranslator(
    { operation: 'chat.completions', model: 'claude-sonnet-4-5', stream: true, includeUsage: true },
    { created: 1_700_000_000 },
  ).chunk(read('anthropic', 'stream.tool-use.sse'), true);
}

describe('Responses → Chat Completions request', () => {
  it('request.items.json', () => {
    const { responses, openai } = JSON.parse(read('openai-responses', 'request.items.json').toString());
    expect(responsesToChat(responses, chatTarget('Anthropic'))).toEqual(openai);
  });

  it('refuses built-in tools, naming the backend and saying what to do instead', () => {
    expect(() =>
      responsesToChat({ model: 'm', input: 'hi', tools: [{ type: 'web_search' }] }, chatTarget('Gemini')),
    ).toThrow(
      /"web_search" tool.*Gemini.*Route this model to an OpenAI or Azure OpenAI backend.*or define a function tool/,
    );
  });
});

describe('Chat Completions → Response', () => {
  it('gives output items and usage in the Responses shape', () => {
    const { openai } = JSON.parse(read('anthropic-messages', 'response.tool-use.json').toString());
    const response = JSON.parse(
      responsesFromChatBody(Buffer.from(JSON.stringify(openai)), context).toString(),
    );
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'gpt-4o-2024-08-06',
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'The user wants the weather.' }] },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Let me look that up.', annotations: [] }],
        },
        {
          type: 'function_call',
          call_id: 'call_abc123',
          name: 'get_weather',
          arguments: '{"location":"Boston, MA"}',
        },
      ],
      usage: {
        input_tokens: 2006,
        input_tokens_details: { cached_tokens: 1920 },
        output_tokens: 300,
        total_tokens: 2306,
      },
    });
  });
});

describe('Chat Completions stream → Responses stream', () => {
  it('gives the Responses events, in sequence, ending with response.completed holding the whole answer', () => {
    const out = events(run([chatStream()]));
    expect(out[0]!.event).toBe('response.created');
    expect(out.at(-1)!.event).toBe('response.completed');
    out.forEach((e, i) => {
      expect(e.data.type).toBe(e.event);
      expect(e.data.sequence_number).toBe(i);
    });
    const final = out.at(-1)!.data.response as {
      output: { type: string; arguments?: string }[];
      usage: unknown;
    };
    expect(final.output.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
    const args = out
      .filter((e) => e.event === 'response.function_call_arguments.delta')
      .map((e) => e.data.delta)
      .join('');
    expect(args).toBe(
      final.output
        .slice(1)
        .map((item) => item.arguments)
        .join(''),
    );
    const scanner = new EventUsageScanner();
    scanner.push(run([chatStream()]), true);
    expect(scanner.usage).toMatchObject({ promptTokens: 472, completionTokens: 89 });
  });

  it('gives the same bytes under every random split', () => {
    const bytes = chatStream();
    const whole = run([bytes]);
    let s = 7;
    const random = () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    for (let n = 0; n < 200; n++) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 50);
        pieces.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(run(pieces).equals(whole)).toBe(true);
    }
  });

  it('ends a cut stream with an error event and no response.completed', () => {
    const bytes = chatStream();
    const out = events(run([bytes.subarray(0, Math.floor(bytes.length / 3))]));
    expect(out.at(-1)!.event).toBe('error');
    expect(out.map((e) => e.event)).not.toContain('response.completed');
  });
});
