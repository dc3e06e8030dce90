import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { openAITranslator } from '../../../ext-proc/translate/openai.ts';
import type { UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import { fullyEscaped } from '../../helpers/json-spellings.ts';

const backend: CompiledBackend = {
  id: 'default/vllm',
  provider: 'OpenAICompatible',
  origin: 'http://10.0.0.1:8000',
  basePath: '/openai/v1',
  defaults: {},
};
const translator = openAITranslator('OpenAI-compatible backend');

function translate(body: object, apiKey?: string) {
  const raw = Buffer.from(JSON.stringify(body));
  const credential =
    apiKey === undefined ? undefined : { type: 'APIKey' as const, apiKey: new SecretValue(apiKey) };
  return translator.request({
    operation: 'chat.completions',
    ...bodyInput(raw),
    backend,
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    credential,
  }) as UpstreamRequest;
}

describe('OpenAI-compatible translator', () => {
  it('prefixes the backend base path and rewrites only the model', () => {
    const body = {
      model: 'chat-model',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
    };
    const out = translate(body, 'sk-provider');
    expect(out.path).toBe('/openai/v1/chat/completions');
    expect(out.body.toString()).toBe(JSON.stringify({ ...body, model: 'meta-llama/Llama-3.1-8B-Instruct' }));
    expect(Object.fromEntries(out.headers)).toMatchObject({ authorization: 'Bearer sk-provider' });
    expect(out.removeHeaders).toEqual(expect.arrayContaining(['x-api-key', 'api-key', 'x-goog-api-key']));
  });

  it('asks a stream for usage, byte for byte otherwise, keeping the client’s other stream options', () => {
    const raw = '{ "model" : "chat-model", "stream": true, "messages": [{"role":"user","content":"hé"}] }';
    const out = translator.request({
      operation: 'chat.completions',
      ...bodyInput(Buffer.from(raw)),
      backend,
      model: 'llama',
      credential: undefined,
    }) as UpstreamRequest;
    expect(out.body.toString()).toBe(
      '{ "model" : "llama", "stream": true, "messages": [{"role":"user","content":"hé"}] ,"stream_options":{"include_usage":true}}',
    );
    const withOptions = translate({
      model: 'chat-model',
      stream: true,
      stream_options: { include_obfuscation: false },
      messages: [],
    });
    expect(JSON.parse(withOptions.body.toString()).stream_options).toEqual({
      include_obfuscation: false,
      include_usage: true,
    });
    const declined = translate({
      model: 'm',
      stream: true,
      stream_options: { include_usage: false },
      messages: [],
    });
    expect(JSON.parse(declined.body.toString()).stream_options).toEqual({ include_usage: true });
    // Not a stream: nothing to ask.
    expect(
      JSON.parse(translate({ model: 'm', stream: false, messages: [] }).body.toString()),
    ).not.toHaveProperty('stream_options');
  });

  it('refuses a body naming model twice in any spelling, small or large, instead of splicing one of them', () => {
    const long = JSON.stringify('x'.repeat(300 * 1024));
    for (const key of ['"mod\\u0065l"', '"model"', fullyEscaped('model')]) {
      for (const content of ['"hi"', long]) {
        const raw = Buffer.from(
          `{"model":"gpt-4o",${key}:"gpt-4o","messages":[{"role":"user","content":${content}}]}`,
        );
        const send = () =>
          translator.request({
            operation: 'chat.completions',
            ...bodyInput(raw),
            backend,
            model: 'gpt-4o-mini',
            credential: undefined,
          });
        expect(send).toThrow(expect.objectContaining({ status: 400, code: 'duplicate_key', param: 'model' }));
      }
    }
  });

  it('reads stream and stream_options spelled with escapes, as the router-level phase does', () => {
    const raw =
      '{"model":"chat-model","str\\u0065am":true,"stream_\\u006Fptions":{"include_obfuscation":false},"messages":[]}';
    const out = translator.request({
      operation: 'chat.completions',
      ...bodyInput(Buffer.from(raw)),
      backend,
      model: 'llama',
      credential: undefined,
    }) as UpstreamRequest;
    expect(JSON.parse(out.body.toString())).toEqual({
      model: 'llama',
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
      messages: [],
    });
  });

  it('sends a stream as written when the backend sets streamUsage: false', () => {
    const raw = Buffer.from(JSON.stringify({ model: 'chat-model', stream: true, messages: [] }));
    const out = translator.request({
      operation: 'chat.completions',
      ...bodyInput(raw),
      backend: { ...backend, streamUsage: false },
      model: 'llama',
      credential: undefined,
    }) as UpstreamRequest;
    expect(out.body.toString()).toBe(JSON.stringify({ model: 'llama', stream: true, messages: [] }));
  });

  it('removes any authorization header when the backend has no credential', () => {
    const out = translate({ model: 'chat-model', messages: [] });
    expect(out.removeHeaders).toContain('authorization');
    expect(out.headers.map(([k]) => k)).not.toContain('authorization');
  });

  it('normalises error bodies to the OpenAI error shape, keeping OpenAI-shaped ones', () => {
    const openAIShaped = Buffer.from(
      JSON.stringify({
        error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' },
      }),
    );
    expect(translator.error(429, openAIShaped)).toEqual({
      error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
    // vLLM answers {"object":"error","message":...} in older versions, FastAPI {"detail":...}; both are wrapped.
    expect(translator.error(400, Buffer.from('{"detail":"bad"}')).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'upstream_400',
    });
    expect(translator.error(503, Buffer.from('upstream overloaded')).error).toMatchObject({
      type: 'api_error',
      message: expect.stringContaining('upstream overloaded'),
    });
  });
});

describe('OpenAI-compatible translator, vLLM error bodies', () => {
  it('keeps the message of vLLM’s flat {"object":"error"} body', () => {
    const body = Buffer.from(
      JSON.stringify({
        object: 'error',
        message: 'max_tokens is too large',
        type: 'BadRequestError',
        param: null,
        code: 400,
      }),
    );
    expect(translator.error(400, body).error).toEqual({
      message: 'max_tokens is too large',
      type: 'invalid_request_error',
      param: null,
      code: 'upstream_400',
    });
  });
});
