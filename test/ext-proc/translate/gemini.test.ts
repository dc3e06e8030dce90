/**
 * Gemini API and Vertex AI (Gemini) translation on fixtures in Google's documented shapes: requests,
 * responses, streams under any chunking, errors and embeddings; and a property check that every valid
 * OpenAI chat request becomes a structurally valid generateContent request.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { GcpAccessTokens } from '../../../ext-proc/credentials/gcp-access-token.ts';
import { GeminiStreamTranslator } from '../../../ext-proc/translate/gemini.stream.ts';
import {
  fromGeminiResponse,
  fromGoogleEmbeddings,
  type GenerateContentRequest,
  geminiTranslator,
  toGeminiRequest,
  toGeminiSchema,
} from '../../../ext-proc/translate/gemini.ts';
import { googleRetryAfter } from '../../../ext-proc/translate/google-api.ts';
import type { Operation, ResponseContext, UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import {
  cachedChatRequest,
  chatRequest,
  cuts,
  splitAt,
} from '../../fixtures/openai/chat-request.arbitrary.ts';
import { serviceAccountKeys } from '../../helpers/google-token-server.ts';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url));
const json = (path: string) => JSON.parse(fixture(path).toString()) as Record<string, unknown>;

const geminiBackend: CompiledBackend = {
  id: 'default/gemini',
  provider: 'Gemini',
  origin: 'https://generativelanguage.googleapis.com',
  basePath: '',
  defaults: {},
};
const vertexBackend: CompiledBackend = {
  id: 'default/vertex',
  provider: 'VertexAI',
  origin: 'https://europe-west4-aiplatform.googleapis.com',
  basePath: '',
  region: 'europe-west4',
  project: 'demo-project',
  defaults: { maxTokens: 1024 },
};
const apiKey: Credential = { type: 'APIKey', apiKey: new SecretValue('AIza-provider-key') };

/** Tokens from an in-process answer: the minting itself is tested against a real endpoint elsewhere. */
function fakeTokens() {
  let minted = 0;
  const tokens = new GcpAccessTokens({
    fetch: async () => new Response(JSON.stringify({ access_token: `ya29.t${++minted}`, expires_in: 3599 })),
  });
  return { tokens, minted: () => minted };
}
const keys = serviceAccountKeys();
const serviceAccount: Credential = {
  type: 'GCPServiceAccount',
  clientEmail: 'router@demo-project.iam.gserviceaccount.com',
  privateKey: new SecretValue(keys.privatePem),
  tokenUri: 'https://oauth2.googleapis.com/token',
};

async function translate(
  api: 'Gemini' | 'VertexAI',
  body: Record<string, unknown>,
  options: { operation?: Operation; model?: string; credential?: Credential; backend?: CompiledBackend } = {},
): Promise<UpstreamRequest> {
  const raw = Buffer.from(JSON.stringify(body));
  const { tokens } = fakeTokens();
  return geminiTranslator(api, tokens).request({
    operation: options.operation ?? 'chat.completions',
    ...bodyInput(raw),
    backend: options.backend ?? (api === 'Gemini' ? geminiBackend : vertexBackend),
    model: options.model ?? 'gemini-2.5-flash',
    credential: options.credential ?? (api === 'Gemini' ? apiKey : serviceAccount),
  });
}

const context = (overrides: Partial<ResponseContext> = {}): ResponseContext => ({
  operation: 'chat.completions',
  model: 'gemini-2.5-flash',
  stream: false,
  includeUsage: false,
  ...overrides,
});

function chunksOf(sse: string): Record<string, unknown>[] {
  return sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
}

// ---------------------------------------------------------------------------------------------------
// A structural check of GenerateContentRequest, written from ai.google.dev/api/generate-content and
// ai.google.dev/api/caching#Content: what Google would reject as INVALID_ARGUMENT.

const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'];
const SCHEMA_TYPES = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);
const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/;

function checkSchema(schema: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema))
    if (['$schema', 'additionalProperties', 'strict', '$ref', '$defs'].includes(key))
      problems.push(`${path}.${key} is not part of Gemini's Schema`);
  if (schema.type !== undefined && !SCHEMA_TYPES.has(schema.type as string))
    problems.push(`${path}.type invalid`);
  for (const [name, sub] of Object.entries(
    (schema.properties ?? {}) as Record<string, Record<string, unknown>>,
  ))
    problems.push(...checkSchema(sub, `${path}.properties.${name}`));
  return problems;
}

function generateContentProblems(request: GenerateContentRequest): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(request))
    if (!['contents', 'systemInstruction', 'generationConfig', 'tools', 'toolConfig'].includes(key))
      problems.push(`unknown field ${key}`);
  if (!Array.isArray(request.contents) || request.contents.length === 0) problems.push('contents is empty');
  let previous: (typeof request.contents)[number] | undefined;
  for (const [i, content] of request.contents.entries()) {
    if (content.role !== 'user' && content.role !== 'model')
      problems.push(`contents[${i}].role ${content.role}`);
    if (previous?.role === content.role) problems.push(`contents[${i}] repeats role ${content.role}`);
    if (!Array.isArray(content.parts) || content.parts.length === 0)
      problems.push(`contents[${i}].parts empty`);
    const callNames = (previous?.parts ?? []).filter((p) => p.functionCall).map((p) => p.functionCall!.name);
    const responses: string[] = [];
    for (const [j, part] of content.parts.entries()) {
      const at = `contents[${i}].parts[${j}]`;
      const data = PART_DATA.filter((k) => (part as Record<string, unknown>)[k] !== undefined);
      if (data.length !== 1) problems.push(`${at} has ${data.length} data fields`);
      if (part.text !== undefined && (typeof part.text !== 'string' || part.text === ''))
        problems.push(`${at}.text empty`);
      if (part.inlineData && !(part.inlineData.mimeType && /^[A-Za-z0-9+/=_-]*$/.test(part.inlineData.data)))
        problems.push(`${at}.inlineData invalid`);
      if (part.fileData && !(part.fileData.mimeType && part.fileData.fileUri))
        problems.push(`${at}.fileData invalid`);
      if (part.functionCall) {
        if (content.role !== 'model') problems.push(`${at} functionCall outside a model turn`);
        if (!FUNCTION_NAME.test(part.functionCall.name)) problems.push(`${at}.functionCall.name invalid`);
        if (
          !part.functionCall.args ||
          typeof part.functionCall.args !== 'object' ||
          Array.isArray(part.functionCall.args)
        )
          problems.push(`${at}.functionCall.args is not an object`);
      }
      if (part.functionResponse) {
        if (content.role !== 'user') problems.push(`${at} functionResponse outside a user turn`);
        if (typeof part.functionResponse.response !== 'object')
          problems.push(`${at}.functionResponse.response`);
        responses.push(part.functionResponse.name);
      }
    }
    // Each function response answers a call of the model turn right before it, one for one.
    if (responses.length > 0 && [...responses].sort().join() !== [...callNames].sort().join())
      problems.push(`contents[${i}] answers ${responses} but the model called ${callNames}`);
    previous = content;
  }
  if (request.systemInstruction) {
    const parts = request.systemInstruction.parts;
    if (!Array.isArray(parts) || parts.some((p) => typeof p.text !== 'string'))
      problems.push('systemInstruction');
  }
  const config = request.generationConfig ?? {};
  for (const [key, value] of Object.entries(config)) {
    const known = [
      'temperature',
      'topP',
      'maxOutputTokens',
      'stopSequences',
      'candidateCount',
      'responseMimeType',
      'responseSchema',
      'thinkingConfig',
    ];
    if (!known.includes(key)) problems.push(`generationConfig.${key} unexpected here`);
    if (key === 'responseMimeType') {
      if (value !== 'application/json' && value !== 'text/plain') problems.push('responseMimeType');
    } else if (key === 'responseSchema') {
      // The OpenAPI subset Gemini's Schema object takes: no JSON Schema-only keywords.
      if (JSON.stringify(value).includes('additionalProperties')) problems.push('responseSchema keyword');
    } else if (key === 'thinkingConfig') {
      const thinking = value as { thinkingBudget?: unknown; thinkingLevel?: unknown };
      const budget = thinking.thinkingBudget !== undefined;
      const level = thinking.thinkingLevel !== undefined;
      if (budget === level) problems.push('thinkingConfig needs a budget or a level, not both');
      if (budget && !(Number.isInteger(thinking.thinkingBudget) && (thinking.thinkingBudget as number) >= -1))
        problems.push('thinkingBudget');
      if (level && !['minimal', 'low', 'medium', 'high'].includes(thinking.thinkingLevel as string))
        problems.push('thinkingLevel');
    } else if (key === 'stopSequences') {
      if (!Array.isArray(value) || value.length > 5 || value.some((s) => typeof s !== 'string'))
        problems.push('stopSequences');
    } else if (typeof value !== 'number') problems.push(`generationConfig.${key} is not a number`);
  }
  if (config.temperature !== undefined && (config.temperature < 0 || config.temperature > 2))
    problems.push('temperature');
  if (config.topP !== undefined && (config.topP < 0 || config.topP > 1)) problems.push('topP');
  if (
    config.maxOutputTokens !== undefined &&
    !(Number.isInteger(config.maxOutputTokens) && config.maxOutputTokens > 0)
  )
    problems.push('maxOutputTokens');
  const declared = new Set<string>();
  for (const tool of request.tools ?? []) {
    for (const fn of tool.functionDeclarations) {
      if (!FUNCTION_NAME.test(fn.name)) problems.push(`function name ${fn.name}`);
      declared.add(fn.name);
      if (fn.parameters) problems.push(...checkSchema(fn.parameters, fn.name));
    }
  }
  const calling = request.toolConfig?.functionCallingConfig;
  if (calling) {
    if (!['AUTO', 'ANY', 'NONE'].includes(calling.mode)) problems.push(`mode ${calling.mode}`);
    if (calling.allowedFunctionNames) {
      if (calling.mode !== 'ANY') problems.push('allowedFunctionNames without ANY');
      for (const name of calling.allowedFunctionNames)
        if (!declared.has(name)) problems.push(`${name} not declared`);
    }
    if (!request.tools) problems.push('toolConfig without tools');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------

describe('Gemini request translation', () => {
  it('turns the OpenAI chat fixture into the documented generateContent body', async () => {
    const out = await translate('Gemini', json('gemini/chat.request.json'));
    expect(JSON.parse(out.body.toString())).toEqual(json('gemini/chat.generate-content.request.json'));
    expect(generateContentProblems(JSON.parse(out.body.toString()))).toEqual([]);
  });

  it('calls the Gemini API with the API key in x-goog-api-key and no other auth header', async () => {
    const out = await translate('Gemini', { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
    expect(out.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json',
      'x-goog-api-key': 'AIza-provider-key',
    });
    expect(out.removeHeaders).toEqual(expect.arrayContaining(['authorization', 'x-api-key', 'api-key']));
    expect(out.removeHeaders).not.toContain('x-goog-api-key');
  });

  it('streams through streamGenerateContent?alt=sse, on the configured API version', async () => {
    const body = { model: 'x', stream: true, messages: [{ role: 'user', content: 'hi' }] };
    expect((await translate('Gemini', body)).path).toBe(
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    const v1 = { ...geminiBackend, apiVersion: 'v1', basePath: '/proxy' };
    expect((await translate('Gemini', body, { backend: v1 })).path).toBe(
      '/proxy/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    expect((await translate('Gemini', body, { model: 'tunedModels/weather-1' })).path).toBe(
      '/v1beta/tunedModels/weather-1:streamGenerateContent?alt=sse',
    );
  });

  it('calls Vertex AI on the publisher model path with a Bearer token minted once', async () => {
    const { tokens, minted } = fakeTokens();
    const translator = geminiTranslator('VertexAI', tokens);
    const raw = Buffer.from(
      JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    );
    const input = {
      operation: 'chat.completions' as const,
      ...bodyInput(raw),
      backend: vertexBackend,
      model: 'gemini-2.5-flash',
      credential: serviceAccount,
    };
    const first = await translator.request(input);
    const second = await translator.request(input);
    expect(first.path).toBe(
      '/v1/projects/demo-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    expect(Object.fromEntries(first.headers).authorization).toBe('Bearer ya29.t1');
    expect(Object.fromEntries(second.headers).authorization).toBe('Bearer ya29.t1');
    expect(minted()).toBe(1);
    expect(first.removeHeaders).toEqual(expect.arrayContaining(['x-api-key', 'x-goog-api-key', 'api-key']));
    expect(first.removeHeaders).not.toContain('authorization');
    // The backend's default max tokens applies when the request names none.
    expect(JSON.parse(first.body.toString()).generationConfig).toEqual({ maxOutputTokens: 1024 });
  });

  it('reduces JSON Schema to the OpenAPI subset Gemini accepts', () => {
    expect(
      toGeminiSchema({
        type: 'object',
        additionalProperties: false,
        properties: {
          when: { type: 'string', format: 'date-time' },
          link: { type: 'string', format: 'uri' },
          kind: { const: 'event' },
          tags: { type: 'array', items: { type: 'string', maxLength: 20 } },
          at: { oneOf: [{ type: 'string' }, { type: 'integer', format: 'int64' }] },
        },
      }),
    ).toEqual({
      type: 'OBJECT',
      properties: {
        when: { type: 'STRING', format: 'date-time' },
        link: { type: 'STRING' },
        kind: { enum: ['event'] },
        tags: { type: 'ARRAY', items: { type: 'STRING', maxLength: 20 } },
        at: { anyOf: [{ type: 'STRING' }, { type: 'INTEGER', format: 'int64' }] },
      },
    });
  });

  it('maps tool_choice to functionCallingConfig modes', () => {
    const tools = [
      {
        type: 'function',
        function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    ];
    const config = (tool_choice: unknown) =>
      toGeminiRequest(
        { messages: [{ role: 'user', content: 'x' }], tools, tool_choice },
        { model: 'gemini-2.5-flash' },
      ).toolConfig?.functionCallingConfig;
    expect(config('auto')).toEqual({ mode: 'AUTO' });
    expect(config('none')).toEqual({ mode: 'NONE' });
    expect(config('required')).toEqual({ mode: 'ANY' });
    expect(config({ type: 'function', function: { name: 'f' } })).toEqual({
      mode: 'ANY',
      allowedFunctionNames: ['f'],
    });
    expect(config(undefined)).toBeUndefined();
  });

  it('marks replayed function calls for Gemini 3 models, which require thought signatures', () => {
    const body = json('gemini/chat.request.json');
    const modelTurn = (model: string) => toGeminiRequest(body, { model }).contents[1]!.parts;
    expect(modelTurn('gemini-3-pro-preview')[0]!.thoughtSignature).toBe('skip_thought_signature_validator');
    expect(modelTurn('gemini-3-pro-preview')[1]!.thoughtSignature).toBeUndefined();
    expect(modelTurn('gemini-2.5-flash')[0]!.thoughtSignature).toBeUndefined();
  });

  it('rejects what Gemini cannot express with an OpenAI-shaped 400', () => {
    const bad = (body: Record<string, unknown>) => () => toGeminiRequest(body, { model: 'gemini-2.5-flash' });
    expect(bad({ messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }] })).toThrow(
      /no earlier assistant/,
    );
    expect(bad({ messages: [{ role: 'system', content: 'only a system prompt' }] })).toThrow(
      /at least one user/,
    );
    expect(
      bad({
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
          },
        ],
      }),
    ).toThrow(/JSON object/);
    expect(bad({ n: 2, stream: true, messages: [{ role: 'user', content: 'x' }] })).toThrow(
      /cannot be streamed/,
    );
  });

  it('names a message or content part that is no object, or has no role or type, as such, never as "undefined" (found by fuzzing)', () => {
    const messageOf = (message: unknown) => () =>
      toGeminiRequest({ messages: [message, { role: 'user', content: 'x' }] }, { model: 'gemini-2.5-flash' });
    expect(messageOf([null, 1, 'a'])).toThrow('messages[0] must be an object.');
    expect(messageOf({ content: 'x' })).toThrow(/^messages\[0\] has no role; Gemini backends take/);
    expect(messageOf({ role: 'robot', content: 'x' })).toThrow('messages[0].role "robot" is not supported');
    const partOf = (part: unknown) => messageOf({ role: 'user', content: [part] });
    expect(partOf([[['deep']]])).toThrow('messages[0].content[0] must be a content part object');
    expect(partOf(null)).toThrow('messages[0].content[0] must be a content part object');
    expect(partOf({ text: 'x' })).toThrow(/^messages\[0\]\.content\[0\] has no type; Gemini backends take/);
    for (const message of [[null], { content: 'x' }])
      expect(messageOf(message)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_request' }));
  });

  it('asks Gemini 2.5 for a thinking budget and Gemini 3 for a thinking level, with thought summaries, as reasoning_effort says', () => {
    const thinking = (model: string, effort: string | undefined) =>
      toGeminiRequest(
        { model: 'x', reasoning_effort: effort, messages: [{ role: 'user', content: 'Think.' }] },
        { model },
      ).generationConfig?.thinkingConfig;
    // "none" (and "minimal", a budget of 0 on 2.5) turns thinking off: no summaries to ask for.
    expect(thinking('gemini-2.5-flash', 'none')).toEqual({ thinkingBudget: 0 });
    expect(thinking('gemini-2.5-flash', 'minimal')).toEqual({ thinkingBudget: 0 });
    expect(thinking('gemini-2.5-flash', 'low')).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    expect(thinking('gemini-2.5-pro', 'medium')).toEqual({ thinkingBudget: 8192, includeThoughts: true });
    // 2.5 Pro cannot stop thinking: the least it takes is 128 tokens; "minimal" reasoning is still shown.
    expect(thinking('gemini-2.5-pro', 'none')).toEqual({ thinkingBudget: 128 });
    expect(thinking('publishers/google/models/gemini-2.5-pro', 'minimal')).toEqual({
      thinkingBudget: 128,
      includeThoughts: true,
    });
    expect(thinking('gemini-2.5-pro', 'high')).toEqual({ thinkingBudget: 24_576, includeThoughts: true });
    expect(thinking('gemini-3-pro-preview', 'none')).toEqual({ thinkingLevel: 'minimal' });
    expect(thinking('gemini-3-pro-preview', 'low')).toEqual({ thinkingLevel: 'low', includeThoughts: true });
    expect(thinking('publishers/google/models/gemini-3-flash', 'high')).toEqual({
      thinkingLevel: 'high',
      includeThoughts: true,
    });
    // A model id without a version keeps the model's own amount of thinking, and shows it.
    expect(thinking('gemini-flash-latest', 'high')).toEqual({ includeThoughts: true });
    expect(thinking('tuned-summariser', 'none')).toBeUndefined();
    // Gemini 1.5 does not think; a request without reasoning_effort asks for nothing.
    expect(thinking('gemini-1.5-pro-002', 'high')).toBeUndefined();
    expect(thinking('gemini-2.5-flash', undefined)).toBeUndefined();
    expect(thinking('gemini-2.5-flash', 'extreme')).toBeUndefined();
  });

  it('turns a request marked for prompt caching into a valid generateContent request without the markers', () => {
    fc.assert(
      fc.property(cachedChatRequest, ({ body }) => {
        const request = toGeminiRequest(body, { model: 'gemini-2.5-flash' });
        expect(generateContentProblems(request)).toEqual([]);
        expect(JSON.stringify(request)).not.toContain('cache_control');
      }),
      { numRuns: 200 },
    );
  });

  it('turns every valid OpenAI chat request into a structurally valid generateContent request', () => {
    fc.assert(
      fc.property(chatRequest, (body) => {
        const request = toGeminiRequest(body, { model: 'gemini-2.5-flash' });
        expect(generateContentProblems(request)).toEqual([]);
        // The request survives JSON as Google receives it.
        expect(JSON.parse(JSON.stringify(request))).toEqual(request);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Gemini response translation', () => {
  it('turns a text answer into a chat.completion with usage, cached and reasoning tokens', () => {
    const out = fromGeminiResponse(json('gemini/generate-content.text.response.json'), context(), {
      created: 1751360400,
    });
    expect(out).toEqual({
      id: 'chatcmpl-mD5kaPe3K4qYz7IPxLKmqQk',
      object: 'chat.completion',
      created: 1751360400,
      model: 'gemini-2.5-flash',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Take an umbrella in Paris; Lyon stays dry.',
            refusal: null,
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 112,
        completion_tokens: 29,
        total_tokens: 141,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 20 },
      },
    });
  });

  it('turns function calls into tool_calls with stable ids', () => {
    const response = json('gemini/generate-content.function-call.response.json');
    const out = fromGeminiResponse(response, context()) as {
      choices: { message: Record<string, unknown>; finish_reason: string }[];
    };
    expect(out.choices[0]!.finish_reason).toBe('tool_calls');
    expect(out.choices[0]!.message.content).toBeNull();
    expect(out.choices[0]!.message.tool_calls).toEqual([
      {
        id: 'call_Xh9kaKzGJ9yWz7IP2ar3sAc_0',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Lyon"}' },
      },
      {
        id: 'call_Xh9kaKzGJ9yWz7IP2ar3sAc_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
      },
    ]);
    expect(fromGeminiResponse(response, context())).toEqual(out);
  });

  it('answers a blocked prompt with an empty content_filter completion whose refusal names the reason', () => {
    const out = fromGeminiResponse(
      json('gemini/generate-content.blocked-prompt.response.json'),
      context(),
    ) as {
      choices: { message: Record<string, unknown>; finish_reason: string }[];
    };
    expect(out.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: expect.stringContaining('PROHIBITED_CONTENT') },
        logprobs: null,
        finish_reason: 'content_filter',
      },
    ]);
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['SPII', 'content_filter'],
    ['STOP', 'stop'],
    ['OTHER', 'stop'],
  ])('maps finishReason %s to %s', (reason, expected) => {
    const response = json('gemini/generate-content.max-tokens.response.json') as {
      candidates: { finishReason: string }[];
    };
    response.candidates[0]!.finishReason = reason;
    expect(
      (fromGeminiResponse(response, context()) as { choices: { finish_reason: string }[] }).choices[0]!
        .finish_reason,
    ).toBe(expected);
  });

  it('returns thought summaries as reasoning_content and the answering snapshot (modelVersion) as the model', () => {
    const out = fromGeminiResponse(
      json('gemini/generate-content.thinking.response.json'),
      context({ model: 'gemini-flash-latest' }),
    ) as { model: string; choices: { message: Record<string, unknown> }[]; usage: unknown };
    expect(out.model).toBe('gemini-2.5-flash-preview-09-2025');
    expect(out.choices[0]!.message).toEqual({
      role: 'assistant',
      content: expect.stringMatching(/^Yes\. Suppose p1, …, pk were all of them/),
      reasoning_content: expect.stringMatching(/^\*\*Counting the primes\*\*\n\nI need primes p/),
      refusal: null,
    });
    expect(out.choices[0]!.message.content).not.toContain('Counting the primes');
    expect(out.usage).toEqual({
      prompt_tokens: 18,
      completion_tokens: 61 + 332,
      total_tokens: 411,
      completion_tokens_details: { reasoning_tokens: 332 },
    });
    // Without a modelVersion the requested model stands.
    const { modelVersion: _, ...unversioned } = json('gemini/generate-content.text.response.json');
    expect(fromGeminiResponse(unversioned, context({ model: 'gemini-2.5-flash-lite' })).model).toBe(
      'gemini-2.5-flash-lite',
    );
  });

  it('takes Vertex AI’s createTime as the creation time, and its modelVersion as the model', () => {
    const translator = geminiTranslator('VertexAI');
    const out = JSON.parse(
      translator
        .responseBody(
          fixture('vertex/generate-content.text.response.json'),
          context({ model: 'gemini-2.5-flash-001' }),
        )
        .toString(),
    );
    expect(out).toMatchObject({
      id: 'chatcmpl-3VlkaM2-N5Gl2PgP0NqU4Qs',
      created: 1751362205,
      model: 'gemini-2.5-flash',
      choices: [
        { message: { content: 'Bonjour ! Il pleut à Paris, prenez un parapluie.' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
    });
  });

  it('sets the event-stream content type only for streams', () => {
    const translator = geminiTranslator('Gemini');
    const head = undefined as never;
    expect(translator.responseHeaders?.(head, context({ stream: true }))).toEqual({
      setHeaders: [['content-type', 'text/event-stream']],
    });
    expect(translator.responseHeaders?.(head, context())).toEqual({});
  });
});

describe('Gemini stream translation', () => {
  const streams = [
    'gemini/stream.text.sse',
    'gemini/stream.function-call.sse',
    'vertex/stream.text.sse',
    'gemini/stream.error.sse',
    'gemini/stream.thinking.sse',
  ];

  const run = (parts: Buffer[], ctx = context({ stream: true, includeUsage: true })) => {
    const translator = new GeminiStreamTranslator(ctx, { id: 'chatcmpl-test', created: 1751360400 });
    return Buffer.concat(parts.map((p, i) => translator.chunk(p, i === parts.length - 1))).toString();
  };

  it('streams thought summaries as reasoning_content deltas, text deltas, and ends with finish, usage and [DONE]', () => {
    const bytes = fixture('gemini/stream.text.sse');
    const out = run([bytes]);
    const chunks = chunksOf(out) as {
      choices: { delta: Record<string, unknown>; finish_reason: string | null }[];
      usage?: unknown;
    }[];
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'Yes — take an umbrella ☔ in Paris; Lyon stays dry (24 °C).',
    );
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 112,
        completion_tokens: 41,
        total_tokens: 153,
        prompt_tokens_details: { cached_tokens: 64 },
      },
    });
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(chunks[1]!.choices[0]!.delta).toEqual({
      reasoning_content: '**Weighing the forecast** Rain in Paris, dry in Lyon.',
    });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).not.toContain('Weighing');
  });

  it('streams a thinking answer: reasoning first, then the answer, every chunk naming the modelVersion', () => {
    const out = run(
      [fixture('gemini/stream.thinking.sse')],
      context({ model: 'gemini-flash-latest', stream: true, includeUsage: true }),
    );
    const chunks = chunksOf(out) as {
      model: string;
      choices: { delta: { content?: string; reasoning_content?: string } }[];
      usage?: unknown;
    }[];
    expect(chunks.every((c) => c.model === 'gemini-2.5-flash-preview-09-2025')).toBe(true);
    const deltas = chunks.map((c) => c.choices[0]?.delta).filter((d) => d !== undefined);
    const reasoning = deltas.map((d) => d.reasoning_content ?? '').join('');
    const answer = deltas.map((d) => d.content ?? '').join('');
    expect(reasoning).toBe(
      '**Counting the primes**\n\nI need primes p with p ≡ 3 (mod 4). Euclid-style: a product minus one has a prime factor ≡ 3 (mod 4) outside the list.\n',
    );
    expect(answer).toBe(
      'Yes. Suppose p1, …, pk were all of them and take N = 4·p1⋯pk − 1. Some prime factor of N is ≡ 3 (mod 4), and it is none of the pi.',
    );
    const lastReasoning = deltas.findLastIndex((d) => d.reasoning_content);
    const firstAnswer = deltas.findIndex((d) => d.content);
    expect(lastReasoning).toBeLessThan(firstAnswer);
    expect(chunks.at(-1)!.usage).toEqual({
      prompt_tokens: 18,
      completion_tokens: 393,
      total_tokens: 411,
      completion_tokens_details: { reasoning_tokens: 332 },
    });
  });

  it('streams function calls as tool-call deltas and finishes with tool_calls', () => {
    const bytes = fixture('gemini/stream.function-call.sse');
    const chunks = chunksOf(run([bytes], context({ stream: true }))) as {
      choices: { delta: { tool_calls?: unknown[] }; finish_reason: string | null }[];
      usage?: unknown;
    }[];
    expect(chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])).toEqual([
      {
        index: 0,
        id: 'call_Xh9kaKzGJ9yWz7IP2ar3sAc_0',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Lyon"}' },
      },
      {
        index: 1,
        id: 'call_Xh9kaKzGJ9yWz7IP2ar3sAc_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
      },
    ]);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
    // No include_usage: no usage chunk.
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('passes an error inside the stream on as an OpenAI error event, and stops', () => {
    const bytes = fixture('gemini/stream.error.sse');
    const out = run([bytes]);
    const events = chunksOf(out);
    expect(events.at(-1)).toEqual({
      error: {
        message: 'The model is overloaded. Please try again later.',
        type: 'api_error',
        param: null,
        code: 'UNAVAILABLE',
      },
    });
    expect(out).not.toContain('[DONE]');
  });

  it('reports a stream that ends without any response', () => {
    expect(chunksOf(run([Buffer.alloc(0)]))[0]).toMatchObject({
      error: { code: 'bad_gateway' },
    });
  });

  it('ends a blocked prompt with a content_filter chunk carrying the refusal', () => {
    const bytes = Buffer.from(
      `data: ${fixture('gemini/generate-content.blocked-prompt.response.json').toString().replace(/\s+/g, ' ')}\r\n\r\n`,
    );
    const chunks = chunksOf(run([bytes])) as {
      choices: { delta: { refusal?: string }; finish_reason: string }[];
    }[];
    expect(chunks.at(-2)!.choices[0]).toMatchObject({
      delta: { refusal: expect.stringContaining('PROHIBITED_CONTENT') },
      finish_reason: 'content_filter',
    });
  });

  it.each(streams)('gives byte-identical output for any split of %s', (path) => {
    const bytes = fixture(path);
    const whole = run([bytes]);
    fc.assert(
      fc.property(cuts, (c) => {
        expect(run(splitAt(bytes, c))).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });

  it.each(streams)(
    'gives the same output fed one byte at a time (inside characters and CRLFs): %s',
    (path) => {
      const bytes = fixture(path);
      const whole = run([bytes]);
      const oneByteAtATime = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
      expect(run(oneByteAtATime)).toBe(whole);
    },
  );
});

describe('Google errors', () => {
  const translator = geminiTranslator('Gemini');

  it('maps RESOURCE_EXHAUSTED to a rate_limit_error keeping Google’s message', () => {
    expect(translator.error(429, fixture('gemini/error.resource-exhausted.json'))).toEqual({
      error: {
        message: 'Resource has been exhausted (e.g. check quota).',
        type: 'rate_limit_error',
        param: null,
        code: 'RESOURCE_EXHAUSTED',
      },
    });
  });

  it('passes on an invalid API key as Google words it', () => {
    expect(translator.error(400, fixture('gemini/error.invalid-argument.json')).error).toEqual({
      message: 'API key not valid. Please pass a valid API key.',
      type: 'invalid_request_error',
      param: null,
      code: 'INVALID_ARGUMENT',
    });
  });

  it('reads the error envelope Vertex AI wraps in an array', () => {
    expect(
      geminiTranslator('VertexAI').error(403, fixture('vertex/error.permission-denied.array.json')).error,
    ).toMatchObject({
      type: 'permission_error',
      code: 'PERMISSION_DENIED',
      message: expect.stringContaining("Permission 'aiplatform.endpoints.predict' denied"),
    });
  });

  it.each([
    ['INVALID_ARGUMENT', 400, 'invalid_request_error'],
    ['UNAUTHENTICATED', 401, 'authentication_error'],
    ['NOT_FOUND', 404, 'not_found_error'],
    ['DEADLINE_EXCEEDED', 504, 'timeout_error'],
    ['UNAVAILABLE', 503, 'api_error'],
    ['INTERNAL', 500, 'api_error'],
  ])('maps %s to %s', (status, code, type) => {
    const body = Buffer.from(JSON.stringify({ error: { code, message: 'm', status } }));
    expect(translator.error(code, body).error.type).toBe(type);
  });

  it('wraps a body that is not Google’s envelope', () => {
    expect(translator.error(502, Buffer.from('<html>Bad Gateway</html>')).error).toMatchObject({
      type: 'api_error',
      message: expect.stringContaining('Gemini API returned HTTP 502'),
    });
  });
});

describe('Google embeddings', () => {
  it('asks the Gemini API for batchEmbedContents, one request per input', async () => {
    const out = await translate(
      'Gemini',
      { model: 'x', input: ['a', 'b'], dimensions: 256 },
      {
        operation: 'embeddings',
        model: 'gemini-embedding-001',
      },
    );
    expect(out.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(JSON.parse(out.body.toString())).toEqual({
      requests: [
        {
          model: 'models/gemini-embedding-001',
          content: { parts: [{ text: 'a' }] },
          outputDimensionality: 256,
        },
        {
          model: 'models/gemini-embedding-001',
          content: { parts: [{ text: 'b' }] },
          outputDimensionality: 256,
        },
      ],
    });
  });

  it('asks Vertex AI for :predict with one instance per input', async () => {
    const out = await translate(
      'VertexAI',
      { model: 'x', input: 'a' },
      { operation: 'embeddings', model: 'text-embedding-005' },
    );
    expect(out.path).toBe(
      '/v1/projects/demo-project/locations/europe-west4/publishers/google/models/text-embedding-005:predict',
    );
    expect(JSON.parse(out.body.toString())).toEqual({ instances: [{ content: 'a' }] });
  });

  it('turns both answers into an OpenAI embedding list', () => {
    expect(
      fromGoogleEmbeddings(json('gemini/batch-embed-contents.response.json'), 'gemini-embedding-001'),
    ).toEqual({
      object: 'list',
      data: [
        {
          object: 'embedding',
          index: 0,
          embedding: [0.013168523, -0.008711934, -0.046782676, 0.00069968984],
        },
        { object: 'embedding', index: 1, embedding: [-0.022120386, 0.0066416, -0.03198917, 0.0132432] },
      ],
      model: 'gemini-embedding-001',
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
    const vertex = fromGoogleEmbeddings(
      json('vertex/predict.embeddings.response.json'),
      'text-embedding-005',
    ) as {
      data: { embedding: number[] }[];
      usage: unknown;
    };
    expect(vertex.data[1]!.embedding).toEqual([-0.0311, 0.0127, 0.0412, -0.0005]);
    expect(vertex.usage).toEqual({ prompt_tokens: 10, total_tokens: 10 });
  });

  it('packs vectors as little-endian float32 base64 when asked', () => {
    const out = fromGoogleEmbeddings(json('vertex/predict.embeddings.response.json'), 'm', 'base64') as {
      data: { embedding: string }[];
    };
    const buf = Buffer.from(out.data[0]!.embedding, 'base64');
    expect(Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4))).toEqual(
      [0.0124, -0.0453, 0.0221, 0.0098].map((v) => Math.fround(v)),
    );
  });

  it('rejects token-id input, which Gemini cannot embed', async () => {
    await expect(
      translate('Gemini', { model: 'x', input: [[1, 2, 3]] }, { operation: 'embeddings' }),
    ).rejects.toMatchObject({ status: 400, param: 'input' });
  });
});

describe('Google retry hints', () => {
  it('reads RetryInfo’s retryDelay as whole seconds, in the plain and the array-wrapped envelope', () => {
    const body = (delay: unknown) => ({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        message: 'x',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }],
      },
    });
    expect(googleRetryAfter(Buffer.from(JSON.stringify(body('21s'))))).toBe(21);
    expect(googleRetryAfter(Buffer.from(JSON.stringify([body('1.2s')])))).toBe(2);
    expect(googleRetryAfter(Buffer.from(JSON.stringify(body(21))))).toBeUndefined();
    expect(
      googleRetryAfter(Buffer.from(JSON.stringify({ error: { message: 'no details' } }))),
    ).toBeUndefined();
    expect(googleRetryAfter(Buffer.from('<html>quota</html>'))).toBeUndefined();
  });
});
