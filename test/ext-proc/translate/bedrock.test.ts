import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { BedrockStream } from '../../../ext-proc/translate/bedrock.stream.ts';
import { bedrockTranslator, encodeModelId, toConverseRequest } from '../../../ext-proc/translate/bedrock.ts';
import type { Operation, ResponseContext, UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import { encodeEvents, RECORDINGS, THROTTLED_STREAM } from '../../fixtures/bedrock/event-streams.ts';
import {
  cachedChatRequest,
  chatRequest,
  cuts,
  splitAt,
} from '../../fixtures/openai/chat-request.arbitrary.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/bedrock/${name}`, import.meta.url));
const json = (name: string) => JSON.parse(fixture(name).toString()) as Record<string, unknown>;

const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
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

interface TranslateOptions {
  operation?: Operation;
  model?: string;
  backend?: CompiledBackend;
  credential?: Credential | undefined;
}

function translate(body: object, options: TranslateOptions = {}): Promise<UpstreamRequest> {
  const raw = Buffer.from(JSON.stringify(body));
  return Promise.resolve(
    bedrockTranslator.request({
      operation: options.operation ?? 'chat.completions',
      ...bodyInput(raw),
      backend: options.backend ?? backend,
      model: options.model ?? MODEL,
      credential: 'credential' in options ? options.credential : credential,
    }),
  );
}

const sent = (request: UpstreamRequest) => JSON.parse(request.body.toString()) as Record<string, unknown>;
const headersOf = (request: UpstreamRequest) => Object.fromEntries(request.headers);

async function rejection(promise: Promise<unknown>): Promise<AgentRouterError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentRouterError);
  return error as AgentRouterError;
}

const user = (content: unknown) => ({ role: 'user', content });

describe('Bedrock translator, requests', () => {
  it('translates a conversation with system prompts, an image, tool calls and results to Converse', async () => {
    const out = await translate(json('chat-request.tools.json'));
    expect(out.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(sent(out)).toEqual(json('converse-request.tools.json'));
  });

  it('calls converse-stream for a streamed request and prefixes the backend base path', async () => {
    const out = await translate(
      { model: 'chat-model', messages: [user('hi')], stream: true },
      { backend: { ...backend, basePath: '/proxy' } },
    );
    expect(out.path).toBe('/proxy/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expect(sent(out)).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  });

  it('percent-encodes inference profile ARNs as one path segment', async () => {
    const arn =
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0';
    const out = await translate({ model: 'm', messages: [user('hi')] }, { model: arn });
    expect(out.path).toBe(
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse',
    );
    expect(encodeModelId("a!b'(c)*")).toBe('a%21b%27%28c%29%2A');
  });

  it('signs the final body for service bedrock in the backend region and sets the SigV4 headers', async () => {
    const out = await translate({ model: 'chat-model', messages: [user('hi')] });
    const headers = headersOf(out);
    expect(headers['content-type']).toBe('application/json');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(out.body).digest('hex'));
    expect(headers['x-amz-security-token']).toBeUndefined();
    // The signed authorization overwrites the client's; other providers' auth headers are removed.
    expect(out.removeHeaders).not.toContain('authorization');
    expect(out.removeHeaders).toEqual(
      expect.arrayContaining(['x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token']),
    );
  });

  it('sends the session token of temporary credentials, signed', async () => {
    const out = await translate(
      { model: 'chat-model', messages: [user('hi')] },
      {
        credential: {
          ...credential,
          sessionToken: new SecretValue('FwoGZXIvYXdzEXAMPLETOKEN'),
        } as Credential,
      },
    );
    const headers = headersOf(out);
    expect(headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(headers.authorization).toContain('x-amz-date;x-amz-security-token');
    expect(out.removeHeaders).not.toContain('x-amz-security-token');
  });

  it('refuses a backend without an AWS access key, naming the fix', async () => {
    const error = await rejection(
      translate({ model: 'm', messages: [user('hi')] }, { credential: undefined }),
    );
    expect(error.message).toContain('AWSAccessKey');
  });

  it('replaces an image URL by a text note, since Converse takes only inline bytes', async () => {
    const url = 'https://upload.wikimedia.org/ant.jpg';
    const out = await translate({
      model: 'm',
      messages: [user([{ type: 'image_url', image_url: { url } }])],
    });
    expect(sent(out).messages).toEqual([
      { role: 'user', content: [{ text: expect.stringContaining(url) as string }] },
    ]);
  });

  it('refuses image types and data URLs that Converse cannot take', async () => {
    const bmp = await rejection(
      translate({
        model: 'm',
        messages: [user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }])],
      }),
    );
    expect(bmp.status).toBe(400);
    expect(bmp.param).toBe('messages[0].content[0].image_url.url');
    const plain = await rejection(
      translate({
        model: 'm',
        messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png,xyz' } }])],
      }),
    );
    expect(plain.message).toContain('base64');
  });

  it('turns cache_control markers into cachePoint blocks after the tool, system text, content and tool result they mark', async () => {
    const out = sent(await translate(json('chat-request.prompt-caching.json')));
    expect(out).toEqual(json('converse-request.prompt-caching.json'));
    expect(converseProblems(out)).toEqual([]);
  });

  it('marks an image and an assistant text, drops a TTL Bedrock does not know, and refuses a malformed marker', async () => {
    const ephemeral = { type: 'ephemeral' };
    const out = toConverseRequest({
      messages: [
        user([
          {
            type: 'image_url',
            image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' },
            cache_control: ephemeral,
          },
          { type: 'text', text: 'Describe it.', cache_control: { type: 'ephemeral', ttl: '30m' } },
        ]),
        { role: 'assistant', content: [{ type: 'text', text: 'A bar chart.', cache_control: ephemeral }] },
        user('Which bar is highest?'),
      ],
    });
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
          { cachePoint: { type: 'default' } },
          { text: 'Describe it.' },
          { cachePoint: { type: 'default' } },
        ],
      },
      { role: 'assistant', content: [{ text: 'A bar chart.' }, { cachePoint: { type: 'default' } }] },
      { role: 'user', content: [{ text: 'Which bar is highest?' }] },
    ]);
    const error = await rejection(
      translate({ messages: [user([{ type: 'text', text: 'x', cache_control: true }])] }),
    );
    expect([error.status, error.param]).toEqual([400, 'messages[0].content[0].cache_control']);
  });

  it('keeps checkpoints when tool calls and results are sent as text (no toolConfig)', () => {
    const out = toConverseRequest({
      messages: [
        user('Weather?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        {
          role: 'tool',
          tool_call_id: 'c1',
          content: [{ type: 'text', text: '18°C', cache_control: { type: 'ephemeral' } }],
        },
      ],
    });
    expect(out.toolConfig).toBeUndefined();
    expect(out.messages[2]!.content).toEqual([
      { text: '[tool result get_weather: 18°C]' },
      { cachePoint: { type: 'default' } },
    ]);
    expect(converseProblems(out as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('maps tool_choice auto and required to Converse tool choices', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const auto = await translate({ model: 'm', messages: [user('x')], tools, tool_choice: 'auto' });
    expect((sent(auto).toolConfig as Record<string, unknown>).toolChoice).toEqual({ auto: {} });
    const required = await translate({ model: 'm', messages: [user('x')], tools, tool_choice: 'required' });
    expect((sent(required).toolConfig as Record<string, unknown>).toolChoice).toEqual({ any: {} });
    const unset = await translate({ model: 'm', messages: [user('x')], tools });
    expect(sent(unset).toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }],
    });
  });

  it('omits tools for tool_choice none and sends earlier tool calls and results as text', async () => {
    const body = json('chat-request.tools.json');
    const out = await translate({ ...body, tool_choice: 'none' });
    const request = sent(out);
    expect(request.toolConfig).toBeUndefined();
    const blocks = (request.messages as { content: Record<string, unknown>[] }[]).flatMap((m) => m.content);
    expect(blocks.some((b) => 'toolUse' in b || 'toolResult' in b)).toBe(false);
    expect(blocks).toContainEqual({ text: '[tool call get_weather {"city":"Paris"}]' });
    expect(blocks).toContainEqual({ text: '[tool result get_weather: 4°C, rain]' });
  });

  it('clamps temperature to Converse’s 0–1, drops empty stop sequences and applies the backend default max tokens', () => {
    const request = toConverseRequest(
      { messages: [user('x')], temperature: 1.7, stop: ['', 'STOP'], max_completion_tokens: undefined },
      512,
    );
    expect(request.inferenceConfig).toEqual({ maxTokens: 512, temperature: 1, stopSequences: ['STOP'] });
    expect(
      toConverseRequest({ messages: [user('x')], max_completion_tokens: 9, max_tokens: 5 }, 512),
    ).toMatchObject({
      inferenceConfig: { maxTokens: 9 },
    });
  });

  it('sends a JSON schema response format as outputConfig.textFormat, the schema as a JSON string', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const request = toConverseRequest({
      messages: [user('Where?')],
      response_format: { type: 'json_schema', json_schema: { name: 'place', strict: true, schema } },
    });
    expect(request.outputConfig).toEqual({
      textFormat: {
        type: 'json_schema',
        structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'place' } },
      },
    });
    expect(
      toConverseRequest({ messages: [user('x')], response_format: { type: 'json_object' } }),
    ).not.toHaveProperty('outputConfig');
    expect(() => toConverseRequest({ messages: [user('x')], response_format: { type: 'yaml' } })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  it('asks Claude on Bedrock for thinking in additionalModelRequestFields: a budget before 4.6, adaptive after', () => {
    const body = { messages: [user('17 × 3?')], reasoning_effort: 'medium', temperature: 0.5 };
    expect(toConverseRequest(body, undefined, 'anthropic.claude-3-7-sonnet-20250219-v1:0')).toMatchObject({
      inferenceConfig: { maxTokens: 4096 + 4096 },
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 4096 } },
    });
    const adaptive = toConverseRequest(body, undefined, 'us.anthropic.claude-opus-4-7-v1:0');
    expect(adaptive.additionalModelRequestFields).toEqual({
      thinking: { type: 'adaptive' },
      output_config: { effort: 'medium' },
    });
    // Thinking requires the default temperature.
    expect(adaptive.inferenceConfig?.temperature).toBeUndefined();
    // Other model families have no thinking field; nothing is added.
    const nova = toConverseRequest(body, undefined, 'amazon.nova-pro-v1:0');
    expect(nova.additionalModelRequestFields).toBeUndefined();
    expect(nova.inferenceConfig).toEqual({ temperature: 0.5 });
  });

  it('refuses what Converse cannot express: several choices, other roles, non-object tool arguments', async () => {
    expect((await rejection(translate({ model: 'm', messages: [user('x')], n: 2 }))).param).toBe('n');
    expect(
      (await rejection(translate({ model: 'm', messages: [{ role: 'function', content: 'x' }] }))).param,
    ).toBe('messages[0].role');
    const badArgs = await rejection(
      translate({
        model: 'm',
        messages: [
          user('x'),
          {
            role: 'assistant',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '[1,2]' } }],
          },
        ],
      }),
    );
    expect(badArgs.param).toBe('messages[1].tool_calls[0].function.arguments');
    const legacy = await rejection(translate({ model: 'm', prompt: 'x' }, { operation: 'completions' }));
    expect(legacy.status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------------
// A structural check of Converse requests, written from the API reference (API_runtime_Converse.html,
// Message, ContentBlock, ImageBlock, ToolUseBlock, ToolResultBlock, SystemContentBlock,
// InferenceConfiguration, ToolConfiguration, ToolSpecification, ToolChoice, CachePointBlock) and the
// service's rule that tool blocks need a toolConfig; a cachePoint ({type: "default", ttl?: "5m" | "1h"})
// follows the content it caches (docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html), so it
// is never first in its list. Returns the problems found.

const CONTENT_BLOCK_MEMBERS = new Set([
  'text',
  'image',
  'document',
  'video',
  'toolUse',
  'toolResult',
  'guardContent',
  'cachePoint',
]);

function cachePointProblems(list: unknown[], at: string): string[] {
  const problems: string[] = [];
  for (const [i, block] of list.entries()) {
    if (typeof block !== 'object' || block === null || !('cachePoint' in block)) continue;
    const point = (block as { cachePoint: unknown }).cachePoint as Record<string, unknown> | null;
    if (i === 0) problems.push(`${at}[0] is a cachePoint with nothing before it`);
    if (
      typeof point !== 'object' ||
      point === null ||
      point.type !== 'default' ||
      Object.keys(point).some((k) => k !== 'type' && k !== 'ttl') ||
      (point.ttl !== undefined && point.ttl !== '5m' && point.ttl !== '1h')
    )
      problems.push(`${at}[${i}].cachePoint is not a CachePointBlock`);
  }
  return problems;
}
const TOOL_USE_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function converseProblems(request: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const messages = request.messages;
  if (!Array.isArray(messages) || messages.length === 0) return ['messages must be a non-empty array'];
  const toolUseIds = new Set<string>();
  let toolBlocks = false;
  for (const [i, message] of messages.entries()) {
    if (!isObj(message)) {
      problems.push(`messages[${i}] is not an object`);
      continue;
    }
    const expectedRole = i % 2 === 0 ? 'user' : 'assistant';
    if (message.role !== expectedRole)
      problems.push(`messages[${i}].role is ${String(message.role)}, not ${expectedRole}`);
    if (!Array.isArray(message.content) || message.content.length === 0) {
      problems.push(`messages[${i}].content is empty`);
      continue;
    }
    problems.push(...cachePointProblems(message.content, `messages[${i}].content`));
    for (const [j, block] of message.content.entries()) {
      const at = `messages[${i}].content[${j}]`;
      if (!isObj(block)) {
        problems.push(`${at} is not an object`);
        continue;
      }
      const keys = Object.keys(block);
      if (keys.length !== 1 || !CONTENT_BLOCK_MEMBERS.has(keys[0]!))
        problems.push(`${at} is not a ContentBlock union`);
      if ('text' in block && (typeof block.text !== 'string' || block.text.length === 0))
        problems.push(`${at}.text is not a non-empty string`);
      if ('image' in block) {
        const image = block.image as Record<string, unknown>;
        const source = image?.source as Record<string, unknown> | undefined;
        if (!['png', 'jpeg', 'gif', 'webp'].includes(String(image?.format)))
          problems.push(`${at}.image.format`);
        if (typeof source?.bytes !== 'string' || !BASE64.test(source.bytes))
          problems.push(`${at}.image.source.bytes`);
      }
      if ('toolUse' in block) {
        toolBlocks = true;
        const use = block.toolUse as Record<string, unknown>;
        if (message.role !== 'assistant') problems.push(`${at}: toolUse outside an assistant message`);
        if (typeof use?.toolUseId !== 'string' || !TOOL_USE_ID.test(use.toolUseId))
          problems.push(`${at}.toolUseId`);
        else toolUseIds.add(use.toolUseId);
        if (typeof use?.name !== 'string' || !TOOL_NAME.test(use.name)) problems.push(`${at}.toolUse.name`);
        if (!isObj(use?.input)) problems.push(`${at}.toolUse.input is not an object`);
      }
      if ('toolResult' in block) {
        toolBlocks = true;
        const result = block.toolResult as Record<string, unknown>;
        if (message.role !== 'user') problems.push(`${at}: toolResult outside a user message`);
        if (typeof result?.toolUseId !== 'string' || !toolUseIds.has(result.toolUseId))
          problems.push(`${at}.toolResult.toolUseId matches no earlier toolUse`);
        if (
          !Array.isArray(result?.content) ||
          !result.content.every((c) => isObj(c) && typeof c.text === 'string')
        )
          problems.push(`${at}.toolResult.content`);
      }
    }
  }
  if (request.system !== undefined) {
    const system = request.system;
    if (
      !Array.isArray(system) ||
      !system.every(
        (b) =>
          isObj(b) && (('text' in b && typeof b.text === 'string' && b.text.length > 0) || 'cachePoint' in b),
      )
    )
      problems.push('system is not an array of text blocks');
    else problems.push(...cachePointProblems(system, 'system'));
  }
  const inference = request.inferenceConfig;
  if (inference !== undefined) {
    if (!isObj(inference)) problems.push('inferenceConfig');
    else {
      const { maxTokens, temperature, topP, stopSequences } = inference;
      if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) >= 1))
        problems.push('inferenceConfig.maxTokens');
      for (const [name, v] of [
        ['temperature', temperature],
        ['topP', topP],
      ] as const)
        if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1))
          problems.push(`inferenceConfig.${name}`);
      if (
        stopSequences !== undefined &&
        !(Array.isArray(stopSequences) && stopSequences.every((s) => typeof s === 'string' && s.length > 0))
      )
        problems.push('inferenceConfig.stopSequences');
    }
  }
  const toolConfig = request.toolConfig;
  if (toolConfig !== undefined) {
    if (!isObj(toolConfig) || !Array.isArray(toolConfig.tools) || toolConfig.tools.length === 0)
      problems.push('toolConfig.tools must be a non-empty array');
    else {
      problems.push(...cachePointProblems(toolConfig.tools, 'toolConfig.tools'));
      for (const tool of toolConfig.tools) {
        if (isObj(tool) && 'cachePoint' in tool) continue;
        const spec = isObj(tool) ? tool.toolSpec : undefined;
        if (!isObj(spec) || typeof spec.name !== 'string' || !TOOL_NAME.test(spec.name))
          problems.push('toolSpec.name');
        else if (!isObj(spec.inputSchema) || !isObj(spec.inputSchema.json))
          problems.push('toolSpec.inputSchema.json');
        else if (
          spec.description !== undefined &&
          (typeof spec.description !== 'string' || !spec.description)
        )
          problems.push('toolSpec.description');
      }
      const choice = toolConfig.toolChoice;
      if (choice !== undefined) {
        const ok =
          isObj(choice) &&
          Object.keys(choice).length === 1 &&
          ((isObj(choice.auto) && Object.keys(choice.auto).length === 0) ||
            (isObj(choice.any) && Object.keys(choice.any).length === 0) ||
            (isObj(choice.tool) && typeof choice.tool.name === 'string'));
        if (!ok) problems.push('toolConfig.toolChoice');
      }
    }
  } else if (toolBlocks) problems.push('toolUse/toolResult blocks without a toolConfig');
  const output = request.outputConfig;
  if (output !== undefined) {
    const format = isObj(output) ? output.textFormat : undefined;
    const structure = isObj(format) ? format.structure : undefined;
    const jsonSchema = isObj(structure) ? structure.jsonSchema : undefined;
    if (!isObj(format) || format.type !== 'json_schema' || !isObj(jsonSchema))
      problems.push('outputConfig.textFormat must be a json_schema format');
    else if (typeof jsonSchema.schema !== 'string' || !isObj(JSON.parse(jsonSchema.schema)))
      problems.push('outputConfig.textFormat.structure.jsonSchema.schema must be a JSON object as a string');
  }
  return problems;
}

describe('Bedrock translator, any Chat Completions request', () => {
  it('translates every generated request to a structurally valid Converse request', async () => {
    await fc.assert(
      fc.asyncProperty(chatRequest, async (body) => {
        const out = await translate(body);
        expect(out.path).toMatch(/\/model\/[^/]+\/converse(-stream)?$/);
        expect(converseProblems(sent(out))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('turns every cache breakpoint of any request into a cachePoint, in a structurally valid Converse request', async () => {
    await fc.assert(
      fc.asyncProperty(cachedChatRequest, async ({ body }) => {
        const out = sent(await translate(body));
        expect(converseProblems(out)).toEqual([]);
        // Tools marked for a request that sends no toolConfig (tool_choice "none") have no checkpoint.
        const sentTools = out.toolConfig !== undefined;
        const expected =
          JSON.stringify(body.messages).split('"cache_control"').length -
          1 +
          (sentTools ? JSON.stringify(body.tools ?? []).split('"cache_control"').length - 1 : 0);
        expect(JSON.stringify(out).split('"cachePoint"').length - 1).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('finds the problems the checker is meant to find', () => {
    expect(
      converseProblems({
        messages: [
          { role: 'assistant', content: [{ text: '' }] },
          { role: 'assistant', content: [{ toolResult: { toolUseId: 'nope', content: [] } }] },
        ],
        system: [{ cachePoint: { type: 'default' } }, { text: 's' }, { cachePoint: { type: 'ephemeral' } }],
      }),
    ).toEqual([
      'messages[0].role is assistant, not user',
      'messages[0].content[0].text is not a non-empty string',
      'messages[1].content[0]: toolResult outside a user message',
      'messages[1].content[0].toolResult.toolUseId matches no earlier toolUse',
      'system[0] is a cachePoint with nothing before it',
      'system[2].cachePoint is not a CachePointBlock',
      'toolUse/toolResult blocks without a toolConfig',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------

const context = (overrides: Partial<ResponseContext> = {}): ResponseContext => ({
  operation: 'chat.completions',
  model: MODEL,
  stream: false,
  includeUsage: false,
  ...overrides,
});

const completionOf = (name: string) =>
  JSON.parse(bedrockTranslator.responseBody(fixture(name), context()).toString()) as Record<string, unknown>;

describe('Bedrock translator, buffered responses', () => {
  it('converts a text answer to a chat.completion with the request’s model and usage', () => {
    expect(completionOf('converse-response.text.json')).toEqual({
      id: expect.stringMatching(/^chatcmpl-/) as string,
      object: 'chat.completion',
      created: expect.any(Number) as number,
      model: MODEL,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Paris is warmer: 18°C and sunny, against 4°C and rain in Oslo.',
            refusal: null,
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 125, completion_tokens: 21, total_tokens: 146 },
    });
  });

  it('returns Claude’s reasoning text as reasoning_content, leaving redacted reasoning out', () => {
    const completion = completionOf('converse-response.reasoning.json') as {
      choices: { message: Record<string, unknown> }[];
    };
    expect(completion.choices[0]!.message).toEqual({
      role: 'assistant',
      content: '51',
      refusal: null,
      reasoning_content: 'The user asks for 17 × 3. 17 × 3 = 51.',
    });
  });

  it('converts toolUse blocks to tool_calls, with cache reads counted as cached prompt tokens', () => {
    const completion = completionOf('converse-response.tool-use.json');
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'Checking both cities.',
          refusal: null,
          tool_calls: [
            {
              id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'tooluse_Qm9zdG9uV2VhdGhlcjEy',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ]);
    expect(completion.usage).toEqual({
      prompt_tokens: 510,
      completion_tokens: 64,
      total_tokens: 574,
      prompt_tokens_details: { cached_tokens: 200 },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['content_filtered', 'content_filter'],
    ['guardrail_intervened', 'content_filter'],
  ])('maps stopReason %s to finish_reason %s', (stopReason, finish) => {
    const body = Buffer.from(
      JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason }),
    );
    const out = JSON.parse(bedrockTranslator.responseBody(body, context()).toString());
    expect(out.choices[0].finish_reason).toBe(finish);
  });

  it('answers 502 when the body is not JSON', () => {
    expect(() => bedrockTranslator.responseBody(Buffer.from('<html>'), context())).toThrow(AgentRouterError);
  });

  it('sets the SSE content type for streams only', () => {
    const head = { get: () => undefined } as never;
    expect(bedrockTranslator.responseHeaders!(head, context({ stream: true }))).toEqual({
      setHeaders: [['content-type', 'text/event-stream']],
    });
    expect(bedrockTranslator.responseHeaders!(head, context())).toEqual({});
    expect(bedrockTranslator.requestIdHeader).toBe('x-amzn-requestid');
  });
});

// ---------------------------------------------------------------------------------------------------

const IDENTITY = { id: 'chatcmpl-test', created: 1_700_000_000 };

function runStream(parts: readonly Buffer[], overrides: Partial<ResponseContext> = {}): string {
  const stream = new BedrockStream(context({ stream: true, ...overrides }), IDENTITY);
  const out = parts.map((p, i) => stream.chunk(p, i === parts.length - 1));
  return Buffer.concat(out).toString();
}

function events(sse: string): unknown[] {
  return sse
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      const data = e.slice('data: '.length);
      return data === '[DONE]' ? '[DONE]' : JSON.parse(data);
    });
}

const chunk = (delta: object, finish: string | null = null) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: MODEL,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});

const RECORDED = [
  'converse-stream.text.bin',
  'converse-stream.tool-use.bin',
  'converse-stream.throttling.bin',
];

describe('Bedrock translator, streams', () => {
  it('reads recordings that are exactly the encoder’s output for the documented events', () => {
    for (const [file, recorded] of Object.entries(RECORDINGS))
      expect(fixture(file)).toEqual(encodeEvents(recorded));
  });

  it('converts a text stream to role, content, finish and usage chunks, then [DONE]', () => {
    expect(events(runStream([fixture('converse-stream.text.bin')], { includeUsage: true }))).toEqual([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hello' }),
      chunk({ content: ' from Bedrock!' }),
      chunk({}, 'stop'),
      {
        id: 'chatcmpl-test',
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model: MODEL,
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      },
      '[DONE]',
    ]);
  });

  it('streams Claude’s reasoning deltas as reasoning_content before the answer', () => {
    expect(events(runStream([fixture('converse-stream.reasoning.bin')]))).toEqual([
      chunk({ role: 'assistant', content: '' }),
      chunk({ reasoning_content: 'The user asks for 17 × 3. ' }),
      chunk({ reasoning_content: '17 × 3 = 51.' }),
      chunk({ content: '51' }),
      chunk({}, 'stop'),
      '[DONE]',
    ]);
  });

  it('streams tool calls with index, id and name first, then argument fragments', () => {
    const out = events(runStream([fixture('converse-stream.tool-use.bin')]));
    expect(out).toEqual([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Checking both cities.' }),
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
            type: 'function',
            function: { name: 'get_weather', arguments: '' },
          },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({
        tool_calls: [
          {
            index: 1,
            id: 'tooluse_Qm9zdG9uV2VhdGhlcjEy',
            type: 'function',
            function: { name: 'get_weather', arguments: '' },
          },
        ],
      }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"city": "Oslo"}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
  });

  it('turns an exception message into an OpenAI error event and ends the stream', () => {
    const bytes = Buffer.concat([
      fixture('converse-stream.throttling.bin'),
      encodeEvents([
        { event: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'late' } } },
      ]),
    ]);
    expect(events(runStream([bytes]))).toEqual([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Partial' }),
      {
        error: {
          message: 'Too many tokens, please wait before trying again.',
          type: 'rate_limit_error',
          param: null,
          code: 'ThrottlingException',
        },
      },
      '[DONE]',
    ]);
  });

  it('counts cache writes as prompt tokens and cache reads as cached tokens, buffered and streamed', () => {
    // TokenUsage (API_runtime_TokenUsage.html): inputTokens excludes what was read from or written to
    // the cache; OpenAI's prompt_tokens includes it.
    const usage = {
      inputTokens: 22,
      outputTokens: 31,
      totalTokens: 22 + 31 + 1800 + 256,
      cacheReadInputTokens: 1800,
      cacheWriteInputTokens: 256,
    };
    const expected = {
      prompt_tokens: 22 + 1800 + 256,
      completion_tokens: 31,
      total_tokens: 22 + 1800 + 256 + 31,
      prompt_tokens_details: { cached_tokens: 1800 },
    };
    const buffered = Buffer.from(
      JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: 'Covered by the warranty.' }] } },
        stopReason: 'end_turn',
        usage,
        metrics: { latencyMs: 612 },
      }),
    );
    expect(JSON.parse(bedrockTranslator.responseBody(buffered, context()).toString()).usage).toEqual(
      expected,
    );
    const streamed = encodeEvents([
      { event: 'messageStart', payload: { role: 'assistant' } },
      { event: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'Covered.' } } },
      { event: 'contentBlockStop', payload: { contentBlockIndex: 0 } },
      { event: 'messageStop', payload: { stopReason: 'end_turn' } },
      { event: 'metadata', payload: { usage, metrics: { latencyMs: 612 } } },
    ]);
    const out = events(runStream([streamed], { includeUsage: true }));
    expect(out.at(-2)).toMatchObject({ choices: [], usage: expected });
  });

  it('reports a corrupted message (bad CRC) and a stream cut inside a message as errors', () => {
    const corrupted = Buffer.from(fixture('converse-stream.text.bin'));
    corrupted[20] = corrupted[20]! ^ 0xff;
    const corruptedOut = events(runStream([corrupted]));
    expect(corruptedOut.at(-2)).toMatchObject({
      error: { type: 'api_error', code: 'ModelStreamErrorException' },
    });
    expect(corruptedOut.at(-1)).toBe('[DONE]');

    const text = fixture('converse-stream.text.bin');
    const truncated = events(runStream([text.subarray(0, text.length - 7)]));
    expect(truncated.at(-2)).toMatchObject({ error: { message: expect.stringContaining('ended inside') } });
    expect(truncated.at(-1)).toBe('[DONE]');
  });

  it('gives identical output however the bytes are split', () => {
    const recordings = RECORDED.map((name) => fixture(name));
    fc.assert(
      fc.property(fc.constantFrom(...recordings.keys()), cuts, fc.boolean(), (which, at, includeUsage) => {
        const bytes = recordings[which]!;
        expect(runStream(splitAt(bytes, at), { includeUsage })).toBe(runStream([bytes], { includeUsage }));
      }),
      { numRuns: 300 },
    );
  });

  it('splits one byte at a time, with an empty final chunk, the same as whole', () => {
    const bytes = fixture('converse-stream.tool-use.bin');
    const bytewise = [...bytes].map((b) => Buffer.from([b]));
    expect(runStream([...bytewise, Buffer.alloc(0)])).toBe(runStream([bytes]));
  });

  it('creates its stream converter from the translator for stream contexts', () => {
    const stream = bedrockTranslator.createStream(context({ stream: true }));
    const out = stream.chunk(encodeEvents(THROTTLED_STREAM), true)!.toString();
    expect(out).toContain('"code":"ThrottlingException"');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('Bedrock translator, errors', () => {
  it.each([
    [400, 'ValidationException', 'invalid_request_error'],
    [403, 'AccessDeniedException', 'permission_error'],
    [404, 'ResourceNotFoundException', 'not_found_error'],
    [408, 'ModelTimeoutException', 'timeout_error'],
    [429, 'ThrottlingException', 'rate_limit_error'],
    [500, 'InternalServerException', 'api_error'],
    [503, 'ServiceUnavailableException', 'api_error'],
  ])('maps HTTP %i to %s with OpenAI type %s', (status, code, type) => {
    expect(bedrockTranslator.error(status, fixture('error.throttling.json'))).toEqual({
      error: { message: 'Too many requests, please wait before trying again.', type, param: null, code },
    });
  });

  it('prefers a __type named in the body, without namespace or URL suffix', () => {
    const body = Buffer.from(
      JSON.stringify({
        __type: 'com.amazonaws.bedrockruntime#ModelNotReadyException:http://internal.amazon.com/coral/',
        message: 'Model is warming up',
      }),
    );
    expect(bedrockTranslator.error(429, body).error).toMatchObject({
      code: 'ModelNotReadyException',
      type: 'rate_limit_error',
      message: 'Model is warming up',
    });
  });

  it('wraps a body that is not Bedrock’s JSON', () => {
    expect(bedrockTranslator.error(502, Buffer.from('<html>Bad Gateway</html>')).error).toEqual({
      message: 'Bedrock returned HTTP 502: <html>Bad Gateway</html>',
      type: 'api_error',
      param: null,
      code: 'upstream_502',
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('Bedrock translator, embeddings', () => {
  const embed = (input: unknown, model: string, extra: object = {}) =>
    translate({ model: 'embed-model', input, ...extra }, { operation: 'embeddings', model });

  it('invokes Titan Text Embeddings with one inputText (a one-element array too)', async () => {
    const out = await embed('hello world', 'amazon.titan-embed-text-v2:0', { dimensions: 256 });
    expect(out.path).toBe('/model/amazon.titan-embed-text-v2%3A0/invoke');
    expect(sent(out)).toEqual({ inputText: 'hello world', dimensions: 256 });
    expect(sent(await embed(['only one'], 'amazon.titan-embed-text-v1'))).toEqual({ inputText: 'only one' });
    expect(headersOf(out).authorization).toContain('/us-east-1/bedrock/aws4_request');
  });

  it('refuses several texts for Titan, which embeds one per call, and says what to do', async () => {
    const error = await rejection(embed(['a', 'b'], 'amazon.titan-embed-text-v2:0'));
    expect(error.status).toBe(400);
    expect(error.param).toBe('input');
    expect(error.message).toContain('one text per request');
  });

  it('invokes Cohere Embed with all texts as search documents', async () => {
    const out = await embed(['first document', 'second document'], 'cohere.embed-english-v3');
    expect(out.path).toBe('/model/cohere.embed-english-v3/invoke');
    expect(sent(out)).toEqual({
      texts: ['first document', 'second document'],
      input_type: 'search_document',
    });
    expect(sent(await embed('x', 'us.cohere.embed-v4:0'))).toEqual({
      texts: ['x'],
      input_type: 'search_document',
    });
  });

  it('refuses models of other schemas and token input', async () => {
    expect((await rejection(embed('x', 'anthropic.claude-3-haiku-20240307-v1:0'))).param).toBe('model');
    expect((await rejection(embed([1, 2, 3], 'cohere.embed-english-v3'))).param).toBe('input');
  });

  it('converts Titan and Cohere answers to an OpenAI embedding list', () => {
    const ctx = context({ operation: 'embeddings', model: 'amazon.titan-embed-text-v2:0' });
    expect(
      JSON.parse(bedrockTranslator.responseBody(fixture('titan-embed-response.json'), ctx).toString()),
    ).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.0123, -0.0456, 0.0789, 0.25] }],
      model: 'amazon.titan-embed-text-v2:0',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
    const cohere = JSON.parse(
      bedrockTranslator
        .responseBody(fixture('cohere-embed-response.json'), { ...ctx, model: 'cohere.embed-english-v3' })
        .toString(),
    );
    expect(cohere.data).toEqual([
      { object: 'embedding', index: 0, embedding: [0.011, -0.022, 0.033] },
      { object: 'embedding', index: 1, embedding: [-0.044, 0.055, -0.066] },
    ]);
  });

  it('encodes vectors as base64 float32 when the context says the client asked for it', () => {
    const ctx = { ...context({ operation: 'embeddings' }), encodingFormat: 'base64' } as ResponseContext;
    const out = JSON.parse(
      bedrockTranslator.responseBody(fixture('titan-embed-response.json'), ctx).toString(),
    );
    const bytes = Buffer.from(out.data[0].embedding, 'base64');
    const floats = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    expect(floats).toEqual([0.0123, -0.0456, 0.0789, 0.25].map(Math.fround));
  });
});
