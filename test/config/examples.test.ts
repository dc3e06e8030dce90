import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadSnapshot } from '../../config/file-source.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { chartRoutes, routeChains } from '../helpers/route-chains.ts';
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
    const values = parse(readFileSync('examples/helm/kubernetes-values.yaml', 'utf8'));
    // Applied with `kubectl apply -n ai`.
    expect(chartRoutes(values.routes)).toEqual(routeChains(['examples/kubernetes.yaml'], 'ai'));
    expect(loadSnapshot('examples/kubernetes.yaml', { supportedProviders }).keysById.size).toBe(1);
  });

  it('renders with the chart', () => {
    const result = runTool('helm', [
      'template',
      'agent-router',
      'charts/agent-router',
      '--namespace',
      'ai',
      '--values',
      'examples/helm/kubernetes-values.yaml',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
