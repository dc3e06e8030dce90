/**
 * Azure OpenAI and Mistral round trips through the real stack (ext-proc + dev gateway over loopback gRPC),
 * driven by the official OpenAI SDK, with the providers' servers replaced by fakes answering fixture bytes
 * in their documented shapes: what each provider receives (path, query, auth, body) and what the SDK sees.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azureChatCompletion,
  azureChatStream,
  azureContentFilterError,
  azureEmbeddings,
} from '../fixtures/azure-openai/fixtures.ts';
import {
  mistralChatCompletion,
  mistralChatStream,
  mistralEmbeddingsBase64,
  mistralToolCallCompletion,
  mistralValidationError,
} from '../fixtures/mistral/fixtures.ts';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const GATEWAY_KEY = 'sk-test-team-a';
const AZURE_KEY = 'azure-provider-key';
const MISTRAL_KEY = 'mistral-provider-key';
const SSE = { 'content-type': 'text/event-stream' };

let t: TestStack;
let azure: FakeProvider;
let mistral: FakeProvider;

function azureBackend(name: string, url: string, apiVersion?: string): string {
  return `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: ${name} }
spec:
  provider: AzureOpenAI
  baseURL: ${url}
${apiVersion ? `  apiVersion: "${apiVersion}"\n` : ''}  credentials: { secretRef: { name: provider-keys, key: azure } }
`;
}

beforeAll(async () => {
  azure = await startFakeProvider();
  mistral = await startFakeProvider();
  t = await startTestStack({}, () =>
    [
      COMMON_YAML,
      `
---
apiVersion: v1
kind: Secret
metadata: { name: provider-keys }
stringData:
  azure: ${AZURE_KEY}
  mistral: ${MISTRAL_KEY}
`,
      azureBackend('azure', azure.url),
      azureBackend('azure-preview', azure.url, '2025-04-01-preview'),
      azureBackend('azure-v1', `${azure.url}/`, 'v1'),
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: mistral }
spec:
  provider: Mistral
  baseURL: ${mistral.url}/v1
  credentials: { secretRef: { name: provider-keys, key: mistral } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: azure-chat, model: azure-chat, backendRef: { name: azure }, modelNameOverride: gpt-4o-prod }
    - { name: azure-preview, model: azure-preview, backendRef: { name: azure-preview }, modelNameOverride: gpt-4o-preview }
    - { name: azure-v1, model: azure-v1, backendRef: { name: azure-v1 }, modelNameOverride: gpt-4o-v1 }
    - { name: azure-embed, model: azure-embed, backendRef: { name: azure }, modelNameOverride: embed-prod }
    - { name: mistral-chat, model: mistral-chat, backendRef: { name: mistral }, modelNameOverride: mistral-small-latest }
    - { name: mistral-embed, model: mistral-embed, backendRef: { name: mistral }, modelNameOverride: mistral-embed }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await azure?.close();
  await mistral?.close();
});

const last = (fake: FakeProvider): RecordedRequest => fake.requests.at(-1)!;
const bodyOf = (r: RecordedRequest) => JSON.parse(r.body.toString()) as Record<string, unknown>;

/** The gateway key and the gateway's internal headers never reach a provider. */
function expectNoGatewaySecrets(r: RecordedRequest): void {
  for (const [name, value] of Object.entries(r.headers)) {
    expect(name.startsWith('x-agent-router-'), name).toBe(false);
    expect(String(value)).not.toContain(GATEWAY_KEY);
  }
}

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage };
}

describe('Azure OpenAI through the gateway', () => {
  it('sends a chat completion to the deployment with api-key and the default api-version', async () => {
    azure.answer({
      headers: {
        'content-type': 'application/json',
        'apim-request-id': 'b5d3f1a2-9c8e-4f7a-8b6d-2e1c0f9a8b7c',
      },
      body: azureChatCompletion,
    });
    const { data, response } = await t
      .client()
      .chat.completions.create({
        model: 'azure-chat',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 8,
      })
      .withResponse();
    const received = last(azure);
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21');
    expect(received.headers['api-key']).toBe(AZURE_KEY);
    expect(received.headers.authorization).toBeUndefined();
    expectNoGatewaySecrets(received);
    expect(bodyOf(received)).toEqual({
      model: 'gpt-4o-prod',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 8,
    });
    expect(data.choices[0]!.message.content).toBe('Bonjour from Azure.');
    expect(data.usage?.total_tokens).toBe(17);
    expect(response.headers.get('x-agent-router-provider-request-id')).toBe(
      'b5d3f1a2-9c8e-4f7a-8b6d-2e1c0f9a8b7c',
    );
    expect(response.headers.get('x-agent-router-resolved-model')).toBe('gpt-4o-prod');
  });

  it('uses the backend’s api-version, and the v1 path (model in the body) for apiVersion v1', async () => {
    azure.answer({ body: azureChatCompletion });
    const ask = (model: string) =>
      t.client().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    await ask('azure-preview');
    expect(last(azure).path).toBe(
      '/openai/deployments/gpt-4o-preview/chat/completions?api-version=2025-04-01-preview',
    );
    await ask('azure-v1');
    expect(last(azure).path).toBe('/openai/v1/chat/completions');
    expect(bodyOf(last(azure)).model).toBe('gpt-4o-v1');
    expect(last(azure).headers['api-key']).toBe(AZURE_KEY);
  });

  it('streams Azure’s SSE, prompt-filter chunk included, to the SDK unchanged', async () => {
    azure.answer({ headers: SSE, body: azureChatStream });
    const stream = await t.client().chat.completions.create({
      model: 'azure-chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, usage } = await collect(stream);
    expect(text).toBe('Bonjour from Azure.');
    expect(usage?.total_tokens).toBe(15);
    expect(bodyOf(last(azure))).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('creates embeddings at the embedding deployment', async () => {
    azure.answer({ body: azureEmbeddings });
    const result = await t
      .client()
      .embeddings.create({ model: 'azure-embed', input: 'hello', encoding_format: 'float' });
    expect(last(azure).path).toBe('/openai/deployments/embed-prod/embeddings?api-version=2024-10-21');
    expect(bodyOf(last(azure))).toEqual({ model: 'embed-prod', input: 'hello', encoding_format: 'float' });
    expect(result.data[0]!.embedding).toEqual([0.0023064255, -0.009327292, -0.0028842222]);
  });

  it('passes a content-filter 400 to the SDK with Azure’s message and code', async () => {
    azure.answer({ status: 400, body: azureContentFilterError });
    const error = await t
      .client()
      .chat.completions.create({ model: 'azure-chat', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(apiError.code).toBe('content_filter');
    expect(apiError.param).toBe('prompt');
    expect(apiError.message).toContain('content management policy');
    // Azure's innererror says which category fired; the SDK keeps the whole error object.
    expect(apiError.error).toMatchObject({
      status: 400,
      innererror: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_result: { hate: { filtered: true, severity: 'high' } },
      },
    });
  });
});

describe('Mistral through the gateway', () => {
  it('sends Mistral’s field names with a bearer key and returns its answer', async () => {
    mistral.answer({
      headers: {
        'content-type': 'application/json',
        'mistral-correlation-id': '0199f3c2-5a1b-7c3d-9e8f-1a2b3c4d5e6f',
      },
      body: mistralToolCallCompletion,
    });
    const { data, response } = await t
      .client()
      .chat.completions.create({
        model: 'mistral-chat',
        messages: [
          { role: 'developer', content: 'Use tools.' },
          { role: 'user', content: 'Weather in Paris?', name: 'alice' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
        ],
        tool_choice: 'required',
        max_completion_tokens: 64,
        seed: 42,
        user: 'alice@example.com',
      })
      .withResponse();
    const received = last(mistral);
    expect(received.path).toBe('/v1/chat/completions');
    expect(received.headers.authorization).toBe(`Bearer ${MISTRAL_KEY}`);
    expect(received.headers['api-key']).toBeUndefined();
    expectNoGatewaySecrets(received);
    expect(bodyOf(received)).toEqual({
      model: 'mistral-small-latest',
      messages: [
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
      ],
      tool_choice: 'any',
      max_tokens: 64,
      random_seed: 42,
    });
    expect(data.choices[0]!.message.tool_calls?.[0]).toMatchObject({
      id: 'D681PevKs',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
    });
    expect(response.headers.get('x-agent-router-provider-request-id')).toBe(
      '0199f3c2-5a1b-7c3d-9e8f-1a2b3c4d5e6f',
    );
  });

  it('sends a plain request as the client wrote it, with only the model changed', async () => {
    mistral.answer({ body: mistralChatCompletion });
    const data = await t.client().chat.completions.create({
      model: 'mistral-chat',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.3,
      n: 1,
      response_format: { type: 'json_object' },
    });
    expect(bodyOf(last(mistral))).toEqual({
      model: 'mistral-small-latest',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.3,
      n: 1,
      response_format: { type: 'json_object' },
    });
    expect(data.choices[0]!.message.content).toBe('Bonjour from Mistral.');
  });

  it('streams without stream_options, which Mistral rejects, and relays the usage Mistral sends anyway', async () => {
    mistral.answer({ headers: SSE, body: mistralChatStream });
    const stream = await t.client().chat.completions.create({
      model: 'mistral-chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, usage } = await collect(stream);
    expect(bodyOf(last(mistral))).toEqual({
      model: 'mistral-small-latest',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    expect(text).toBe('Bonjour from Mistral.');
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
  });

  it('creates embeddings, in the base64 encoding the SDK asks for by default', async () => {
    mistral.answer({ body: mistralEmbeddingsBase64 });
    const result = await t
      .client()
      .embeddings.create({ model: 'mistral-embed', input: ['hello'], dimensions: 3 });
    expect(last(mistral).path).toBe('/v1/embeddings');
    expect(bodyOf(last(mistral))).toEqual({
      model: 'mistral-embed',
      input: ['hello'],
      output_dimension: 3,
      encoding_format: 'base64',
    });
    expect(Array.from(result.data[0]!.embedding)).toEqual([0.5, -0.25, 1]);
  });

  it('gives the SDK a readable OpenAI error for Mistral’s 422 validation detail', async () => {
    mistral.answer({ status: 422, body: mistralValidationError });
    const error = await t
      .client()
      .chat.completions.create({ model: 'mistral-chat', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((error as Error).message).toContain('messages.0.user.name: Extra inputs are not permitted');
  });
});
