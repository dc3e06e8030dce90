/**
 * A large body is parsed with stand-ins for its long content strings (ext-proc/json/); every translator
 * must send exactly the bytes it sends when the same body is parsed the plain way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import type { Provider } from '../../../config/manifests.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { GcpAccessTokens } from '../../../ext-proc/credentials/gcp-access-token.ts';
import { geminiTranslator } from '../../../ext-proc/translate/gemini.ts';
import { translators } from '../../../ext-proc/translate/registry.ts';
import { bodyInput, type Translator } from '../../../ext-proc/translate/translator.ts';
import { vertexAnthropicTranslator } from '../../../ext-proc/translate/vertex-anthropic.ts';
import { chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';
import { serviceAccountKeys } from '../../helpers/google-token-server.ts';

const apiKey: Credential = { type: 'APIKey', apiKey: new SecretValue('provider-key') };
const serviceAccount: Credential = {
  type: 'GCPServiceAccount',
  clientEmail: 'router@demo-project.iam.gserviceaccount.com',
  privateKey: new SecretValue(serviceAccountKeys().privatePem),
  tokenUri: 'https://oauth2.googleapis.com/token',
};
const awsKey: Credential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
};
// Tokens from an in-process answer: minting is tested against a real token endpoint elsewhere.
const tokens = new GcpAccessTokens({
  fetch: async () => new Response(JSON.stringify({ access_token: 'ya29.token', expires_in: 3599 })),
});

interface Case {
  provider: Provider;
  translator: Translator;
  credential: Credential;
  backend?: Partial<CompiledBackend>;
}

const CASES: Case[] = [
  { provider: 'OpenAI', translator: translators.get('OpenAI')!, credential: apiKey },
  { provider: 'AzureOpenAI', translator: translators.get('AzureOpenAI')!, credential: apiKey },
  { provider: 'Mistral', translator: translators.get('Mistral')!, credential: apiKey },
  { provider: 'Anthropic', translator: translators.get('Anthropic')!, credential: apiKey },
  { provider: 'Gemini', translator: translators.get('Gemini')!, credential: apiKey },
  {
    provider: 'VertexAI',
    translator: geminiTranslator('VertexAI', tokens),
    credential: serviceAccount,
    backend: { region: 'europe-west4', project: 'demo-project' },
  },
  {
    provider: 'VertexAnthropic',
    translator: vertexAnthropicTranslator(tokens),
    credential: serviceAccount,
    backend: { region: 'europe-west4', project: 'demo-project' },
  },
  {
    provider: 'Bedrock',
    translator: translators.get('Bedrock')!,
    credential: awsKey,
    backend: { region: 'us-east-1' },
  },
];

/** Content long enough to become stand-ins, with escapes and multi-byte characters across the head's end. */
const longText = fc
  .tuple(fc.string({ minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 40 }))
  .map(([unit, times]) => `${unit}"é\\😀\n`.repeat(times));
const base64Image = fc
  .uint8Array({ minLength: 200, maxLength: 2000 })
  .map((bytes) => `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`);

/** A valid chat request with long text and image content added to its user turns and system prompt. */
const largeRequest = fc
  .tuple(
    chatRequest,
    fc.array(fc.tuple(longText, fc.option(base64Image, { nil: undefined })), { minLength: 1, maxLength: 3 }),
    longText,
  )
  .map(([body, additions, system]) => {
    const messages = body.messages as Record<string, unknown>[];
    for (const [text, image] of additions) {
      const parts: unknown[] = [{ type: 'text', text }];
      if (image) parts.push({ type: 'image_url', image_url: { url: image } });
      messages.splice(0, 0, { role: 'user', content: parts }, { role: 'assistant', content: text });
    }
    messages.unshift({ role: 'system', content: system });
    return body;
  });

async function translated(
  c: Case,
  raw: Buffer,
  large: boolean,
): Promise<{ body: string } | { error: string }> {
  const backend: CompiledBackend = {
    id: `default/${c.provider}`,
    provider: c.provider,
    origin: 'https://provider.example',
    basePath: '',
    defaults: {},
    ...c.backend,
  };
  try {
    const request = await c.translator.request({
      ...bodyInput(raw, large ? { largeBodyBytes: 0, longStringBytes: 16 } : undefined),
      operation: 'chat.completions',
      backend,
      model: 'provider-model',
      credential: c.credential,
    });
    return { body: request.body.toString() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('translating a large request body', () => {
  for (const c of CASES) {
    it(`sends ${c.provider} the same bytes with stand-ins as without`, async () => {
      await fc.assert(
        fc.asyncProperty(largeRequest, async (body) => {
          const raw = Buffer.from(JSON.stringify(body));
          const plain = await translated(c, raw, false);
          expect(await translated(c, raw, true)).toEqual(plain);
        }),
        { numRuns: 60 },
      );
    });
  }
});
