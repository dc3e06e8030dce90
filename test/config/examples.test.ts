import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadSnapshot } from '../../config/file-source.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { runTool } from '../helpers/tools.ts';

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

describe('the Kubernetes quick start (README "Install on Kubernetes")', () => {
  it('compiles, and its Helm values route every entry along the fallback chain the RouteConfig makes', () => {
    const snapshot = loadSnapshot('examples/kubernetes.yaml', { supportedProviders });
    const values = parse(readFileSync('examples/kubernetes-values.yaml', 'utf8')) as {
      routes: { target: string; backends: string[] }[];
    };
    // Applied with `kubectl apply -n ai`, where the file leaves the namespace open.
    const inAi = (id: string) => id.replace(/^default\//, 'ai/');
    const chains = Object.fromEntries(
      [...snapshot.entries.values()].map((e) => [
        inAi(e.id),
        e.fallbackChain.slice(0, 2).map((f) => f.backend.id.slice(f.backend.id.indexOf('/') + 1)),
      ]),
    );
    expect(Object.fromEntries(values.routes.map((r) => [r.target, r.backends]))).toEqual(chains);
    expect(snapshot.keysById.size).toBe(1);
  });

  it('renders with the chart', () => {
    const result = runTool('helm', [
      'template',
      'agent-router',
      'charts/agent-router',
      '--namespace',
      'ai',
      '--values',
      'examples/kubernetes-values.yaml',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
