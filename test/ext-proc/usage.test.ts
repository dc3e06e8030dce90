import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseModelOf, SseUsageScanner, type TokenUsage, usageFromJson } from '../../ext-proc/usage.ts';

/**
 * A chat.completion body in the shape the OpenAI API reference documents for POST /v1/chat/completions
 * (https://platform.openai.com/docs/api-reference/chat/object).
 */
const COMPLETION = {
  id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  object: 'chat.completion',
  created: 1741570283,
  model: 'gpt-4o-2024-08-06',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'The image shows a wooden boardwalk extending through a lush green marshland.',
        refusal: null,
        annotations: [],
      },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 1117,
    completion_tokens: 46,
    total_tokens: 1163,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  },
  service_tier: 'default',
  system_fingerprint: 'fp_fc9f1d7035',
};

const STREAM_USAGE: TokenUsage = {
  promptTokens: 19,
  completionTokens: 10,
  totalTokens: 29,
  cachedTokens: 0,
  reasoningTokens: 0,
};

function chunk(choices: unknown[], usage: unknown, withUsageField = true): string {
  const body: Record<string, unknown> = {
    id: 'chatcmpl-BmQvCrY6ZrHDL7WqCMU8Jq1wKa4Ht',
    object: 'chat.completion.chunk',
    created: 1750963138,
    model: 'gpt-4o-mini-2024-07-18',
    service_tier: 'default',
    system_fingerprint: 'fp_34a54ae93c',
    choices,
  };
  if (withUsageField) body.usage = usage;
  return `data: ${JSON.stringify(body)}\n\n`;
}

const delta = (content: string) => [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }];

/**
 * A streamed chat completion with `stream_options: {"include_usage": true}`: every chunk carries
 * `"usage":null`, then one extra chunk with `choices: []` and the usage, then `data: [DONE]`
 * (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options).
 * The content has multi-byte characters so random splits cut through them.
 */
function openAiStream(options: {
  includeUsage: boolean;
  /** Leave the usage-only chunk out (what the client gets when it did not ask for usage). */
  withoutUsageChunk?: boolean;
  lineEnding?: '\n' | '\r\n';
}): Buffer {
  const withUsage = options.includeUsage;
  const parts = [
    chunk(
      [
        {
          index: 0,
          delta: { role: 'assistant', content: '', refusal: null },
          logprobs: null,
          finish_reason: null,
        },
      ],
      null,
      withUsage,
    ),
    chunk(delta('Grüße'), null, withUsage),
    chunk(delta(' aus'), null, withUsage),
    chunk(delta(' Zürich 🇨🇭'), null, withUsage),
    chunk(delta('! The "usage" of tokens is small.'), null, withUsage),
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], null, withUsage),
  ];
  if (withUsage && !options.withoutUsageChunk) {
    parts.push(
      chunk([], {
        prompt_tokens: 19,
        completion_tokens: 10,
        total_tokens: 29,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      }),
    );
  }
  parts.push('data: [DONE]\n\n');
  const text = parts.join('');
  return Buffer.from(options.lineEnding === '\r\n' ? text.replaceAll('\n', '\r\n') : text);
}

/** Feeds `bytes` to a fresh scanner cut at the given offsets. */
function scan(bytes: Buffer, cuts: readonly number[]): TokenUsage | undefined {
  const scanner = new SseUsageScanner();
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(start, cut));
    start = cut;
  }
  scanner.push(bytes.subarray(start));
  return scanner.usage;
}

const cutsOf = (bytes: Buffer) =>
  fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 });

describe('usageFromJson', () => {
  it('reads usage, including cached prompt tokens, from a buffered chat.completion', () => {
    expect(usageFromJson(Buffer.from(JSON.stringify(COMPLETION)))).toEqual({
      promptTokens: 1117,
      completionTokens: 46,
      totalTokens: 1163,
      cachedTokens: 1024,
      reasoningTokens: 0,
    });
  });

  it('leaves cached tokens out when the provider reports no prompt token details', () => {
    const body = { ...COMPLETION, usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } };
    const usage = usageFromJson(Buffer.from(JSON.stringify(body)));
    expect(usage).toEqual({ promptTokens: 12, completionTokens: 3, totalTokens: 15 });
    expect(usage).not.toHaveProperty('cachedTokens');
  });

  it('adds prompt and completion tokens when the total is missing', () => {
    const body = { ...COMPLETION, usage: { prompt_tokens: 12, completion_tokens: 3 } };
    expect(usageFromJson(Buffer.from(JSON.stringify(body)))?.totalTokens).toBe(15);
  });

  it('finds no usage in a body without one, with a null one, or that is not JSON', () => {
    const { usage: _omitted, ...withoutUsage } = COMPLETION;
    expect(usageFromJson(Buffer.from(JSON.stringify(withoutUsage)))).toBeUndefined();
    expect(usageFromJson(Buffer.from(JSON.stringify({ ...COMPLETION, usage: null })))).toBeUndefined();
    expect(usageFromJson(Buffer.from('{"usage": {"prompt_tokens": 1'))).toBeUndefined();
    expect(usageFromJson(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('responseModelOf', () => {
  it('reads the top-level model of a buffered chat.completion', () => {
    expect(responseModelOf(Buffer.from(JSON.stringify(COMPLETION)))).toBe('gpt-4o-2024-08-06');
    expect(responseModelOf(Buffer.from(JSON.stringify(COMPLETION, null, 2)))).toBe('gpt-4o-2024-08-06');
  });

  it('is not fooled by a "model" inside a string or a nested object before the top-level one', () => {
    const body = `{"id":"x","note":"\\"model\\":\\"fake\\"","meta":{"model":"nested"},"model":"real-1"}`;
    expect(JSON.parse(body).model).toBe('real-1');
    expect(responseModelOf(Buffer.from(body))).toBe('real-1');
  });

  it('has none when the body names none, names a non-string, or is not JSON', () => {
    for (const body of [
      '{"id":"x","choices":[]}',
      '{"model":null}',
      '{"model":42}',
      'not json',
      '',
      '{"model":"unterminated',
    ])
      expect(responseModelOf(Buffer.from(body)), body).toBeUndefined();
  });
});

describe('SseUsageScanner', () => {
  it('reads the usage of the final chunk of a stream sent in one piece', () => {
    expect(scan(openAiStream({ includeUsage: true }), [])).toEqual(STREAM_USAGE);
  });

  it('keeps the model the usage chunk names', () => {
    const scanner = new SseUsageScanner();
    scanner.push(openAiStream({ includeUsage: true }), true);
    expect(scanner.model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('reads the same usage when the stream arrives one byte at a time', () => {
    const bytes = openAiStream({ includeUsage: true });
    expect(
      scan(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(STREAM_USAGE);
  });

  it('reads the same usage under any byte-level split', () => {
    const bytes = openAiStream({ includeUsage: true });
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        expect(scan(bytes, cuts)).toEqual(STREAM_USAGE);
      }),
      { numRuns: 300 },
    );
  });

  it('reads the same usage from a stream with CRLF line endings under any split', () => {
    const bytes = openAiStream({ includeUsage: true, lineEnding: '\r\n' });
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        expect(scan(bytes, cuts)).toEqual(STREAM_USAGE);
      }),
      { numRuns: 100 },
    );
  });

  it('finds no usage in a stream that has none, under any split', () => {
    const bytes = openAiStream({ includeUsage: false });
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        expect(scan(bytes, cuts)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('in strip mode, forwards everything but the usage-only chunk, and reads its usage, under any split', () => {
    for (const lineEnding of ['\n', '\r\n'] as const) {
      const bytes = openAiStream({ includeUsage: true, lineEnding });
      const expected = openAiStream({ includeUsage: true, withoutUsageChunk: true, lineEnding }).toString();
      fc.assert(
        fc.property(cutsOf(bytes), fc.boolean(), (cuts, endWithLastPart) => {
          const scanner = new SseUsageScanner(true);
          const parts: Buffer[] = [];
          let start = 0;
          const points = [...cuts].sort((a, b) => a - b);
          for (const cut of points) {
            const part = bytes.subarray(start, cut);
            parts.push(scanner.push(part) ?? part);
            start = cut;
          }
          const last = bytes.subarray(start);
          parts.push(scanner.push(last, endWithLastPart) ?? last);
          if (!endWithLastPart) parts.push(scanner.push(Buffer.alloc(0), true) ?? Buffer.alloc(0));
          expect(Buffer.concat(parts).toString()).toBe(expected);
          expect(scanner.usage).toEqual(STREAM_USAGE);
        }),
        { numRuns: 300 },
      );
    }
  });

  it('in strip mode, keeps usage that rides on a chunk with choices (Mistral sends it so)', () => {
    const event = chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], {
      prompt_tokens: 5,
      completion_tokens: 2,
    });
    const scanner = new SseUsageScanner(true);
    expect(scanner.push(Buffer.from(event))).toBeUndefined();
    expect(scanner.usage).toEqual({ promptTokens: 5, completionTokens: 2, totalTokens: 7 });
  });

  it('forwards a line too long to be an SSE event it reads, instead of holding it', () => {
    const scanner = new SseUsageScanner(true);
    const long = Buffer.alloc(2 * 1024 * 1024, 0x61);
    expect(scanner.push(long)?.length).toBe(long.length);
  });

  it('finds no usage when a stream that asked for it ends before the usage chunk', () => {
    const full = openAiStream({ includeUsage: true }).toString('utf8');
    const cut = full.lastIndexOf('data: {');
    expect(scan(Buffer.from(full.slice(0, cut)), [])).toBeUndefined();
  });
});
