/**
 * Anthropic Messages clients on Claude on Vertex AI: the client's body on the publisher model's
 * rawPredict/streamRawPredict URL without `model` and with Vertex's anthropic_version, cache_control
 * kept; count_tokens on Vertex AI's count-tokens:rawPredict with the model in the body.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { GcpAccessTokens } from '../../../ext-proc/credentials/gcp-access-token.ts';
import { messagesVertexAnthropicTranslator } from '../../../ext-proc/translate/messages-vertex-anthropic.ts';
import { bodyInput, type Operation } from '../../../ext-proc/translate/translator.ts';
import { VERTEX_ANTHROPIC_VERSION } from '../../../ext-proc/translate/vertex-anthropic.ts';
import { serviceAccountKeys } from '../../helpers/google-token-server.ts';

const backend: CompiledBackend = {
  id: 'default/claude-vertex',
  provider: 'VertexAnthropic',
  origin: 'https://europe-west1-aiplatform.googleapis.com',
  basePath: '',
  region: 'europe-west1',
  project: 'demo-project',
  defaults: {},
};
const serviceAccount: Credential = {
  type: 'GCPServiceAccount',
  clientEmail: 'router@demo-project.iam.gserviceaccount.com',
  privateKey: new SecretValue(serviceAccountKeys().privatePem),
  tokenUri: 'https://oauth2.googleapis.com/token',
};
const MODEL = 'claude-sonnet-4-5@20250929';
const PREFIX = '/v1/projects/demo-project/locations/europe-west1/publishers/anthropic/models';

const translator = messagesVertexAnthropicTranslator(
  new GcpAccessTokens({
    fetch: async () => new Response(JSON.stringify({ access_token: 'ya29.token', expires_in: 3599 })),
  }),
);

const send = (body: Record<string, unknown>, operation: Operation = 'messages') =>
  translator.request({
    operation,
    ...bodyInput(Buffer.from(JSON.stringify(body))),
    backend,
    model: MODEL,
    credential: serviceAccount,
  });

const messages = [
  { role: 'user', content: [{ type: 'text', text: 'Long document', cache_control: { type: 'ephemeral' } }] },
];

describe('Messages on Claude on Vertex AI', () => {
  it('sends the client’s body without model, with Vertex’s anthropic_version, cache_control kept', async () => {
    const request = await send({ model: 'claude-model', max_tokens: 10, messages });
    expect(request.path).toBe(`${PREFIX}/${MODEL}:rawPredict`);
    expect(JSON.parse(request.body.toString())).toEqual({
      anthropic_version: VERTEX_ANTHROPIC_VERSION,
      max_tokens: 10,
      messages,
    });
    expect(request.headers).toContainEqual(['authorization', 'Bearer ya29.token']);
    expect(request.removeHeaders).toContain('anthropic-version');
    expect(request.removeHeaders).not.toContain('anthropic-beta');
  });

  it('streams on streamRawPredict', async () => {
    const request = await send({ model: 'claude-model', max_tokens: 10, stream: true, messages });
    expect(request.path).toBe(`${PREFIX}/${MODEL}:streamRawPredict`);
    expect(JSON.parse(request.body.toString()).stream).toBe(true);
  });

  it('counts tokens on count-tokens:rawPredict with the provider model in the body', async () => {
    const request = await send({ model: 'claude-model', messages }, 'messages.count_tokens');
    expect(request.path).toBe(`${PREFIX}/count-tokens:rawPredict`);
    expect(JSON.parse(request.body.toString())).toEqual({ model: MODEL, messages });
  });
});
