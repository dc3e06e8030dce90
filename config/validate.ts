/**
 * Structural validation of one manifest document. Every problem names the field path; nothing here
 * resolves references between objects (that is compile.ts's job, which sees the whole set).
 */

import { CREDENTIAL_TYPES } from './credentials.ts';
import {
  AGENT_ROUTER_API,
  type AnyManifest,
  INFERENCE_API,
  type ManifestOrigin,
  PROVIDERS,
  type RetryOn,
} from './manifests.ts';
import { checkMCPServer, checkRouteMcp } from './mcp.ts';
import { type ConfigProblem, problemAt } from './problems.ts';
import { base64DataProblem } from './secrets.ts';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const RETRY_ON: readonly RetryOn[] = ['connect-failure', '5xx', '429', 'timeout'];
const DURATION = /^\d+(\.\d+)?(ms|s|m)$/;

type Json = Record<string, unknown>;

class Checker {
  readonly problems: ConfigProblem[] = [];
  constructor(
    private readonly origin: ManifestOrigin,
    private readonly object: string,
  ) {}

  fail(path: string, message: string): void {
    this.problems.push(problemAt(this.origin, this.object, path, message));
  }

  object_(value: unknown, path: string, required = true): Json | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    return value as Json;
  }

  array(value: unknown, path: string, required = true): unknown[] | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.fail(path, 'must be a list');
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string, required = true): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(path, 'must be a non-empty string');
      return undefined;
    }
    return value;
  }

  name(value: unknown, path: string): void {
    const s = this.string(value, path);
    if (s !== undefined && (!NAME.test(s) || s.length > 253)) {
      this.fail(path, `"${s}" is not a valid name (lower-case letters, digits, "-" and ".")`);
    }
  }

  boolean(value: unknown, path: string): void {
    if (value !== undefined && typeof value !== 'boolean') this.fail(path, 'must be true or false');
  }

  integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer between ${min} and ${max}`);
    }
  }

  /** US dollars per million tokens: a finite number, zero or more. */
  price(value: unknown, path: string, required: boolean): void {
    if (value === undefined) {
      if (required) this.fail(path, 'is required');
      return;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      this.fail(path, 'must be a number of US dollars per million tokens, 0 or more');
  }

  oneOf(value: unknown, path: string, allowed: readonly string[], required = true): void {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || !allowed.includes(value)) {
      this.fail(
        path,
        `must be one of ${allowed.join(', ')}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`,
      );
    }
  }

  stringMap(value: unknown, path: string): void {
    const map = this.object_(value, path, false);
    if (!map) return;
    for (const [k, v] of Object.entries(map))
      if (typeof v !== 'string') this.fail(`${path}.${k}`, 'must be a string');
  }

  secretRef(value: unknown, path: string): void {
    const ref = this.object_(value, path);
    if (!ref) return;
    this.name(ref.name, `${path}.name`);
    this.string(ref.key, `${path}.key`, false);
  }

  regex(value: string, path: string): void {
    try {
      new RegExp(value);
    } catch (error) {
      this.fail(path, `is not a valid regular expression: ${(error as Error).message}`);
    }
  }

  stringMatch(value: unknown, path: string): void {
    const m = this.object_(value, path);
    if (!m) return;
    this.string(m.name, `${path}.name`);
    this.oneOf(m.type, `${path}.type`, ['Exact', 'RegularExpression'], false);
    const v = this.string(m.value, `${path}.value`);
    if (v !== undefined && m.type === 'RegularExpression') this.regex(v, `${path}.value`);
  }
}

export interface ValidationResult {
  manifest?: AnyManifest;
  problems: ConfigProblem[];
}

/** Validates one parsed YAML document; `namespace` fills a missing metadata.namespace. */
export function validateManifest(
  doc: unknown,
  origin: ManifestOrigin,
  namespace = 'default',
): ValidationResult {
  const top = new Checker(origin, 'document');
  const obj = top.object_(doc, '');
  if (!obj) return { problems: top.problems };
  const kind = typeof obj.kind === 'string' ? obj.kind : '<no kind>';
  const meta = top.object_(obj.metadata, 'metadata');
  const name = meta && typeof meta.name === 'string' ? meta.name : '<no name>';
  const c = new Checker(origin, `${kind} ${name}`);
  c.problems.push(...top.problems);
  if (!meta) return { problems: c.problems };
  c.name(meta.name, 'metadata.name');
  if (meta.namespace !== undefined) c.name(meta.namespace, 'metadata.namespace');
  const normalised = {
    ...obj,
    metadata: { ...meta, namespace: (meta.namespace as string | undefined) ?? namespace },
  };

  const expectApi = (api: string) => {
    if (obj.apiVersion !== api)
      c.fail('apiVersion', `must be ${api} for kind ${kind} (got ${JSON.stringify(obj.apiVersion)})`);
  };
  switch (obj.kind) {
    case 'RouteConfig':
      expectApi(AGENT_ROUTER_API);
      checkRouteConfig(c, obj.spec);
      break;
    case 'ProviderBackend':
      expectApi(AGENT_ROUTER_API);
      checkProviderBackend(c, obj.spec);
      break;
    case 'APIKey':
      expectApi(AGENT_ROUTER_API);
      checkAPIKey(c, obj.spec);
      break;
    case 'MCPServer':
      expectApi(AGENT_ROUTER_API);
      checkMCPServer(c, obj.spec);
      break;
    case 'InferencePool':
      expectApi(INFERENCE_API);
      checkInferencePool(c, obj.spec);
      break;
    case 'Secret':
      expectApi('v1');
      checkSecretData(c, obj.data);
      c.stringMap(obj.stringData, 'stringData');
      break;
    case 'Pod':
      expectApi('v1');
      break;
    default:
      c.fail(
        'kind',
        `unsupported kind ${JSON.stringify(obj.kind)}; expected RouteConfig, ProviderBackend, APIKey, MCPServer, InferencePool, Secret or Pod`,
      );
  }
  return c.problems.length > 0
    ? { problems: c.problems }
    : { manifest: normalised as unknown as AnyManifest, problems: [] };
}

function checkRouteConfig(c: Checker, value: unknown): void {
  const spec = c.object_(value, 'spec');
  if (!spec) return;
  c.boolean(spec.active, 'spec.active');
  c.boolean(spec.defaultForKeyless, 'spec.defaultForKeyless');
  c.string(spec.sessionHeader, 'spec.sessionHeader', false);
  const routes = c.array(spec.routes, 'spec.routes');
  const names = new Set<string>();
  const baselines = new Set<string>();
  routes?.forEach((r, i) => {
    const path = `spec.routes[${i}]`;
    const route = c.object_(r, path);
    if (!route) return;
    c.name(route.name, `${path}.name`);
    if (typeof route.name === 'string') {
      if (names.has(route.name)) c.fail(`${path}.name`, `duplicate route name "${route.name}"`);
      names.add(route.name);
    }
    c.string(route.model, `${path}.model`);
    const ref = c.object_(route.backendRef, `${path}.backendRef`);
    if (ref) {
      c.name(ref.name, `${path}.backendRef.name`);
      c.oneOf(ref.kind, `${path}.backendRef.kind`, ['ProviderBackend', 'InferencePool'], false);
    }
    c.string(route.modelNameOverride, `${path}.modelNameOverride`, false);
    c.integer(route.weight, `${path}.weight`, 0, 1_000_000);
    c.integer(route.priority, `${path}.priority`, 0, 1000);
    c.boolean(route.baseline, `${path}.baseline`);
    if (route.baseline === true && typeof route.model === 'string') {
      if (baselines.has(route.model))
        c.fail(
          `${path}.baseline`,
          `model "${route.model}" already has a baseline entry; at most one entry per model may set baseline`,
        );
      baselines.add(route.model);
    }
    const match = c.object_(route.match, `${path}.match`, false);
    if (match) {
      const headers = c.array(match.headers, `${path}.match.headers`, false);
      headers?.forEach((h, j) => {
        c.stringMatch(h, `${path}.match.headers[${j}]`);
      });
      const attributes = c.array(match.attributes, `${path}.match.attributes`, false);
      attributes?.forEach((a, j) => {
        c.stringMatch(a, `${path}.match.attributes[${j}]`);
      });
      if (!headers?.length && !attributes?.length)
        c.fail(`${path}.match`, 'must have at least one header or attribute condition');
    }
  });
  const fallback = c.object_(spec.fallback, 'spec.fallback', false);
  if (fallback) {
    c.integer(fallback.attempts, 'spec.fallback.attempts', 1, 10);
    const retryOn = c.array(fallback.retryOn, 'spec.fallback.retryOn', false);
    retryOn?.forEach((r, i) => {
      // YAML reads an unquoted 429 as a number; it means the status code either way.
      if (r === 429) retryOn[i] = '429';
      c.oneOf(retryOn[i], `spec.fallback.retryOn[${i}]`, RETRY_ON);
    });
    const timeout = c.string(fallback.perAttemptTimeout, 'spec.fallback.perAttemptTimeout', false);
    if (timeout !== undefined && !DURATION.test(timeout)) {
      c.fail('spec.fallback.perAttemptTimeout', `"${timeout}" is not a duration like 500ms, 30s or 2m`);
    }
  }
  checkRollouts(c, spec, routes);
  checkRouteMcp(c, spec.mcp);
}

/** A rollout's step duration: whole seconds, minutes or hours. */
const ROLLOUT_DURATION = /^\d+(s|m|h)$/;
const GATES = ['errorRate', 'ttftP90', 'latencyP90', 'costPerRequest'] as const;

/**
 * spec.rollouts: one per logical model, each naming a model whose split (the entries without a match,
 * at their best priority) has exactly two variants, steps strictly ascending from 1 to 100, and at least
 * one gate. The rollout controller reads these (rollout/).
 */
function checkRollouts(c: Checker, spec: Json, routes: unknown[] | undefined): void {
  const rollouts = c.array(spec.rollouts, 'spec.rollouts', false);
  if (!rollouts) return;
  const models = new Set<string>();
  rollouts.forEach((r, i) => {
    const path = `spec.rollouts[${i}]`;
    const rollout = c.object_(r, path);
    if (!rollout) return;
    const model = c.string(rollout.model, `${path}.model`);
    if (model !== undefined) {
      if (models.has(model)) c.fail(`${path}.model`, `model "${model}" already has a rollout; one per model`);
      models.add(model);
      const variants = splitVariantNames(routes ?? [], model);
      if (variants.length !== 2)
        c.fail(
          `${path}.model`,
          variants.length === 0
            ? `no route entry of spec.routes shares traffic for model "${model}"; a rollout needs its two weighted variants`
            : `model "${model}" has ${variants.length} weighted variants (${variants.join(', ')}); a rollout moves traffic between exactly two`,
        );
    }
    const steps = c.array(rollout.steps, `${path}.steps`);
    if (steps) {
      if (steps.length === 0 || steps.length > 20) c.fail(`${path}.steps`, 'must list 1 to 20 steps');
      steps.forEach((step, j) => {
        c.integer(step, `${path}.steps[${j}]`, 1, 100);
        const before = steps[j - 1];
        if (j > 0 && typeof step === 'number' && typeof before === 'number' && step <= before)
          c.fail(`${path}.steps[${j}]`, `steps must rise: ${step} follows ${before}`);
      });
      if (steps.length > 0 && steps[steps.length - 1] !== 100)
        c.fail(`${path}.steps`, 'the last step must be 100 (the candidate takes all traffic)');
    }
    const duration = c.string(rollout.stepDuration, `${path}.stepDuration`, false);
    if (duration !== undefined && !ROLLOUT_DURATION.test(duration))
      c.fail(`${path}.stepDuration`, `"${duration}" is not a duration like 30s, 10m or 1h`);
    c.integer(rollout.minRequests, `${path}.minRequests`, 1, 1_000_000);
    c.boolean(rollout.paused, `${path}.paused`);
    const gates = c.object_(rollout.gates, `${path}.gates`);
    if (gates) {
      let any = false;
      for (const [name, value] of Object.entries(gates)) {
        if (!(GATES as readonly string[]).includes(name)) {
          c.fail(`${path}.gates.${name}`, `is not a gate; gates are ${GATES.join(', ')}`);
          continue;
        }
        any = true;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1000)
          c.fail(
            `${path}.gates.${name}`,
            'must be a number from 0 to 1000 (percent, or percentage points for errorRate)',
          );
      }
      if (!any) c.fail(`${path}.gates`, `must set at least one of ${GATES.join(', ')}`);
    }
  });
}

/**
 * The names of the entries that share a model's traffic by weight: no match, at the best priority
 * among those (as compile.ts builds the split, except that weight-0 entries count: a cut-over variant
 * is still one of the two).
 */
export function splitVariantNames(routes: readonly unknown[], model: string): string[] {
  const open = routes.filter(
    (r): r is Json =>
      typeof r === 'object' && r !== null && (r as Json).model === model && (r as Json).match === undefined,
  );
  if (open.length === 0) return [];
  const priority = (r: Json) => (typeof r.priority === 'number' ? r.priority : 0);
  const best = Math.min(...open.map(priority));
  return open.filter((r) => priority(r) === best).map((r) => String(r.name));
}

function checkProviderBackend(c: Checker, value: unknown): void {
  const spec = c.object_(value, 'spec');
  if (!spec) return;
  c.oneOf(spec.provider, 'spec.provider', PROVIDERS);
  const baseURL = c.string(spec.baseURL, 'spec.baseURL', spec.provider === 'OpenAICompatible');
  if (baseURL !== undefined) {
    try {
      const url = new URL(baseURL);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        c.fail('spec.baseURL', 'must be an http(s) URL');
      if (url.search || url.hash) c.fail('spec.baseURL', 'must not carry a query or fragment');
    } catch {
      c.fail('spec.baseURL', `"${baseURL}" is not a URL`);
    }
  }
  c.string(spec.region, 'spec.region', false);
  c.string(spec.apiVersion, 'spec.apiVersion', false);
  c.string(spec.project, 'spec.project', false);
  const credentials = c.object_(spec.credentials, 'spec.credentials', false);
  if (credentials) {
    c.oneOf(credentials.type, 'spec.credentials.type', CREDENTIAL_TYPES, false);
    c.secretRef(credentials.secretRef, 'spec.credentials.secretRef');
  }
  const defaults = c.object_(spec.defaults, 'spec.defaults', false);
  if (defaults) c.integer(defaults.maxTokens, 'spec.defaults.maxTokens', 1);
  c.boolean(spec.streamUsage, 'spec.streamUsage');
  const pricing = c.array(spec.pricing, 'spec.pricing', false);
  const priced = new Set<string>();
  pricing?.forEach((item, i) => {
    const path = `spec.pricing[${i}]`;
    const price = c.object_(item, path);
    if (!price) return;
    const model = c.string(price.model, `${path}.model`);
    if (model !== undefined) {
      if (priced.has(model)) c.fail(`${path}.model`, `prices ${JSON.stringify(model)} a second time`);
      priced.add(model);
    }
    c.price(price.inputPerMillionTokens, `${path}.inputPerMillionTokens`, true);
    c.price(price.outputPerMillionTokens, `${path}.outputPerMillionTokens`, true);
    c.price(price.cachedInputPerMillionTokens, `${path}.cachedInputPerMillionTokens`, false);
  });
}

function checkAPIKey(c: Checker, value: unknown): void {
  const spec = c.object_(value, 'spec');
  if (!spec) return;
  c.secretRef(spec.secretRef, 'spec.secretRef');
  const rc = c.object_(spec.routeConfigRef, 'spec.routeConfigRef');
  if (rc) c.name(rc.name, 'spec.routeConfigRef.name');
  c.stringMap(spec.attributes, 'spec.attributes');
  c.boolean(spec.disabled, 'spec.disabled');
  const creds = c.array(spec.providerCredentials, 'spec.providerCredentials', false);
  creds?.forEach((entry, i) => {
    const e = c.object_(entry, `spec.providerCredentials[${i}]`);
    if (!e) return;
    const ref = c.object_(e.backendRef, `spec.providerCredentials[${i}].backendRef`);
    if (ref) c.name(ref.name, `spec.providerCredentials[${i}].backendRef.name`);
    c.secretRef(e.secretRef, `spec.providerCredentials[${i}].secretRef`);
  });
}

/**
 * `data` values are base64, checked as the API server decodes them (secrets.ts): a value it would
 * refuse is refused here too, instead of becoming garbled credential bytes.
 */
function checkSecretData(c: Checker, value: unknown): void {
  c.stringMap(value, 'data');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const problem = typeof v === 'string' ? base64DataProblem(v) : undefined;
    if (problem) c.fail(`data[${key}]`, problem);
  }
}

function checkInferencePool(c: Checker, value: unknown): void {
  const spec = c.object_(value, 'spec');
  if (!spec) return;
  const selector = c.object_(spec.selector, 'spec.selector');
  if (selector) c.stringMap(selector.matchLabels, 'spec.selector.matchLabels');
  const ports = c.array(spec.targetPorts, 'spec.targetPorts');
  ports?.forEach((p, i) => {
    const port = c.object_(p, `spec.targetPorts[${i}]`);
    if (port) c.integer(port.number, `spec.targetPorts[${i}].number`, 1, 65535);
  });
  const epp = c.object_(spec.endpointPickerRef, 'spec.endpointPickerRef', false);
  if (epp) {
    c.name(epp.name, 'spec.endpointPickerRef.name');
    c.oneOf(epp.failureMode, 'spec.endpointPickerRef.failureMode', ['FailOpen', 'FailClose'], false);
  }
}
