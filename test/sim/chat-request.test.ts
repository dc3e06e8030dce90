import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../sim/chat-request.ts';
import { SimHttpError } from '../../sim/errors.ts';

function parse(body: unknown): ReturnType<typeof parseChatRequest> {
  return parseChatRequest(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
}

function rejection(body: unknown): { status: number; param: string | null } {
  try {
    parse(body);
  } catch (error) {
    if (error instanceof SimHttpError) return { status: error.status, param: error.param };
    throw error;
  }
  throw new Error('expected the request to be rejected');
}

const user = [{ role: 'user', content: 'hello' }];

describe('parseChatRequest', () => {
  it.each([
    ['malformed JSON', '{"model":', null],
    ['a JSON array', '[]', null],
    ['a missing model', { messages: user }, 'model'],
    ['a non-string model', { model: 3, messages: user }, 'model'],
    ['missing messages', { model: 'm' }, 'messages'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['a message without a role', { model: 'm', messages: [{ content: 'x' }] }, 'messages[0]'],
    ['a zero max_tokens', { model: 'm', messages: user, max_tokens: 0 }, 'max_tokens'],
    [
      'a fractional max_completion_tokens',
      { model: 'm', messages: user, max_completion_tokens: 1.5 },
      'max_completion_tokens',
    ],
    ['a non-boolean stream', { model: 'm', messages: user, stream: 'yes' }, 'stream'],
  ])('rejects %s with 400', (_case, body, param) => {
    expect(rejection(body)).toEqual({ status: 400, param });
  });

  it('counts the text of string contents and text parts, ignoring other parts', () => {
    const request = parse({
      model: 'm',
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'abcd' },
            { type: 'image_url', image_url: { url: 'https://example.com/a-long-image-url.png' } },
            { type: 'text', text: 'efgh' },
          ],
        },
      ],
    });
    // 14 + 4 + 4 characters at four per token.
    expect(request.promptTokens).toBe(6);
  });

  it('prefers max_completion_tokens over the deprecated max_tokens', () => {
    expect(parse({ model: 'm', messages: user, max_tokens: 9, max_completion_tokens: 4 }).maxTokens).toBe(4);
    expect(parse({ model: 'm', messages: user, max_tokens: 9 }).maxTokens).toBe(9);
    expect(parse({ model: 'm', messages: user, max_tokens: null }).maxTokens).toBeUndefined();
  });

  it('reads stream and include_usage', () => {
    const request = parse({
      model: 'm',
      messages: user,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect({ stream: request.stream, includeUsage: request.includeUsage }).toEqual({
      stream: true,
      includeUsage: true,
    });
    expect(parse({ model: 'm', messages: user }).includeUsage).toBe(false);
  });

  it('keys the prompt by role as well as text', () => {
    const asUser = parse({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    const asSystem = parse({ model: 'm', messages: [{ role: 'system', content: 'x' }] });
    expect(asUser.promptKey).not.toBe(asSystem.promptKey);
  });
});
