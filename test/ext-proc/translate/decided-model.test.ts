/**
 * The object we route on is the object we send: for any request body, with its keys spelled in any
 * JSON escape and some of them repeated, either the router-level parse refuses it (400 duplicate_key)
 * and so does every translator, or every provider body names exactly the model the router decided
 * (the route's modelNameOverride), on the small-body and the large-body (stand-in) path alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import type { Provider } from '../../../config/manifests.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import type { CompiledBackend } from '../../../config/snapshot.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { requestJson } from '../../../ext-proc/json/request-json.ts';
import { translators } from '../../../ext-proc/translate/registry.ts';
import { bodyInput } from '../../../ext-proc/translate/translator.ts';
import { chatRequest } from '../../fixtures/openai/chat-request.arbitrary.ts';
import { spelledString } from '../../helpers/json-spellings.ts';

const apiKey: Credential = { type: 'APIKey', apiKey: new SecretValue('provider-key') };
const awsKey: Credential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
};
const OVERRIDE = 'gpt-4o-mini';

/** Providers and where their request names the model: in the body, or in the path. */
const CASES: {
  provider: Provider;
  credential: Credential;
  backend?: Partial<CompiledBackend>;
  in: 'body' | 'path';
}[] = [
  { provider: 'OpenAI', credential: apiKey, in: 'body' },
  { provider: 'OpenAICompatible', credential: apiKey, in: 'body' },
  { provider: 'AzureOpenAI', credential: apiKey, backend: { apiVersion: 'v1' }, in: 'body' },
  { provider: 'Mistral', credential: apiKey, in: 'body' },
  { provider: 'Anthropic', credential: apiKey, in: 'body' },
  { provider: 'Gemini', credential: apiKey, in: 'path' },
  { provider: 'Bedrock', credential: awsKey, backend: { region: 'us-east-1' }, in: 'path' },
];

/** Members a hostile client adds: the logical name again, or a field the router also reads. */
const extraMember = fc.oneof(
  fc.constantFrom('gpt-4o', 'chat-model').map((m) => ['model', m] as const),
  fc.boolean().map((b) => ['stream', b] as const),
  fc.constant(['user', 'mallory'] as const),
);

/** A chat request written with every key spelled at random, and 0–2 extra members at random places. */
const hostileBody = fc
  .tuple(chatRequest, fc.array(fc.tuple(extraMember, fc.nat()), { maxLength: 2 }))
  .chain(([request, extras]) => {
    const members: [string, unknown][] = Object.entries({ ...request, model: 'gpt-4o' });
    for (const [member, at] of extras) members.splice(at % (members.length + 1), 0, [...member]);
    return fc.tuple(...members.map(([key]) => spelledString(key))).map((keys) => ({
      members,
      raw: Buffer.from(`{${members.map(([, value], i) => `${keys[i]}:${JSON.stringify(value)}`).join(',')}}`),
    }));
  });

async function attempt(run: () => unknown): Promise<{ value: unknown } | { error: AgentRouterError }> {
  try {
    return { value: await run() };
  } catch (error) {
    if (error instanceof AgentRouterError) return { error };
    throw error;
  }
}

describe('the model a provider receives', () => {
  for (const c of CASES) {
    it(`is the decided one for ${c.provider}, or the body is refused before routing`, async () => {
      const translator = translators.get(c.provider)!;
      const backend: CompiledBackend = {
        id: `default/${c.provider}`,
        provider: c.provider,
        origin: 'https://provider.example',
        basePath: '',
        defaults: {},
        ...c.backend,
      };
      await fc.assert(
        fc.asyncProperty(hostileBody, fc.boolean(), async ({ members, raw }, large) => {
          const options = large ? { largeBodyBytes: 0, longStringBytes: 16 } : undefined;
          const routed = await attempt(() => requestJson(raw, options).value());
          const sent = await attempt(() =>
            translator.request({
              ...bodyInput(raw, options),
              operation: 'chat.completions',
              backend,
              model: OVERRIDE,
              credential: c.credential,
            }),
          );
          const keys = members.map(([key]) => key);
          if (new Set(keys).size < keys.length) {
            for (const outcome of [routed, sent])
              expect(outcome).toMatchObject({ error: { status: 400, code: 'duplicate_key' } });
            return;
          }
          expect(routed).toMatchObject({ value: { model: 'gpt-4o' } });
          if (!('value' in sent)) throw sent.error;
          const request = sent.value as { path: string; body: Buffer };
          const body = JSON.parse(request.body.toString()) as Record<string, unknown>;
          if (c.in === 'body') expect(body.model).toBe(OVERRIDE);
          else {
            expect(request.path).toContain(OVERRIDE);
            expect(body).not.toHaveProperty('model');
          }
          expect(request.body.toString()).not.toContain('gpt-4o"');
        }),
        { numRuns: 80 },
      );
    });
  }
});
