/**
 * Validated manifests → Snapshot. Resolves references (Secrets, backends, route configs), precomputes
 * everything a request needs (split tables, fallback chains, key hashes, compiled regexes) and reports
 * every problem at once. File mode and the Kubernetes watch both feed this one function.
 */
import { hash } from 'node:crypto';
import {
  type Credential,
  type CredentialType,
  compileCredential,
  defaultCredentialType,
  headerProblem,
} from './credentials.ts';
import {
  type APIKeyManifest,
  type InferencePoolManifest,
  type LocatedManifest,
  type ManifestOrigin,
  objectKey,
  type PodManifest,
  type Provider,
  type ProviderBackendManifest,
  type RetryOn,
  type RouteConfigManifest,
  type RouteEntrySpec,
  type RouteMatch,
  type SecretManifest,
} from './manifests.ts';
import { type CompiledMcpServer, compileMcpServers, compileRouteMcp, type MCPServerManifest } from './mcp.ts';
import { type ConfigProblem, problemAt } from './problems.ts';
import { SecretValue } from './secret-value.ts';
import { secretString } from './secrets.ts';
import type {
  CompiledBackend,
  CompiledEntry,
  CompiledKey,
  CompiledMatch,
  CompiledModel,
  CompiledRouteConfig,
  CompiledSplit,
  CompiledStringMatch,
  FallbackPolicy,
  Snapshot,
} from './snapshot.ts';

export const DEFAULT_SESSION_HEADER = 'x-session-id';
const DEFAULT_RETRY_ON: readonly RetryOn[] = ['connect-failure', '5xx', '429', 'timeout'];
const DEFAULT_PER_ATTEMPT_TIMEOUT_MS = 60_000;

/** Documented public endpoints, used when a backend names no baseURL. */
const DEFAULT_BASE_URL: Partial<Record<Provider, string>> = {
  OpenAI: 'https://api.openai.com/v1',
  Mistral: 'https://api.mistral.ai/v1',
  Anthropic: 'https://api.anthropic.com',
  Gemini: 'https://generativelanguage.googleapis.com',
};

/** Providers whose endpoint is per region. */
const REGIONAL: ReadonlySet<Provider> = new Set(['Bedrock', 'VertexAI', 'VertexAnthropic']);

function defaultBaseURL(provider: Provider, region: string | undefined): string | undefined {
  if (region !== undefined) {
    // AWS: https://docs.aws.amazon.com/general/latest/gr/bedrock.html (bedrock-runtime.<region>.amazonaws.com)
    if (provider === 'Bedrock') return `https://bedrock-runtime.${region}.amazonaws.com`;
    // Google: https://cloud.google.com/vertex-ai/docs/reference/rest (<location>-aiplatform.googleapis.com)
    if (provider === 'VertexAI' || provider === 'VertexAnthropic') {
      return region === 'global'
        ? 'https://aiplatform.googleapis.com'
        : `https://${region}-aiplatform.googleapis.com`;
    }
  }
  return DEFAULT_BASE_URL[provider];
}

export interface CompileOptions {
  /** Providers this build can translate for; backends of other providers are reported. */
  supportedProviders?: ReadonlySet<Provider>;
  version?: number;
}

export interface CompileResult {
  snapshot: Snapshot;
  problems: ConfigProblem[];
}

/** One-shot (crypto.hash, Node ≥ 21.7): no Hash object per call. */
export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * The SHA-256 of `value` as hex, the form keys are looked up by: gateway keys are hashed per request,
 * and a hex digest costs a quarter of a Buffer one (0.46 against 1.86 µs on this machine, Node 24):
 * a Buffer made in C++ is a new ArrayBuffer with its own backing store, a string is not.
 */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

export function compile(located: readonly LocatedManifest[], options: CompileOptions = {}): CompileResult {
  const problems: ConfigProblem[] = [];
  const origins = new Map<unknown, ManifestOrigin>();
  const secrets = new Map<string, SecretManifest>();
  const backendsSpec: ProviderBackendManifest[] = [];
  const routeConfigsSpec: RouteConfigManifest[] = [];
  const keysSpec: APIKeyManifest[] = [];
  const inferencePools: InferencePoolManifest[] = [];
  const pods: PodManifest[] = [];
  const mcpSpecs: MCPServerManifest[] = [];
  const seen = new Map<string, ManifestOrigin>();

  for (const { manifest, origin } of located) {
    origins.set(manifest, origin);
    const id = `${manifest.kind}/${objectKey(manifest.metadata)}`;
    const previous = seen.get(id);
    if (previous) {
      problems.push(
        problemAt(
          origin,
          `${manifest.kind} ${manifest.metadata.name}`,
          'metadata.name',
          `duplicates the object defined in ${previous.source} (document ${previous.document})`,
        ),
      );
      continue;
    }
    seen.set(id, origin);
    switch (manifest.kind) {
      case 'Secret':
        secrets.set(objectKey(manifest.metadata), manifest);
        break;
      case 'ProviderBackend':
        backendsSpec.push(manifest);
        break;
      case 'RouteConfig':
        routeConfigsSpec.push(manifest);
        break;
      case 'APIKey':
        keysSpec.push(manifest);
        break;
      case 'InferencePool':
        inferencePools.push(manifest);
        break;
      case 'Pod':
        pods.push(manifest);
        break;
      case 'MCPServer':
        mcpSpecs.push(manifest);
        break;
    }
  }
  const where = (m: { kind: string; metadata: { name: string } }) => ({
    origin: origins.get(m) ?? { source: '<unknown>', document: 0 },
    object: `${m.kind} ${m.metadata.name}`,
  });

  const readSecret = (
    m: { kind: string; metadata: { name: string; namespace: string } },
    path: string,
    ref: { name: string; key?: string },
  ): SecretValue | undefined => {
    const secret = secrets.get(`${m.metadata.namespace}/${ref.name}`);
    const { origin, object } = where(m);
    const key = ref.key ?? 'api-key';
    if (!secret) {
      problems.push(
        problemAt(
          origin,
          object,
          path,
          `Secret "${ref.name}" not found in namespace "${m.metadata.namespace}"`,
        ),
      );
      return undefined;
    }
    const value = secretString(secret, key);
    if (value === undefined) {
      problems.push(problemAt(origin, object, path, `Secret "${ref.name}" has no key "${key}"`));
      return undefined;
    }
    // A client presents the key in a header; a value no header can carry would never match.
    const unsendable = headerProblem(ref.name, key, value);
    if (unsendable) {
      problems.push(problemAt(origin, object, path, unsendable));
      return undefined;
    }
    return new SecretValue(value);
  };

  const readCredential = (
    m: { kind: string; metadata: { name: string; namespace: string } },
    path: string,
    ref: { name: string; key?: string },
    type: CredentialType,
  ): Credential | undefined => {
    const { origin, object } = where(m);
    const secret = secrets.get(`${m.metadata.namespace}/${ref.name}`);
    if (!secret) {
      problems.push(
        problemAt(
          origin,
          object,
          path,
          `Secret "${ref.name}" not found in namespace "${m.metadata.namespace}"`,
        ),
      );
      return undefined;
    }
    const { credential, problem } = compileCredential(type, secret, ref.key);
    if (problem) problems.push(problemAt(origin, object, path, `${problem} (credential type ${type})`));
    return credential;
  };

  const backends = new Map<string, CompiledBackend>();
  for (const m of backendsSpec) {
    const { origin, object } = where(m);
    const spec = m.spec;
    if (options.supportedProviders && !options.supportedProviders.has(spec.provider)) {
      problems.push(
        problemAt(
          origin,
          object,
          'spec.provider',
          `provider ${spec.provider} is not supported by this build (supported: ${[...options.supportedProviders].join(', ')})`,
        ),
      );
      continue;
    }
    const base = spec.baseURL ?? defaultBaseURL(spec.provider, spec.region);
    if (base === undefined) {
      problems.push(
        problemAt(
          origin,
          object,
          'spec.baseURL',
          `is required for provider ${spec.provider}${REGIONAL.has(spec.provider) ? ' (or set spec.region)' : ''}`,
        ),
      );
      continue;
    }
    const url = new URL(base);
    const credentialType = spec.credentials?.type ?? defaultCredentialType(spec.provider);
    const credential = spec.credentials
      ? readCredential(m, 'spec.credentials.secretRef', spec.credentials.secretRef, credentialType)
      : undefined;
    const backend: CompiledBackend = {
      id: objectKey(m.metadata),
      kind: 'ProviderBackend',
      provider: spec.provider,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      defaults: { ...spec.defaults },
    };
    if (spec.region !== undefined) backend.region = spec.region;
    if (spec.apiVersion !== undefined) backend.apiVersion = spec.apiVersion;
    if (spec.streamUsage === false) backend.streamUsage = false;
    if (spec.pricing?.length) {
      backend.prices = new Map(
        spec.pricing.map((p) => [
          p.model,
          {
            input: p.inputPerMillionTokens / 1e6,
            output: p.outputPerMillionTokens / 1e6,
            cachedInput: (p.cachedInputPerMillionTokens ?? p.inputPerMillionTokens) / 1e6,
          },
        ]),
      );
    }
    const project =
      spec.project ?? (credential?.type === 'GCPServiceAccount' ? credential.projectId : undefined);
    if (project !== undefined) backend.project = project;
    if (credential !== undefined) backend.credential = credential;
    if (
      (spec.provider === 'VertexAI' || spec.provider === 'VertexAnthropic') &&
      (!backend.project || !backend.region)
    ) {
      problems.push(
        problemAt(
          origin,
          object,
          'spec',
          `${spec.provider} needs spec.region and a project (spec.project or the service account's project_id)`,
        ),
      );
      continue;
    }
    backends.set(backend.id, backend);
  }

  const mcpServers = compileMcpServers(mcpSpecs, { where, readSecret, problems });

  // An InferencePool is a backend too: its model servers speak the OpenAI API (GIE model-server
  // protocol); which pod serves is the endpoint picker's decision, made per request.
  const pools = new Map<string, CompiledBackend>();
  for (const pool of inferencePools) {
    const poolId = objectKey(pool.metadata);
    pools.set(poolId, {
      id: poolId,
      kind: 'InferencePool',
      provider: 'OpenAICompatible',
      origin: '',
      basePath: '/v1',
      defaults: {},
    });
  }

  const routeConfigs = new Map<string, CompiledRouteConfig>();
  const entries = new Map<string, CompiledEntry>();
  let keylessRouteConfig: CompiledRouteConfig | undefined;
  const rejectedRouteConfigs = new Set<string>();
  for (const m of routeConfigsSpec) {
    const compiled = compileRouteConfig(m, backends, pools, mcpServers, where(m), problems);
    if (!compiled) {
      rejectedRouteConfigs.add(objectKey(m.metadata));
      continue;
    }
    routeConfigs.set(compiled.id, compiled);
    for (const entry of compiled.entries.values()) entries.set(entry.id, entry);
    if (compiled.defaultForKeyless && compiled.active) {
      if (keylessRouteConfig) {
        const { origin, object } = where(m);
        problems.push(
          problemAt(
            origin,
            object,
            'spec.defaultForKeyless',
            `only one active RouteConfig may serve keyless requests; "${keylessRouteConfig.id}" already does`,
          ),
        );
      } else {
        keylessRouteConfig = compiled;
      }
    }
  }

  const keysByHash = new Map<string, CompiledKey>();
  const keysById = new Map<string, CompiledKey>();
  for (const m of keysSpec) {
    const { origin, object } = where(m);
    const material = readSecret(m, 'spec.secretRef', m.spec.secretRef);
    const routeConfigKey = `${m.metadata.namespace}/${m.spec.routeConfigRef.name}`;
    const routeConfig = routeConfigs.get(routeConfigKey);
    if (!routeConfig && !rejectedRouteConfigs.has(routeConfigKey)) {
      problems.push(
        problemAt(
          origin,
          object,
          'spec.routeConfigRef.name',
          `RouteConfig "${m.spec.routeConfigRef.name}" not found in namespace "${m.metadata.namespace}"`,
        ),
      );
    }
    const providerCredentials = new Map<string, Credential>();
    m.spec.providerCredentials?.forEach((pc, i) => {
      const backendId = `${m.metadata.namespace}/${pc.backendRef.name}`;
      if (!backends.has(backendId)) {
        problems.push(
          problemAt(
            origin,
            object,
            `spec.providerCredentials[${i}].backendRef.name`,
            `ProviderBackend "${pc.backendRef.name}" not found`,
          ),
        );
      }
      const backend = backends.get(backendId);
      const type =
        backend?.credential?.type ?? (backend ? defaultCredentialType(backend.provider) : 'APIKey');
      const credential = readCredential(m, `spec.providerCredentials[${i}].secretRef`, pc.secretRef, type);
      if (credential) providerCredentials.set(backendId, credential);
    });
    if (!material || !routeConfig) continue;
    if (material.reveal().length < 8) {
      problems.push(
        problemAt(origin, object, 'spec.secretRef', 'the key must be at least 8 characters long'),
      );
      continue;
    }
    const hash = sha256(material.reveal());
    const hex = hash.toString('hex');
    const clash = keysByHash.get(hex);
    if (clash) {
      problems.push(
        problemAt(origin, object, 'spec.secretRef', `uses the same key material as APIKey "${clash.id}"`),
      );
      continue;
    }
    const key: CompiledKey = {
      id: objectKey(m.metadata),
      hash,
      hashHex: hex,
      routeConfig,
      attributes: Object.freeze({ ...m.spec.attributes }),
      disabled: m.spec.disabled === true,
      providerCredentials,
    };
    keysByHash.set(hex, key);
    keysById.set(key.id, key);
  }

  const snapshot: Snapshot = {
    version: options.version ?? 1,
    keysByHash,
    keysById,
    routeConfigs,
    entries,
    backends,
    mcpServers,
    inferencePools,
    pods,
  };
  if (keylessRouteConfig) snapshot.keylessRouteConfig = keylessRouteConfig;
  return { snapshot, problems };
}

function compileRouteConfig(
  m: RouteConfigManifest,
  backends: ReadonlyMap<string, CompiledBackend>,
  pools: ReadonlyMap<string, CompiledBackend>,
  mcpServers: ReadonlyMap<string, CompiledMcpServer>,
  { origin, object }: { origin: ManifestOrigin; object: string },
  problems: ConfigProblem[],
): CompiledRouteConfig | undefined {
  const id = objectKey(m.metadata);
  const before = problems.length;
  const entries = new Map<string, CompiledEntry>();
  const byModel = new Map<string, CompiledEntry[]>();
  m.spec.routes.forEach((spec, i) => {
    const path = `spec.routes[${i}]`;
    const isPool = spec.backendRef.kind === 'InferencePool';
    const backend = (isPool ? pools : backends).get(`${m.metadata.namespace}/${spec.backendRef.name}`);
    if (!backend) {
      problems.push(
        problemAt(
          origin,
          object,
          `${path}.backendRef.name`,
          `${isPool ? 'InferencePool' : 'ProviderBackend'} "${spec.backendRef.name}" not found in namespace "${m.metadata.namespace}"`,
        ),
      );
      return;
    }
    const entry = compileEntry(id, spec, backend);
    entries.set(entry.name, entry);
    const list = byModel.get(entry.model) ?? [];
    list.push(entry);
    byModel.set(entry.model, list);
  });
  const mcp =
    m.spec.mcp &&
    compileRouteMcp(m.spec.mcp, m.metadata.namespace, mcpServers, compileMatch, (path, message) =>
      problems.push(problemAt(origin, object, path, message)),
    );
  if (problems.length > before) return undefined;

  const models = new Map<string, CompiledModel>();
  for (const [name, list] of byModel) models.set(name, compileModel(name, list));
  const fallbackSpec = m.spec.fallback ?? {};
  const fallback: FallbackPolicy = {
    attempts: fallbackSpec.attempts ?? 3,
    retryOn: new Set(fallbackSpec.retryOn ?? DEFAULT_RETRY_ON),
    perAttemptTimeoutMs: fallbackSpec.perAttemptTimeout
      ? parseDuration(fallbackSpec.perAttemptTimeout)
      : DEFAULT_PER_ATTEMPT_TIMEOUT_MS,
  };
  const compiled: CompiledRouteConfig = {
    id,
    active: m.spec.active !== false,
    defaultForKeyless: m.spec.defaultForKeyless === true,
    sessionHeader: (m.spec.sessionHeader ?? DEFAULT_SESSION_HEADER).toLowerCase(),
    models,
    modelNames: [...models.keys()].sort(),
    entries,
    fallback,
  };
  if (mcp) compiled.mcp = mcp;
  return compiled;
}

function compileEntry(routeConfigId: string, spec: RouteEntrySpec, backend: CompiledBackend): CompiledEntry {
  const id = `${routeConfigId}/${spec.name}`;
  const entry: CompiledEntry = {
    id,
    name: spec.name,
    routeConfigId,
    model: spec.model,
    backend,
    resolvedModel: spec.modelNameOverride ?? spec.model,
    weight: spec.weight ?? 1,
    priority: spec.priority ?? 0,
    stickySeed: sha256(id).readUInt32BE(0),
    fallbackChain: [],
  };
  if (spec.match) entry.match = compileMatch(spec.match);
  if (spec.baseline === true) entry.baseline = true;
  return entry;
}

function compileStringMatches(
  list: readonly { name: string; type?: string; value: string }[] | undefined,
  lower: boolean,
): CompiledStringMatch[] {
  return (list ?? []).map((m) => {
    const name = lower ? m.name.toLowerCase() : m.name;
    // Gateway API / Envoy regex matches are whole-value matches (RE2 full match), hence the anchors.
    return m.type === 'RegularExpression'
      ? { name, regex: new RegExp(`^(?:${m.value})$`) }
      : { name, exact: m.value };
  });
}

export function compileMatch(match: RouteMatch): CompiledMatch {
  const headers = compileStringMatches(match.headers, true);
  const attributes = compileStringMatches(match.attributes, false);
  // Canonical and unambiguous (values may contain any character), so equal text means equal condition.
  const text = (list: CompiledStringMatch[]) =>
    JSON.stringify(list.map((m) => [m.name, m.regex ? '~' : '=', m.regex ? m.regex.source : m.exact]).sort());
  return { headers, attributes, signature: `${text(headers)}|${text(attributes)}` };
}

/**
 * Policy entries (with `match`) are tried first, in order. The rest form the weighted split at the best
 * priority that has any weight; every higher priority is the fallback chain, in priority then
 * declaration order. A policy entry falls back only to entries with the very same condition, so a
 * compliance route never spills onto a backend its condition would not allow.
 */
function compileModel(name: string, list: CompiledEntry[]): CompiledModel {
  const policy = list.filter((e) => e.match);
  const open = list.filter((e) => !e.match && e.weight > 0).sort((a, b) => a.priority - b.priority);
  for (const entry of policy) {
    const sameCondition = policy
      .filter(
        (e) =>
          e !== entry &&
          e.match!.signature === entry.match!.signature &&
          e.priority > entry.priority &&
          e.weight > 0,
      )
      .sort((a, b) => a.priority - b.priority);
    entry.fallbackChain = [entry, ...sameCondition];
  }
  const model: CompiledModel = { name, policy };
  // An entry at weight 0 (a canary just set back, a variant cut over) is chosen by no new request; one
  // decided a moment before the reload that zeroed it still reaches its backend, then the model's
  // fallbacks, as Envoy's route for it does.
  for (const entry of list)
    if (!entry.match && entry.weight === 0)
      entry.fallbackChain = [entry, ...open.filter((e) => e.priority > entry.priority)];
  const best = open[0]?.priority;
  if (best === undefined) return model;
  const splitEntries = open.filter((e) => e.priority === best);
  const fallbacks = open.filter((e) => e.priority > best);
  for (const entry of splitEntries) entry.fallbackChain = [entry, ...fallbacks];
  // A fallback entry reached directly (by id, on a later attempt) continues down the same chain.
  fallbacks.forEach((e, i) => {
    e.fallbackChain = fallbacks.slice(i);
  });
  let total = 0;
  const cumulative = splitEntries.map((e) => (total += e.weight));
  const split: CompiledSplit = { entries: splitEntries, cumulative, total };
  model.split = split;
  return model;
}

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`invalid duration ${text}`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000;
}
