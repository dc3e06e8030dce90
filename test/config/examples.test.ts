import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';

describe('shipped examples', () => {
  it('examples/local.yaml compiles', () => {
    expect(loadSnapshot('examples/local.yaml', { supportedProviders }).routeConfigs.size).toBe(1);
  });

  it('examples/providers.yaml compiles with every provider this build supports', () => {
    const snapshot = loadSnapshot('examples/providers.yaml', { supportedProviders });
    const providers = new Set([...snapshot.backends.values()].map((b) => b.provider));
    expect([...providers].sort()).toEqual(
      [...supportedProviders].filter((p) => p !== 'OpenAICompatible').sort(),
    );
    expect(snapshot.backends.get('default/vertex-gemini')).toMatchObject({
      project: 'my-project',
      region: 'europe-west4',
      origin: 'https://europe-west4-aiplatform.googleapis.com',
    });
    expect(snapshot.backends.get('default/bedrock')?.origin).toBe(
      'https://bedrock-runtime.eu-central-1.amazonaws.com',
    );
  });
});
