/**
 * API keys in the console: the APIKey objects as their source holds them, shown without any secret
 * (the Secret is named by nothing but its reference), and the two writes the console makes — a new key,
 * whose secret the console generates and stores as a Secret next to it and returns once, and the
 * enable/disable toggle (`spec.disabled`). Plain data in, a planned edit out (config/writer.ts).
 */
import { randomBytes } from 'node:crypto';
import { AGENT_ROUTER_API } from '../config/manifests.ts';
import type { Json, PlannedEdit, StoredConfig, StoredObject } from '../config/writer.ts';
import { consoleErrors } from './errors.ts';
import { conditionsOf, uniqueObject } from './objects.ts';

/** Secrets agent-router reads in Kubernetes mode carry this label (kube/source.ts); harmless in a file. */
const SECRET_LABEL = { 'agentrouter.dev/secret': 'true' };
const SECRET_KEY = 'api-key';
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface KeyView {
  name: string;
  namespace: string;
  enabled: boolean;
  attributes: Record<string, string>;
  routeConfig: string;
  /** Bring-your-own-key: the backends this key brings its own credential for, by name only. */
  backends: string[];
  /** Kubernetes mode: the status conditions (Accepted, ResolvedRefs) as the cluster reports them. */
  conditions?: unknown[];
  generation?: number;
}

export interface NewKey {
  name: string;
  routeConfig: string;
  attributes: Record<string, string>;
}

export function keyView(stored: StoredObject): KeyView {
  const spec = (stored.object.spec ?? {}) as {
    disabled?: boolean;
    attributes?: Record<string, string>;
    routeConfigRef?: { name?: string };
    providerCredentials?: { backendRef?: { name?: string } }[];
  };
  return {
    name: stored.name,
    namespace: stored.namespace,
    enabled: spec.disabled !== true,
    attributes: { ...(spec.attributes ?? {}) },
    routeConfig: spec.routeConfigRef?.name ?? '',
    backends: (spec.providerCredentials ?? []).flatMap((c) =>
      c.backendRef?.name ? [c.backendRef.name] : [],
    ),
    ...conditionsOf(stored),
  };
}

export function listKeys(config: StoredConfig): KeyView[] {
  return config.objects
    .filter((o) => o.kind === 'APIKey')
    .map(keyView)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A gateway key: 192 random bits, URL-safe, with a prefix that says what it is when found in a log. */
export function generateKeySecret(): string {
  return `sk-ar-${randomBytes(24).toString('base64url')}`;
}

/** Reads POST /api/v1/keys's body. */
export function parseNewKey(body: Json): NewKey {
  for (const field of Object.keys(body))
    if (!['name', 'routeConfig', 'attributes'].includes(field))
      throw consoleErrors.invalidBody(
        `Unknown field ${JSON.stringify(field)}; a new key takes name, routeConfig and attributes.`,
        field,
      );
  const { name, routeConfig, attributes } = body;
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 63)
    throw consoleErrors.invalidBody(
      'name must be a lower-case name of letters, digits and "-" (at most 63 characters).',
      'name',
    );
  if (typeof routeConfig !== 'string' || routeConfig === '')
    throw consoleErrors.invalidBody('routeConfig must name the RouteConfig the key uses.', 'routeConfig');
  if (attributes !== undefined) {
    if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes))
      throw consoleErrors.invalidBody('attributes must be an object of strings.', 'attributes');
    for (const [k, v] of Object.entries(attributes))
      if (typeof v !== 'string')
        throw consoleErrors.invalidBody(`attributes.${k} must be a string.`, 'attributes');
  }
  return { name, routeConfig, attributes: (attributes as Record<string, string> | undefined) ?? {} };
}

export const secretNameFor = (keyName: string) => `apikey-${keyName}`;

/**
 * A new APIKey and its Secret, in the RouteConfig's namespace (the reference is local), next to the
 * RouteConfig in file mode.
 */
export function planCreateKey(current: StoredConfig, input: NewKey, secret: string): PlannedEdit<KeyView> {
  const routeConfig = uniqueObject(current, 'RouteConfig', input.routeConfig);
  const namespace = routeConfig.namespace;
  const secretName = secretNameFor(input.name);
  const taken = (kind: string, name: string) =>
    current.objects.some((o) => o.kind === kind && o.name === name && o.namespace === namespace);
  if (taken('APIKey', input.name)) throw consoleErrors.alreadyExists('APIKey', input.name);
  if (taken('Secret', secretName)) throw consoleErrors.alreadyExists('Secret', secretName);
  const metadata = (name: string, extra: Json = {}) =>
    (routeConfig.object.metadata as Json).namespace === undefined
      ? { name, ...extra }
      : { name, namespace, ...extra };
  const key: Json = {
    apiVersion: AGENT_ROUTER_API,
    kind: 'APIKey',
    metadata: metadata(input.name),
    spec: {
      secretRef: { name: secretName, key: SECRET_KEY },
      routeConfigRef: { name: routeConfig.name },
      ...(Object.keys(input.attributes).length > 0 ? { attributes: input.attributes } : {}),
    },
  };
  return {
    changes: [
      {
        op: 'create',
        near: routeConfig,
        object: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: metadata(secretName, { labels: SECRET_LABEL }),
          stringData: { [SECRET_KEY]: secret },
        },
      },
      { op: 'create', near: routeConfig, object: key },
    ],
    result: keyView({ kind: 'APIKey', name: input.name, namespace, object: key }),
  };
}

/** Enables (drops `spec.disabled`) or disables (`spec.disabled: true`) a key. */
export function planSetEnabled(current: StoredConfig, name: string, enabled: boolean): PlannedEdit<KeyView> {
  const stored = uniqueObject(current, 'APIKey', name);
  const object = structuredClone(stored.object);
  const spec = (object.spec ?? {}) as Json;
  if (enabled) delete spec.disabled;
  else spec.disabled = true;
  object.spec = spec;
  return {
    changes: [{ op: 'replace', target: stored, object }],
    result: keyView({ ...stored, object }),
  };
}

export function parseEnabled(body: Json): boolean {
  for (const field of Object.keys(body))
    if (field !== 'enabled')
      throw consoleErrors.invalidBody(
        `Unknown field ${JSON.stringify(field)}; a key's PATCH takes enabled.`,
        field,
      );
  if (typeof body.enabled !== 'boolean')
    throw consoleErrors.invalidBody('enabled must be true or false.', 'enabled');
  return body.enabled;
}
