/**
 * Simulated backends for the local stack: one model server per ProviderBackend that carries the
 * `agentrouter.dev/simulated` annotation, listening on its baseURL's loopback address and port, and
 * requiring the backend's own credential so the gateway's credential injection is exercised too.
 */
import {
  type LocatedManifest,
  type ProviderBackendManifest,
  SIMULATED_ANNOTATION,
} from '../config/manifests.ts';
import { type ModelServer, startModelServer } from './model-server.ts';

export interface SimulatedBackend {
  name: string;
  host: string;
  port: number;
  seed: number;
  apiKey: string | undefined;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export function simulatedBackends(
  manifests: readonly LocatedManifest[],
  secretValue: (namespace: string, name: string, key: string) => string | undefined,
): SimulatedBackend[] {
  const out: SimulatedBackend[] = [];
  for (const { manifest } of manifests) {
    if (manifest.kind !== 'ProviderBackend') continue;
    const backend = manifest as ProviderBackendManifest;
    const seed = backend.metadata.annotations?.[SIMULATED_ANNOTATION];
    if (seed === undefined || !backend.spec.baseURL) continue;
    const url = new URL(backend.spec.baseURL);
    if (!LOOPBACK.test(url.hostname))
      throw new Error(
        `simulated backend ${backend.metadata.name} must use a loopback baseURL, not ${url.host}`,
      );
    const ref = backend.spec.credentials?.secretRef;
    out.push({
      name: backend.metadata.name,
      host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      seed: Number(seed) || 0,
      apiKey: ref ? secretValue(backend.metadata.namespace, ref.name, ref.key ?? 'api-key') : undefined,
    });
  }
  return out;
}

export async function startFleet(
  backends: readonly SimulatedBackend[],
  timing: { ttftMs?: number; msPerToken?: number } = {},
): Promise<ModelServer[]> {
  const servers: ModelServer[] = [];
  try {
    for (const b of backends) {
      servers.push(
        await startModelServer({
          host: b.host,
          port: b.port,
          name: b.name,
          seed: b.seed,
          ...(b.apiKey ? { apiKey: b.apiKey } : {}),
          ...timing,
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  return servers;
}
