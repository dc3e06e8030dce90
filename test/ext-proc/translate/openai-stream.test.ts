import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkWriter, type FinishReason } from '../../../ext-proc/translate/openai-stream.ts';

describe('the OpenAI chunk writer', () => {
  it('writes each chunk as JSON.stringify writes the whole chat.completion.chunk object', () => {
    const delta = fc.record(
      {
        role: fc.constant('assistant' as const),
        content: fc.option(fc.string(), { nil: null }),
        reasoning_content: fc.string(),
        tool_calls: fc.array(
          fc.record({
            index: fc.nat(),
            id: fc.string(),
            type: fc.constant('function' as const),
            function: fc.record({ name: fc.string(), arguments: fc.string() }),
          }),
        ),
      },
      { requiredKeys: [] },
    );
    const finish = fc.constantFrom<FinishReason>(null, 'stop', 'length', 'tool_calls', 'content_filter');
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), delta, finish, (model, id, created, d, f) => {
        const writer = new ChunkWriter(model, id, created);
        const whole = {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: d, logprobs: null, finish_reason: f }],
        };
        expect(writer.delta(d, f)).toBe(`data: ${JSON.stringify(whole)}\n\n`);
        JSON.parse(writer.delta(d, f).slice('data: '.length));
      }),
      { numRuns: 300 },
    );
  });
});
