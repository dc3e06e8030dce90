/**
 * Objects as a user would `kubectl apply` them, for the fake API server and the reconcile tests, plus
 * what the tests read back from a snapshot.
 */
import { createHash } from 'node:crypto';
import type { Snapshot } from '../../config/snapshot.ts';
import type { KubeSourceOptions } from '../../kube/source.ts';
import { createLogger } from '../../observability/logger.ts';

export const NS = 'apps';
const API = 'agentrouter.dev/v1alpha1';
type Json = Record<string, unknown>;

export const silentLogger = createLogger({ level: 'silent' });

/** Fast timings for tests: they poll for outcomes, they do not wait for these to pass. */
export const FAST: Pick<KubeSourceOptions, 'debounceMs' | 'backoff' | 'watchTimeoutSeconds' | 'logger'> = {
  debounceMs: 10,
  backoff: { initialMs: 20, maxMs: 200 },
  watchTimeoutSeconds: 60,
  logger: silentLogger,
};

export function secret(
  name: string,
  data: Record<string, string>,
  options: { ns?: string; labelled?: boolean } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: options.ns ?? NS,
      ...(options.labelled === false ? {} : { labels: { 'agentrouter.dev/secret': 'true' } }),
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function backend(name: string, spec: Json = {}, ns = NS) {
  return {
    apiVersion: API,
    kind: 'ProviderBackend',
    metadata: { name, namespace: ns },
    spec: {
      provider: 'OpenAI',
      baseURL: 'https://api.openai.example/v1',
      credentials: { secretRef: { name: 'openai', key: 'api-key' } },
      ...spec,
    },
  };
}

export function route(name: string, model: string, backendName: string, extra: Json = {}) {
  return { name, model, backendRef: { name: backendName }, ...extra };
}

export function routeConfig(name: string, routes: Json[], extra: Json = {}, ns = NS) {
  return {
    apiVersion: API,
    kind: 'RouteConfig',
    metadata: { name, namespace: ns },
    spec: { routes, ...extra },
  };
}

export function apiKey(name: string, secretName: string, routeConfigName: string, extra: Json = {}, ns = NS) {
  return {
    apiVersion: API,
    kind: 'APIKey',
    metadata: { name, namespace: ns },
    spec: {
      secretRef: { name: secretName, key: 'key' },
      routeConfigRef: { name: routeConfigName },
      ...extra,
    },
  };
}

export function inferencePool(name: string, matchLabels: Record<string, string>, ns = NS) {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace: ns },
    spec: { selector: { matchLabels }, targetPorts: [{ number: 8000 }], endpointPickerRef: { name: 'epp' } },
  };
}

export function pod(name: string, labels: Record<string, string>, ip: string, ready = true, ns = NS) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() },
      ],
    },
  };
}

/** A working base: provider Secret, backend, RouteConfig "chat" (chat-model → gpt-4o) and an APIKey. */
export function baseObjects(ns = NS): Json[] {
  return [
    secret('openai', { 'api-key': 'sk-provider-0001' }, { ns }),
    secret('team-a', { key: 'sk-team-a-key-0001' }, { ns }),
    backend('openai', {}, ns),
    routeConfig('chat', [route('main', 'chat-model', 'openai', { modelNameOverride: 'gpt-4o' })], {}, ns),
    apiKey('team-a', 'team-a', 'chat', { attributes: { tenant: 'a' } }, ns),
  ];
}

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The provider model a RouteConfig's logical model resolves to (its first split entry). */
export function resolvedModel(snapshot: Snapshot, routeConfigId: string, model: string): string | undefined {
  return snapshot.routeConfigs.get(routeConfigId)?.models.get(model)?.split?.entries[0]?.resolvedModel;
}

export function knowsKey(snapshot: Snapshot, key: string): boolean {
  return snapshot.keysByHash.has(sha256Hex(key));
}
