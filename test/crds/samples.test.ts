import { describe, expect, it } from 'vitest';
import { compile, DEFAULT_SESSION_HEADER, parseDuration } from '../../config/compile.ts';
import { poolView } from '../../config/inference-pool.ts';
import type { LocatedManifest } from '../../config/manifests.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import { validateManifest } from '../../config/validate.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { formatFieldError, isPlainObject } from './crd-validator.ts';
import { documents, validatorFor, yamlFiles } from './project-crds.ts';

/** Every shipped example and every valid CRD fixture: multi-document files that compile on their own. */
const SAMPLES = [...yamlFiles('examples'), ...yamlFiles('test/fixtures/crds/valid')];

interface Sample {
  file: string;
  document: number;
  doc: Record<string, unknown>;
  /** The document as the API server stores it; the document itself for kinds without a CRD here. */
  stored: Record<string, unknown>;
  /** Whether a CRD of ours serves the document's kind. */
  custom: boolean;
}

function admitAll(file: string): Sample[] {
  return documents(file).map((raw, i) => {
    const doc = raw as Record<string, unknown>;
    const validator = validatorFor(doc);
    if (!validator) return { file, document: i + 1, doc, stored: doc, custom: false };
    const { object, errors } = validator.admit(doc);
    const where = `${file} document ${i + 1} (${String(doc.kind)})`;
    expect(errors.map(formatFieldError), where).toEqual([]);
    return { file, document: i + 1, doc, stored: object!, custom: true };
  });
}

function fileMode(
  samples: readonly Sample[],
  pick: (s: Sample) => Record<string, unknown>,
): LocatedManifest[] {
  return samples.map((s) => {
    const origin = { source: s.file, document: s.document };
    const { manifest, problems } = validateManifest(pick(s), origin);
    expect(problems, `${s.file} document ${s.document}`).toEqual([]);
    return { manifest: manifest!, origin };
  });
}

function compiled(manifests: LocatedManifest[]): Snapshot {
  const { snapshot, problems } = compile(manifests, { supportedProviders });
  expect(problems).toEqual([]);
  return snapshot;
}

/** What a compiled configuration decides, without identities that differ between two compilations. */
function decisions(snapshot: Snapshot) {
  return {
    keyless: snapshot.keylessRouteConfig?.id,
    routeConfigs: [...snapshot.routeConfigs.values()].map((rc) => ({
      id: rc.id,
      active: rc.active,
      defaultForKeyless: rc.defaultForKeyless,
      sessionHeader: rc.sessionHeader,
      fallback: { ...rc.fallback, retryOn: [...rc.fallback.retryOn].sort() },
      entries: [...rc.entries.values()].map((e) => ({
        name: e.name,
        model: e.model,
        backend: e.backend.id,
        resolvedModel: e.resolvedModel,
        weight: e.weight,
        priority: e.priority,
        match: e.match?.signature,
        fallbackChain: e.fallbackChain.map((f) => f.name),
      })),
    })),
    backends: [...snapshot.backends.values()].map((b) => ({ ...b, credential: b.credential?.type })),
    keys: [...snapshot.keysById.values()].map((k) => ({
      id: k.id,
      hash: k.hash.toString('hex'),
      routeConfig: k.routeConfig.id,
      disabled: k.disabled,
      attributes: k.attributes,
      providerCredentials: [...k.providerCredentials.keys()],
    })),
    pools: snapshot.inferencePools.map((p) => {
      const view = poolView(snapshot, `${p.metadata.namespace}/${p.metadata.name}`)!;
      return { id: view.id, failureMode: view.failureMode, endpoints: view.endpoints };
    }),
  };
}

describe('sample manifests against the CRDs', () => {
  it.each(SAMPLES)(
    'the API server admits every RouteConfig, ProviderBackend, APIKey and InferencePool of %s',
    (file) => {
      const samples = admitAll(file);
      expect(samples.some((s) => s.custom)).toBe(true);
    },
  );

  it.each(SAMPLES)('file mode accepts %s as written and as the API server stores it', (file) => {
    const samples = admitAll(file);
    fileMode(samples, (s) => s.doc);
    fileMode(samples, (s) => s.stored);
  });

  it.each(SAMPLES)(
    'the CRD defaults compile %s to the same routing as config/compile.ts defaults',
    (file) => {
      const samples = admitAll(file);
      const asWritten = compiled(fileMode(samples, (s) => s.doc));
      const asStored = compiled(fileMode(samples, (s) => s.stored));
      expect(decisions(asStored)).toEqual(decisions(asWritten));
    },
  );

  it('stores the values config/compile.ts assumes for every field left out', () => {
    const samples = admitAll('test/fixtures/crds/valid/minimal.yaml');
    const stored = (kind: string) =>
      samples.find((s) => s.doc.kind === kind)!.stored.spec as Record<string, unknown>;

    const routeConfig = stored('RouteConfig');
    const routes = routeConfig.routes as Record<string, unknown>[];
    expect(routes[0]).toEqual({
      name: 'chat',
      model: 'chat-model',
      backendRef: { name: 'openai', kind: 'ProviderBackend' },
      weight: 1,
      priority: 0,
    });
    expect(routeConfig).toMatchObject({
      active: true,
      defaultForKeyless: false,
      sessionHeader: DEFAULT_SESSION_HEADER,
      fallback: {
        attempts: 3,
        retryOn: ['connect-failure', '5xx', '429', 'timeout'],
        perAttemptTimeout: '60s',
      },
    });
    expect(stored('APIKey')).toMatchObject({ secretRef: { name: 'keys', key: 'api-key' }, disabled: false });
    expect(stored('InferencePool').endpointPickerRef).toEqual({
      name: 'qwen-pool-epp',
      port: { number: 9002 },
      group: '',
      kind: 'Service',
      failureMode: 'FailClose',
    });
    // The ProviderBackend has no defaults: its credential type and base URL depend on the provider.
    expect(stored('ProviderBackend')).toEqual({ provider: 'OpenAI' });

    const snapshot = compiled(fileMode(samples, (s) => s.doc));
    const rc = snapshot.routeConfigs.get('default/minimal')!;
    expect(rc.fallback.perAttemptTimeoutMs).toBe(parseDuration('60s'));
    expect(rc.entries.get('chat')).toMatchObject({ weight: 1, priority: 0 });
  });

  it('fills defaults inside lists and inside a defaulted fallback, as the API server does', () => {
    const samples = admitAll('test/fixtures/crds/valid/full.yaml');
    const spec = samples.find((s) => s.doc.kind === 'RouteConfig')!.stored.spec as Record<string, unknown>;
    const [regulated] = spec.routes as { match: { attributes: unknown[] } }[];
    expect(regulated!.match.attributes).toEqual([
      { name: 'residency', value: 'eu', type: 'Exact' },
      { name: 'tenant', type: 'RegularExpression', value: 'team-.*' },
    ]);
    expect(spec.fallback).toEqual({ attempts: 2, retryOn: ['5xx', '429'], perAttemptTimeout: '1.5m' });
    for (const s of samples) if (s.custom) expect(isPlainObject(s.stored.spec)).toBe(true);
  });
});
