/**
 * A provider that refuses the credential the gateway injected, and quotes it back (the whole key, the
 * whole `Bearer <key>`, in the body and in a header), through the real stack with the official openai
 * SDK: the client gets 502 `provider_auth_error` — never its own key's 401 — and no byte of the key
 * in the status, headers or body, buffered or streaming, nor in any log line. The gateway's fallback
 * treats the refusal like any 5xx.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, type RecordedRequest, startFakeProvider } from '../helpers/fake-provider.ts';
import { attemptsOf, backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

const TEAM_A = 'sk-test-team-a';
const TEAM_BYOK = 'sk-test-team-byok';
const TEAM_STRICT = 'sk-test-team-strict';
const COMPAT_KEY = 'sk-proj-Z3xQ9vLm2Rt7Wp4Ks8Nd1Hy6Fb0Jc5Ga';
const ANTHROPIC_KEY = 'sk-ant-api03-Q7mK2xV9pL4tR8wN1zH6cB3fJ5gD0sA-yE2uI7oP9qW4AA';
const AZURE_KEY = '3f9c2a7e5b1d4086a2c9e7f1b3d5a8c4';
const BYOK_KEY = 'sk-caller-own-R4tY8uI2oP6aS0dF3gH7jK1l';
const PROVIDER_KEYS = [COMPAT_KEY, ANTHROPIC_KEY, AZURE_KEY, BYOK_KEY];

/** Where each provider takes its key, and the header its request id comes back in. */
const AUTH = {
  compat: {
    header: 'authorization',
    requestId: 'x-request-id',
    bare: (v: string) => v.replace(/^Bearer /, ''),
  },
  anthropic: { header: 'x-api-key', requestId: 'request-id', bare: (v: string) => v },
  azure: { header: 'api-key', requestId: 'apim-request-id', bare: (v: string) => v },
} as const;

/** A fixture with the credential as received filled in: `{{key}}` the bare key, `{{header}}` the header. */
function echo(template: string, request: RecordedRequest, auth: (typeof AUTH)[keyof typeof AUTH]): string {
  const header = String(request.headers[auth.header] ?? '');
  return template.replaceAll('{{header}}', header).replaceAll('{{key}}', auth.bare(header));
}

let t: TestStack;
const fakes = {} as Record<keyof typeof AUTH, FakeProvider>;

function refuse(kind: keyof typeof AUTH, template: string): void {
  const auth = AUTH[kind];
  fakes[kind].answer((request) => ({
    status: 401,
    headers: {
      'content-type': 'application/json',
      [auth.requestId]: `req-${kind}-401`,
      // A server that echoes what it was sent in a header, too.
      'x-echo-credential': String(request.headers[auth.header] ?? ''),
    },
    body: echo(template, request, auth),
  }));
}

beforeAll(async () => {
  for (const kind of Object.keys(AUTH) as (keyof typeof AUTH)[]) fakes[kind] = await startFakeProvider();
  t = await startTestStack({ good: { apiKey: 'provider-secret' } }, (urls) =>
    [
      COMMON_YAML,
      backendYaml('good', urls.good!),
      `
---
apiVersion: v1
kind: Secret
metadata: { name: provider-keys }
stringData:
  compat: ${COMPAT_KEY}
  anthropic: ${ANTHROPIC_KEY}
  azure: ${AZURE_KEY}
  byok: ${BYOK_KEY}
  team-byok: ${TEAM_BYOK}
  team-strict: ${TEAM_STRICT}
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: compat }
spec:
  provider: OpenAICompatible
  baseURL: ${fakes.compat.url}/v1
  credentials: { secretRef: { name: provider-keys, key: compat } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: claude }
spec:
  provider: Anthropic
  baseURL: ${fakes.anthropic.url}
  credentials: { secretRef: { name: provider-keys, key: anthropic } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: azure }
spec:
  provider: AzureOpenAI
  baseURL: ${fakes.azure.url}
  credentials: { secretRef: { name: provider-keys, key: azure } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: compat, model: compat-model, backendRef: { name: compat }, modelNameOverride: gpt-4o-mini }
    - { name: claude, model: claude-model, backendRef: { name: claude }, modelNameOverride: claude-sonnet-4-5 }
    - { name: azure, model: azure-model, backendRef: { name: azure }, modelNameOverride: gpt-4o-prod }
    - { name: primary, model: fallback-model, backendRef: { name: compat }, modelNameOverride: gpt-4o-mini }
    - { name: backup, model: fallback-model, backendRef: { name: good }, modelNameOverride: backup-model, priority: 1 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: strict }
spec:
  fallback: { attempts: 2, retryOn: ['429'] }
  routes:
    - { name: primary, model: fallback-model, backendRef: { name: compat }, modelNameOverride: gpt-4o-mini }
    - { name: backup, model: fallback-model, backendRef: { name: good }, modelNameOverride: backup-model, priority: 1 }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-byok }
spec:
  secretRef: { name: provider-keys, key: team-byok }
  routeConfigRef: { name: main }
  providerCredentials:
    - { backendRef: { name: compat }, secretRef: { name: provider-keys, key: byok } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team-strict }
spec:
  secretRef: { name: provider-keys, key: team-strict }
  routeConfigRef: { name: strict }
`,
    ].join(''),
  );
});

afterAll(async () => {
  await t?.close();
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

/** The exchange as bytes: status line, every header and the body, as the client received them. */
async function exchange(model: string, apiKey: string, stream: boolean) {
  const response = await fetch(`${t.stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream }),
  });
  const body = await response.text();
  const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return { response, body, everything: `${response.status} ${response.statusText}\n${headers}\n\n${body}` };
}

function expectNoProviderKey(text: string): void {
  for (const key of PROVIDER_KEYS) expect(text).not.toContain(key);
}

const sdk = (apiKey: string) =>
  // The SDK's default retries, on purpose: a provider auth failure must not be retried by the client.
  new OpenAI({ baseURL: `${t.stack.gatewayUrl}/v1`, apiKey, maxRetries: 2 });

describe.each([false, true])('a provider 401 quoting the injected credential (stream: %s)', (stream) => {
  it.each([
    [
      'OpenAI-compatible (Authorization: Bearer)',
      'compat',
      'compat-model',
      TEAM_A,
      COMPAT_KEY,
      'default/compat',
    ],
    ['Anthropic (x-api-key)', 'anthropic', 'claude-model', TEAM_A, ANTHROPIC_KEY, 'default/claude'],
    ['Azure OpenAI (api-key)', 'azure', 'azure-model', TEAM_A, AZURE_KEY, 'default/azure'],
    [
      'a caller’s own key (providerCredentials)',
      'compat',
      'compat-model',
      TEAM_BYOK,
      BYOK_KEY,
      'default/compat',
    ],
  ] as const)(
    '%s: 502 provider_auth_error, the key nowhere',
    async (_label, kind, model, apiKey, key, backend) => {
      const template = {
        compat: 'openai/error.invalid-api-key.echo.json',
        anthropic: 'anthropic/response.error.authentication.echo.json',
        azure: 'azure-openai/error.unauthorized.echo.json',
      }[kind];
      refuse(kind, fixture(template));
      const before = fakes[kind].requests.length;

      const { response, body, everything } = await exchange(model, apiKey, stream);
      // The provider did receive the key, so there was something to quote.
      expect(JSON.stringify(fakes[kind].requests[before]!.headers)).toContain(key);
      expectNoProviderKey(everything);
      expect(response.status).toBe(502);
      expect(response.headers.get('x-should-retry')).toBe('false');
      expect(response.headers.get('x-agent-router-provider-request-id')).toBe(`req-${kind}-401`);
      expect(response.headers.get('x-echo-credential')).toContain('[redacted]');
      const error = (JSON.parse(body) as { error: Record<string, unknown> }).error;
      expect(error).toMatchObject({ type: 'api_error', code: 'provider_auth_error' });
      expect(error.message).toContain(`backend "${backend}" refused`);
      expect(error.message).toContain('[redacted]');
      expect(error.message).toContain(
        apiKey === TEAM_BYOK ? 'APIKey providerCredentials' : 'your API key was accepted',
      );

      const caught = await sdk(apiKey)
        .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream })
        .catch((e: unknown) => e);
      expect(caught).toBeInstanceOf(OpenAI.InternalServerError);
      expect(caught).toMatchObject({ status: 502, code: 'provider_auth_error', type: 'api_error' });
      expectNoProviderKey(String((caught as Error).message));
      // One request per call: the client did not retry, the route has one backend.
      expect(fakes[kind].requests.length - before).toBe(2);

      expect(await t.logFor(response)).toMatchObject({ status: 502, backend, attempts: attemptsOf(1) });
      expectNoProviderKey(t.lines.join('\n'));
    },
  );
});

describe('an error event inside a stream', () => {
  it('redacts a key that the provider’s error event quotes, split across two chunks', async () => {
    const sse = fixture('anthropic/stream.error.authentication.echo.sse').replaceAll(
      '{{key}}',
      ANTHROPIC_KEY,
    );
    const split = sse.indexOf(ANTHROPIC_KEY) + 20;
    fakes.anthropic.answer({
      headers: { 'content-type': 'text/event-stream', 'request-id': 'req-stream' },
      body: [sse.slice(0, split), sse.slice(split)],
    });
    const { response, body, everything } = await exchange('claude-model', TEAM_A, true);
    expect(response.status).toBe(200);
    expectNoProviderKey(everything);
    expect(body).toContain('data: {"error":');
    expect(body).toContain('invalid x-api-key: [redacted]');

    const stream = await sdk(TEAM_A).chat.completions.create({
      model: 'claude-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const consume = async () => {
      for await (const _ of stream);
    };
    const caught = await consume().catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect(String((caught as Error).message)).toContain('[redacted]');
    expectNoProviderKey(String((caught as Error).message));
    expectNoProviderKey(t.lines.join('\n'));
  });
});

describe('fallback on a provider auth failure', () => {
  it('tries the next backend when the retry policy covers 5xx (the default)', async () => {
    refuse('compat', fixture('openai/error.invalid-api-key.echo.json'));
    const { data, response } = await t
      .client(TEAM_A)
      .chat.completions.create({ model: 'fallback-model', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.model).toBe('backup-model');
    expect(response.headers.get('x-agent-router-attempt')).toBe('2');
    expect(await t.logFor(response)).toMatchObject({
      status: 200,
      attempts: attemptsOf(2),
      backend: 'default/good',
    });
    expectNoProviderKey(t.lines.join('\n'));
  });

  it('answers 502 from the first backend when the retry policy leaves 5xx out', async () => {
    refuse('compat', fixture('openai/error.invalid-api-key.echo.json'));
    const { response, everything } = await exchange('fallback-model', TEAM_STRICT, false);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-agent-router-attempt')).toBe('1');
    expectNoProviderKey(everything);
  });
});

describe('with FULL_DUPLEX_STREAMED responses (no BUFFERED override)', () => {
  let duplex: TestStack;
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
    duplex = await startTestStack(
      {},
      () => `${COMMON_YAML}
---
apiVersion: v1
kind: Secret
metadata: { name: provider-keys }
stringData: { compat: ${COMPAT_KEY} }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: compat }
spec:
  provider: OpenAICompatible
  baseURL: ${fake.url}/v1
  credentials: { secretRef: { name: provider-keys, key: compat } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: compat, model: compat-model, backendRef: { name: compat }, modelNameOverride: gpt-4o-mini }
`,
      { filters: { upstream: { responseBodyMode: 'FULL_DUPLEX_STREAMED' } } },
    );
  });

  afterAll(async () => {
    await duplex?.close();
    await fake?.close();
  });

  it('still answers 502 provider_auth_error with the key redacted from a body that arrives in chunks', async () => {
    const template = fixture('openai/error.invalid-api-key.echo.json');
    fake.answer((request) => {
      const text = echo(template, request, AUTH.compat);
      const split = text.indexOf(COMPAT_KEY) + 7;
      return { status: 401, body: [text.slice(0, split), text.slice(split)] };
    });
    const response = await fetch(`${duplex.stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEAM_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'compat-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await response.text();
    expect(response.status).toBe(502);
    expectNoProviderKey(`${[...response.headers].join('\n')}\n${body}`);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'provider_auth_error' } });
  });
});
