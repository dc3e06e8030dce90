import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { azureOpenAITranslator, DEFAULT_API_VERSION } from '../../../ext-proc/translate/azure-openai.ts';
import type { Operation, UpstreamRequest } from '../../../ext-proc/translate/translator.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import { azureContentFilterError, azureRateLimitError } from '../../fixtures/azure-openai/fixtures.ts';
import { chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';

const translator = azureOpenAITranslator();
const key: Credential = { type: 'APIKey', apiKey: new SecretValue('azure-secret') };

function backend(overrides: Partial<CompiledBackend> = {}): CompiledBackend {
  return {
    id: 'default/azure',
    provider: 'AzureOpenAI',
    origin: 'https://contoso.openai.azure.com',
    basePath: '',
    defaults: {},
    ...overrides,
  };
}

function translate(
  raw: Buffer | object,
  options: {
    backend?: CompiledBackend;
    operation?: Operation;
    model?: string;
    credential?: Credential | undefined;
  } = {},
): UpstreamRequest {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(JSON.stringify(raw));
  return translator.request({
    operation: options.operation ?? 'chat.completions',
    ...bodyInput(bytes),
    backend: options.backend ?? backend(),
    model: options.model ?? 'gpt-4o-prod',
    credential: 'credential' in options ? options.credential : key,
  }) as UpstreamRequest;
}

const chat = { model: 'chat-model', messages: [{ role: 'user', content: 'hi' }] };

describe('Azure OpenAI translator, deployment paths', () => {
  it('names the deployment in the path and sends the default GA api-version', () => {
    const out = translate(chat);
    expect(out.path).toBe(
      `/openai/deployments/gpt-4o-prod/chat/completions?api-version=${DEFAULT_API_VERSION}`,
    );
    expect(DEFAULT_API_VERSION).toBe('2024-10-21');
  });

  it('uses the backend’s dated apiVersion', () => {
    const out = translate(chat, { backend: backend({ apiVersion: '2025-04-01-preview' }) });
    expect(out.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview');
  });

  it('serves embeddings and completions at the deployment’s own paths', () => {
    expect(translate({ model: 'e', input: 'x' }, { operation: 'embeddings', model: 'embed-prod' }).path).toBe(
      `/openai/deployments/embed-prod/embeddings?api-version=${DEFAULT_API_VERSION}`,
    );
    expect(translate({ model: 'c', prompt: 'x' }, { operation: 'completions', model: 'instruct' }).path).toBe(
      `/openai/deployments/instruct/completions?api-version=${DEFAULT_API_VERSION}`,
    );
  });

  it('keeps a base path and does not repeat an /openai it already ends with', () => {
    expect(translate(chat, { backend: backend({ basePath: '/gateway' }) }).path).toBe(
      `/gateway/openai/deployments/gpt-4o-prod/chat/completions?api-version=${DEFAULT_API_VERSION}`,
    );
    expect(translate(chat, { backend: backend({ basePath: '/openai' }) }).path).toBe(
      `/openai/deployments/gpt-4o-prod/chat/completions?api-version=${DEFAULT_API_VERSION}`,
    );
  });

  it('percent-encodes a deployment name that is not URL-safe', () => {
    expect(translate(chat, { model: 'my deployment' }).path).toMatch(
      /^\/openai\/deployments\/my%20deployment\//,
    );
  });
});

describe('Azure OpenAI translator, v1 API', () => {
  it('uses /openai/v1 without api-version when the backend’s apiVersion is v1, keeping model in the body', () => {
    const out = translate(chat, { backend: backend({ apiVersion: 'v1' }), model: 'gpt-4o-v1' });
    expect(out.path).toBe('/openai/v1/chat/completions');
    expect(JSON.parse(out.body.toString()).model).toBe('gpt-4o-v1');
    expect(
      translate(
        { model: 'e', input: 'x' },
        { backend: backend({ apiVersion: 'v1' }), operation: 'embeddings' },
      ).path,
    ).toBe('/openai/v1/embeddings');
  });

  it('treats a base URL ending in /openai/v1 (as the OpenAI SDK documents it) as the v1 API', () => {
    expect(translate(chat, { backend: backend({ basePath: '/openai/v1' }) }).path).toBe(
      '/openai/v1/chat/completions',
    );
  });
});

describe('Azure OpenAI translator, headers and body', () => {
  it('sends the key as api-key and strips the gateway key and other providers’ auth headers', () => {
    const out = translate(chat);
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json',
      'api-key': 'azure-secret',
    });
    expect(out.removeHeaders).toEqual(
      expect.arrayContaining(['authorization', 'x-api-key', 'x-goog-api-key']),
    );
    expect(out.removeHeaders).not.toContain('api-key');
  });

  it('removes any api-key header when the backend has no credential', () => {
    const out = translate(chat, { credential: undefined });
    expect(out.headers.map(([k]) => k)).not.toContain('api-key');
    expect(out.removeHeaders).toEqual(expect.arrayContaining(['api-key', 'authorization']));
  });

  it('rewrites only the model, leaving every other byte as the client sent it', () => {
    const raw = Buffer.from(
      '{ "messages": [{"role":"user","content":"caf\\u00e9"}],\n  "model" : "chat-model", "n": 2 }',
    );
    const out = translate(raw);
    expect(out.body.toString()).toBe(
      '{ "messages": [{"role":"user","content":"caf\\u00e9"}],\n  "model" : "gpt-4o-prod", "n": 2 }',
    );
  });

  it('asks a stream for usage from api-versions that take stream_options, not from older ones', () => {
    const stream = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] };
    const sent = (apiVersion?: string) =>
      JSON.parse(translate(stream, { backend: backend(apiVersion ? { apiVersion } : {}) }).body.toString());
    expect(sent().stream_options).toEqual({ include_usage: true });
    expect(sent('v1').stream_options).toEqual({ include_usage: true });
    expect(sent('2024-08-01-preview').stream_options).toEqual({ include_usage: true });
    expect(sent('2024-06-01')).not.toHaveProperty('stream_options');
  });

  it('passes responses through and names apim-request-id as the provider request id', () => {
    expect(translator.convertsResponses).toBe(false);
    expect(translator.requestIdHeader).toBe('apim-request-id');
  });
});

describe('Azure OpenAI translator, errors', () => {
  it('keeps a content-filter error’s message, code and param, and its status and innererror as Azure sent them', () => {
    const azure = JSON.parse(azureContentFilterError.toString()).error;
    expect(translator.error(400, azureContentFilterError)).toEqual({
      error: {
        message: expect.stringContaining("triggering Azure OpenAI's content management policy"),
        type: 'invalid_request_error',
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: azure.innererror,
      },
    });
    expect(translator.error(400, azureContentFilterError).error).toMatchObject({
      innererror: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_result: { hate: { filtered: true, severity: 'high' } },
      },
    });
  });

  it('keeps a blocklist hit’s ids in innererror.content_filter_result', () => {
    const body = {
      error: {
        message:
          'The response was filtered due to the prompt triggering Azure OpenAI’s content management policy.',
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: {
            custom_blocklists: { filtered: true, details: [{ filtered: true, id: 'competitor-names' }] },
            profanity: { filtered: false, detected: false },
          },
        },
      },
    };
    const error = translator.error(400, Buffer.from(JSON.stringify(body))).error as Record<string, unknown>;
    expect(error.innererror).toEqual(body.error.innererror);
    expect(Object.keys(error)).toEqual(['message', 'type', 'param', 'code', 'status', 'innererror']);
  });

  it('never lets an error member named __proto__ replace the error object’s prototype', () => {
    const body = Buffer.from('{"error":{"message":"m","code":"c","__proto__":{"polluted":true},"x":1}}');
    const error = translator.error(400, body).error as Record<string, unknown>;
    expect(Object.getPrototypeOf(error)).toBe(Object.prototype);
    expect(error.polluted).toBeUndefined();
    expect(error.x).toBe(1);
  });

  it('keeps a rate-limit error’s message, with the type the SDKs expect for 429', () => {
    expect(translator.error(429, azureRateLimitError).error).toMatchObject({
      message: expect.stringContaining('exceeded token rate limit'),
      type: 'rate_limit_error',
      code: '429',
    });
  });

  it('wraps a non-JSON body (a proxy’s HTML page) with the status', () => {
    expect(translator.error(502, Buffer.from('<html>Bad Gateway</html>')).error).toMatchObject({
      type: 'api_error',
      code: 'upstream_502',
      message: expect.stringContaining('Azure OpenAI returned HTTP 502'),
    });
  });
});

describe('Azure OpenAI translator, any OpenAI chat request', () => {
  it('yields a request for the deployment with the client’s body and the key in api-key', () => {
    fc.assert(
      fc.property(
        chatRequest,
        fc.constantFrom(undefined, '2025-04-01-preview', 'v1'),
        (request, apiVersion) => {
          const b = backend(apiVersion === undefined ? {} : { apiVersion });
          const out = translate(request, { backend: b, model: 'dep-1' });
          const body = JSON.parse(out.body.toString()) as Record<string, unknown>;
          // A stream asks for usage, for the request log (the router-level phase strips it for the client).
          const usage = request.stream === true ? { stream_options: { include_usage: true } } : {};
          expect(body).toEqual({ ...request, model: 'dep-1', ...usage });
          expect(out.path).toBe(
            apiVersion === 'v1'
              ? '/openai/v1/chat/completions'
              : `/openai/deployments/dep-1/chat/completions?api-version=${apiVersion ?? DEFAULT_API_VERSION}`,
          );
          expect(out.headers).toContainEqual(['api-key', 'azure-secret']);
          expect(out.headers.map(([k]) => k)).not.toContain('authorization');
          expect(out.removeHeaders).toContain('authorization');
        },
      ),
      { numRuns: 200 },
    );
  });
});
