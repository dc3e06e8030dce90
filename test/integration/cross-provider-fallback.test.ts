/**
 * Fallback across provider types: when the primary (Azure OpenAI) refuses connections, fails, rate-limits
 * or does not answer in time, the next priority (Mistral) serves the request — translated for Mistral, with
 * Mistral's path, auth header, credentials and model — and the SDK sees an ordinary answer. Also
 * bring-your-own-key: a caller's own provider key replaces the backend's, per backend and per attempt.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureChatCompletion, azureRateLimitError } from '../fixtures/azure-openai/fixtures.ts';
import { mistralChatCompletion } from '../fixtures/mistral/fixtures.ts';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { attemptsOf, COMMON_YAML, refusedPort, startTestStack, type TestStack } from '../helpers/stack.ts';

const AZURE_KEY = 'azure-provider-key';
const MISTRAL_KEY = 'mistral-provider-key';
const BYO_AZURE_KEY = 'caller-own-azure-key';
const BYO_MISTRAL_KEY = 'caller-own-mistral-key';
const TEAM_BYO = 'sk-test-team-byo';
const TEAM_SLOW = 'sk-test-team-slow';

/** A provider that accepts connections and requests but never answers them. */
interface SilentProvider {
  url: string;
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function startSilentProvider(): Promise<SilentProvider> {
  const requests: SilentProvider['requests'] = [];
  const server = http.createServer((req) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestStack;
let azure: FakeProvider;
let mistral: FakeProvider;
let silent: SilentProvider;

function backend(name: string, provider: string, baseURL: string, key: string): string {
  return `
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: ${name} }
spec:
  provider: ${provider}
  baseURL: ${baseURL}
  credentials: { secretRef: { name: provider-keys, key: ${key} } }
`;
}

beforeAll(async () => {
  azure = await startFakeProvider();
  mistral = await startFakeProvider();
  silent = await startSilentProvider();
  const dead = await refusedPort();
  t = await startTestStack({ 'mistral-sim': { apiKey: MISTRAL_KEY } }, (urls) =>
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
  byo-azure: ${BYO_AZURE_KEY}
  byo-mistral: ${BYO_MISTRAL_KEY}
  team-byo: ${TEAM_BYO}
  team-slow: ${TEAM_SLOW}
`,
      backend('azure', 'AzureOpenAI', azure.url, 'azure'),
      backend('azure-dead', 'AzureOpenAI', `http://127.0.0.1:${dead}`, 'azure'),
      backend('azure-silent', 'AzureOpenAI', silent.url, 'azure'),
      backend('mistral', 'Mistral', `${mistral.url}/v1`, 'mistral'),
      backend('mistral-sim', 'Mistral', `${urls['mistral-sim']}/v1`, 'mistral'),
      `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  fallback: { attempts: 2, perAttemptTimeout: 10s }
  routes:
    - { name: refused-azure, model: refused-model, backendRef: { name: azure-dead }, modelNameOverride: gpt-4o-dead }
    - { name: refused-mistral, model: refused-model, backendRef: { name: mistral }, modelNameOverride: mistral-large-latest, priority: 1 }
    - { name: failing-azure, model: failing-model, backendRef: { name: azure }, modelNameOverride: gpt-4o-prod }
    - { name: failing-mistral, model: failing-model, backendRef: { name: mistral }, modelNameOverride: mistral-small-latest, priority: 1 }
    - { name: reverse-mistral, model: reverse-model, backendRef: { name: mistral }, modelNameOverride: mistral-medium-latest }
    - { name: reverse-azure, model: reverse-model, backendRef: { name: azure }, modelNameOverride: gpt-4o-backup, priority: 1 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: slow }
spec:
  fallback: { attempts: 2, perAttemptTimeout: 300ms }
  routes:
    - { name: silent-azure, model: silent-model, backendRef: { name: azure-silent }, modelNameOverride: gpt-4o-silent }
    - { name: silent-mistral, model: silent-model, backendRef: { name: mistral-sim }, modelNameOverride: open-mistral-nemo, priority: 1 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-slow }
spec:
  secretRef: { name: provider-keys, key: team-slow }
  routeConfigRef: { name: slow }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-byo }
spec:
  secretRef: { name: provider-keys, key: team-byo }
  routeConfigRef: { name: main }
  providerCredentials:
    - { backendRef: { name: azure }, secretRef: { name: provider-keys, key: byo-azure } }
    - { backendRef: { name: mistral }, secretRef: { name: provider-keys, key: byo-mistral } }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await azure?.close();
  await mistral?.close();
  await silent?.close();
});

async function call(model: string, apiKey?: string) {
  return t
    .client(apiKey)
    .chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 16,
    })
    .withResponse();
}

const requestsSince = (fake: FakeProvider, before: number): RecordedRequest[] => fake.requests.slice(before);
const bodyOf = (r: RecordedRequest) => JSON.parse(r.body.toString()) as Record<string, unknown>;

/** What Mistral must receive for `call()`: its path, its key as a bearer token, its model and field names. */
function expectMistralRequest(r: RecordedRequest, model: string, key = MISTRAL_KEY): void {
  expect(r.path).toBe('/v1/chat/completions');
  expect(r.headers.authorization).toBe(`Bearer ${key}`);
  expect(r.headers['api-key']).toBeUndefined();
  expect(bodyOf(r)).toEqual({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 });
}

describe('fallback from Azure OpenAI to Mistral', () => {
  it('serves from Mistral when Azure refuses connections', async () => {
    mistral.answer({ body: mistralChatCompletion });
    const before = mistral.requests.length;
    const { data, response } = await call('refused-model');
    expect(data.choices[0]!.message.content).toBe('Bonjour from Mistral.');
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
    const [received] = requestsSince(mistral, before);
    expectMistralRequest(received!, 'mistral-large-latest');
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      backend: 'default/mistral',
      resolvedModel: 'mistral-large-latest',
      status: 200,
    });
  });

  it.each([
    [
      500,
      '{"error":{"code":"InternalServerError","message":"The server had an error processing your request."}}',
    ],
    [429, azureRateLimitError],
  ])(
    'serves from Mistral when Azure answers %i, translating each attempt for its provider',
    async (status, body) => {
      azure.answer({ status, body });
      mistral.answer({ body: mistralChatCompletion });
      const [azureBefore, mistralBefore] = [azure.requests.length, mistral.requests.length];
      const { data, response } = await call('failing-model');
      expect(data.choices[0]!.message.content).toBe('Bonjour from Mistral.');
      expect(response.headers.get('x-agent-router-attempt')).toBe('2');
      expect(response.headers.get('x-agent-router-backend')).toBe('default/mistral');

      const [first] = requestsSince(azure, azureBefore);
      expect(first!.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21');
      expect(first!.headers['api-key']).toBe(AZURE_KEY);
      expect(first!.headers.authorization).toBeUndefined();
      expect(bodyOf(first!)).toMatchObject({ model: 'gpt-4o-prod', max_completion_tokens: 16 });
      const [second] = requestsSince(mistral, mistralBefore);
      expectMistralRequest(second!, 'mistral-small-latest');

      expect(await t.logFor(response)).toMatchObject({
        attempts: attemptsOf(2),
        logicalModel: 'failing-model',
        resolvedModel: 'mistral-small-latest',
      });
    },
  );

  it('serves from the next provider when Azure does not answer within the per-attempt timeout', async () => {
    const before = silent.requests.length;
    const { data, response } = await call('silent-model', TEAM_SLOW);
    // The simulated server behind the Mistral backend checks the bearer key and echoes the model it was asked for.
    expect(data.model).toBe('open-mistral-nemo');
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
    const [unanswered] = silent.requests.slice(before);
    expect(unanswered!.path).toBe(
      '/openai/deployments/gpt-4o-silent/chat/completions?api-version=2024-10-21',
    );
    expect(unanswered!.headers['api-key']).toBe(AZURE_KEY);
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      backend: 'default/mistral-sim',
      resolvedModel: 'open-mistral-nemo',
    });
  });
});

describe('fallback from Mistral to Azure OpenAI', () => {
  it('serves from Azure with api-key and the deployment path when Mistral answers 503', async () => {
    mistral.answer({
      status: 503,
      body: '{"object":"error","message":"Service unavailable.","type":"internal_error"}',
    });
    azure.answer({ body: azureChatCompletion });
    const [azureBefore, mistralBefore] = [azure.requests.length, mistral.requests.length];
    const { data, response } = await call('reverse-model');
    expect(data.choices[0]!.message.content).toBe('Bonjour from Azure.');
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
    expectMistralRequest(requestsSince(mistral, mistralBefore)[0]!, 'mistral-medium-latest');
    const [second] = requestsSince(azure, azureBefore);
    expect(second!.path).toBe('/openai/deployments/gpt-4o-backup/chat/completions?api-version=2024-10-21');
    expect(second!.headers['api-key']).toBe(AZURE_KEY);
    expect(second!.headers.authorization).toBeUndefined();
    expect(bodyOf(second!)).toEqual({
      model: 'gpt-4o-backup',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 16,
    });
    expect(await t.logFor(response)).toMatchObject({
      attempts: attemptsOf(2),
      resolvedModel: 'gpt-4o-backup',
    });
  });
});

describe('bring-your-own-key', () => {
  it('sends the caller’s own key to each provider it has one for, attempt by attempt', async () => {
    azure.answer({ status: 500, body: '{"error":{"code":"InternalServerError","message":"boom"}}' });
    mistral.answer({ body: mistralChatCompletion });
    const [azureBefore, mistralBefore] = [azure.requests.length, mistral.requests.length];
    const { response } = await call('failing-model', TEAM_BYO);
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
    const [first] = requestsSince(azure, azureBefore);
    expect(first!.headers['api-key']).toBe(BYO_AZURE_KEY);
    expect(first!.headers.authorization).toBeUndefined();
    expectMistralRequest(requestsSince(mistral, mistralBefore)[0]!, 'mistral-small-latest', BYO_MISTRAL_KEY);
    for (const r of [first!, ...requestsSince(mistral, mistralBefore)]) {
      expect(JSON.stringify(r.headers)).not.toContain(TEAM_BYO);
    }
  });

  it('sends the backend’s key for a caller without one of their own', async () => {
    azure.answer({ body: azureChatCompletion });
    const before = azure.requests.length;
    const { data } = await call('failing-model');
    expect(data.choices[0]!.message.content).toBe('Bonjour from Azure.');
    const [received] = requestsSince(azure, before);
    expect(received!.headers['api-key']).toBe(AZURE_KEY);
  });
});
