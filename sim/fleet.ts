/**
 * Simulated model servers for the local stack, from the same manifests a cluster would hold:
 * - one per ProviderBackend that carries the `agentrouter.dev/simulated` annotation, listening on its
 *   baseURL's loopback address and port, and requiring the backend's own credential so the gateway's
 *   credential injection is exercised too;
 * - one per Pod (Kubernetes core v1) carrying that annotation, listening where an InferencePool's endpoint
 *   picker would send its traffic: the pod's `status.podIP` and the pool's target port. Per-pod annotations
 *   tune its engine, so a pool can mix fast and slow, large and small replicas.
 */
import {
  type InferencePoolManifest,
  type LocatedManifest,
  type PodManifest,
  type ProviderBackendManifest,
  SIMULATED_ANNOTATION,
} from '../config/manifests.ts';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './engine/config.ts';
import { type ModelServer, type ModelServerOptions, startModelServer } from './model-server.ts';

export interface SimulatedBackend {
  name: string;
  host: string;
  port: number;
  seed: number;
  apiKey: string | undefined;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
const LOOPBACK_IP = /^(127\.\d+\.\d+\.\d+|::1)$/;

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
  return startAll(
    backends.map((b) => ({
      host: b.host,
      port: b.port,
      name: b.name,
      seed: b.seed,
      ...(b.apiKey ? { apiKey: b.apiKey } : {}),
      ...timing,
    })),
  );
}

/** One simulated vLLM replica: a pod, or one rank of a pod when its pool lists several target ports. */
export interface SimulatedPod {
  /** The pod's name, with `:<port>` appended when the pod serves several ports. */
  name: string;
  namespace: string;
  /** The InferencePool that selects the pod, if any. */
  pool: string | undefined;
  host: string;
  port: number;
  seed: number;
  /** Engine settings from the pod's annotations; the rest come from the fleet's defaults. */
  engine: Partial<EngineConfig>;
}

/** Per-pod engine settings: `agentrouter.dev/sim-<setting>` annotations, numbers as strings. */
export const POD_ENGINE_ANNOTATIONS: Readonly<
  Record<string, { readonly key: keyof EngineConfig; readonly integer: boolean; readonly min: 0 | 1 }>
> = {
  'agentrouter.dev/sim-max-batch-size': { key: 'maxBatchSize', integer: true, min: 1 },
  'agentrouter.dev/sim-kv-cache-blocks': { key: 'kvCacheBlocks', integer: true, min: 1 },
  'agentrouter.dev/sim-block-size': { key: 'blockSize', integer: true, min: 1 },
  'agentrouter.dev/sim-prefix-cache-blocks': { key: 'prefixCacheBlocks', integer: true, min: 0 },
  'agentrouter.dev/sim-prefill-ms-base': { key: 'prefillMsBase', integer: false, min: 0 },
  'agentrouter.dev/sim-prefill-ms-per-token': { key: 'prefillMsPerToken', integer: false, min: 0 },
  'agentrouter.dev/sim-decode-ms-per-step': { key: 'decodeMsPerStepBase', integer: false, min: 0 },
  'agentrouter.dev/sim-decode-ms-per-seq': { key: 'decodeMsPerStepPerSeq', integer: false, min: 0 },
};

/**
 * The simulated pods among `manifests`: every Pod annotated `agentrouter.dev/simulated: "<seed>"`. It
 * listens on its `status.podIP`, which must be a loopback address (127.0.0.11, 127.0.0.12, … give each pod
 * its own IP, as in a cluster), and on each target port of the InferencePool(s) selecting it (the pool's
 * `selector.matchLabels` against the pod's labels, in the pod's namespace); a pod no pool selects listens on
 * its first container port. Throws an Error naming the pod and field for anything it cannot serve.
 */
export function simulatedPods(manifests: readonly LocatedManifest[]): SimulatedPod[] {
  const pools: InferencePoolManifest[] = [];
  for (const { manifest } of manifests) {
    if (manifest.kind === 'InferencePool') pools.push(manifest as InferencePoolManifest);
  }
  const out: SimulatedPod[] = [];
  const addresses = new Map<string, string>();
  for (const { manifest } of manifests) {
    if (manifest.kind !== 'Pod') continue;
    const pod = manifest as PodManifest;
    const { name, namespace } = pod.metadata;
    const annotations = pod.metadata.annotations ?? {};
    const seedText = annotations[SIMULATED_ANNOTATION];
    if (seedText === undefined) continue;
    const where = `simulated pod ${namespace}/${name}`;
    const seed = Number(seedText);
    if (seedText.trim() === '' || !Number.isInteger(seed)) {
      throw new Error(
        `${where}: annotation ${SIMULATED_ANNOTATION} must be an integer seed, got "${seedText}"`,
      );
    }
    const host = pod.status?.podIP;
    if (host === undefined || !LOOPBACK_IP.test(host)) {
      throw new Error(
        `${where}: status.podIP must be a loopback address such as 127.0.0.11, got ${host ?? 'none'}`,
      );
    }
    const selecting = pools.filter((pool) => pool.metadata.namespace === namespace && selects(pool, pod));
    const ports = listenPorts(pod, selecting);
    if (ports.length === 0) {
      throw new Error(`${where}: no InferencePool selects it and it declares no container port`);
    }
    const engine = engineAnnotations(annotations, where);
    for (const port of ports) {
      const address = `${host}:${port}`;
      const taken = addresses.get(address);
      if (taken !== undefined) throw new Error(`${where}: ${address} is already taken by ${taken}`);
      const podName = ports.length > 1 ? `${name}:${port}` : name;
      addresses.set(address, `simulated pod ${namespace}/${podName}`);
      out.push({ name: podName, namespace, pool: selecting[0]?.metadata.name, host, port, seed, engine });
    }
  }
  return out;
}

/**
 * Starts a model server per simulated pod. Settings a pod does not annotate come from `defaults`, then
 * from DEFAULT_ENGINE_CONFIG (vLLM-like costs, so replicas differ in load the way real ones do).
 */
export async function startSimulatedPods(
  pods: readonly SimulatedPod[],
  defaults: Partial<EngineConfig> = {},
): Promise<ModelServer[]> {
  return startAll(
    pods.map((pod) => ({
      host: pod.host,
      port: pod.port,
      name: pod.name,
      seed: pod.seed,
      engine: { ...DEFAULT_ENGINE_CONFIG, ...defaults, ...pod.engine, seed: pod.seed },
    })),
  );
}

/** Starts every server, or none: on a failure the ones already listening are closed. */
async function startAll(options: readonly ModelServerOptions[]): Promise<ModelServer[]> {
  const servers: ModelServer[] = [];
  try {
    for (const option of options) servers.push(await startModelServer(option));
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  return servers;
}

/** Label selector semantics: every matchLabels pair must be on the pod (an empty selector selects all). */
function selects(pool: InferencePoolManifest, pod: PodManifest): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(pool.spec.selector.matchLabels).every(([key, value]) => labels[key] === value);
}

/**
 * Where the pod listens: every target port of the pools selecting it (the Gateway API Inference Extension
 * treats each as an endpoint of the pod, e.g. one per data-parallel rank), else its first container port.
 */
function listenPorts(pod: PodManifest, pools: readonly InferencePoolManifest[]): number[] {
  const ports = new Set<number>();
  for (const pool of pools) for (const target of pool.spec.targetPorts) ports.add(target.number);
  if (ports.size > 0) return [...ports];
  const containerPort = containerPorts(pod)[0];
  return containerPort === undefined ? [] : [containerPort];
}

/** `spec.containers[].ports[].containerPort`, read defensively: the manifest's Pod spec is not validated. */
function containerPorts(pod: PodManifest): number[] {
  const out: number[] = [];
  const containers = (pod.spec as { containers?: unknown } | undefined)?.containers;
  if (!Array.isArray(containers)) return out;
  for (const container of containers) {
    const ports = (container as { ports?: unknown } | null)?.ports;
    if (!Array.isArray(ports)) continue;
    for (const port of ports) {
      const number = (port as { containerPort?: unknown } | null)?.containerPort;
      if (typeof number === 'number' && Number.isInteger(number) && number > 0 && number < 65536) {
        out.push(number);
      }
    }
  }
  return out;
}

function engineAnnotations(
  annotations: Readonly<Record<string, string>>,
  where: string,
): Partial<EngineConfig> {
  const engine: Partial<Record<keyof EngineConfig, number>> = {};
  for (const [annotation, setting] of Object.entries(POD_ENGINE_ANNOTATIONS)) {
    const text = annotations[annotation];
    if (text === undefined) continue;
    const value = Number(text);
    const valid =
      text.trim() !== '' &&
      Number.isFinite(value) &&
      value >= setting.min &&
      (!setting.integer || Number.isInteger(value));
    if (!valid) {
      const kind = setting.integer ? 'an integer' : 'a number';
      throw new Error(
        `${where}: annotation ${annotation} must be ${kind} of at least ${setting.min}, got "${text}"`,
      );
    }
    engine[setting.key] = value;
  }
  return engine;
}
