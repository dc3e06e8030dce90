/**
 * The Kubernetes source as the CLI starts it in a pod. Credentials come from the KubeConfig's usual places
 * (in-cluster service account, $KUBECONFIG, ~/.kube/config); scope and identity from the environment the
 * Helm chart sets (charts/agent-router, "Configuration source"):
 *
 *   AGENT_ROUTER_WATCH_NAMESPACES   comma-separated; empty or unset: all namespaces
 *   AGENT_ROUTER_SECRET_NAMESPACES  where Secrets are read; default: the watched namespaces
 *   AGENT_ROUTER_SECRET_SELECTOR    which Secrets are read (label selector; default agentrouter.dev/secret=true)
 *   AGENT_ROUTER_LEADER_ELECTION    "false": write status without electing a writer (one replica)
 *   AGENT_ROUTER_LEASE_NAME         the status Lease (default agent-router-status)
 *   POD_NAME, POD_NAMESPACE         the Lease holder identity and the Lease's namespace (downward API)
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { CompileOptions } from '../config/compile.ts';
import type { Logger } from '../observability/logger.ts';
import type { WatchedKind } from './resources.ts';
import type { KubeSourceOptions } from './source.ts';

/** `--config kubernetes://` selects the Kubernetes source (the chart's `config.kubernetesArg`). */
export const KUBERNETES_CONFIG_ARG = 'kubernetes://';

export function isKubernetesConfig(configArg: string | undefined): boolean {
  return configArg?.startsWith(KUBERNETES_CONFIG_ARG) === true;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * What each service reads: ext-proc never reads Pods, the picker never reads Secrets or our kinds. The
 * console compiles the same configuration as ext-proc (its experiments read the splits in force) and
 * reads its admin token from a Secret.
 */
const KINDS: Record<'ext-proc' | 'endpoint-picker' | 'console', readonly WatchedKind[]> = {
  'ext-proc': ['RouteConfig', 'ProviderBackend', 'APIKey', 'MCPServer', 'InferencePool', 'Secret'],
  'endpoint-picker': ['InferencePool', 'Pod'],
  console: ['RouteConfig', 'ProviderBackend', 'APIKey', 'InferencePool', 'Secret'],
};

export interface EnvironmentSourceOptions {
  service: 'ext-proc' | 'endpoint-picker' | 'console';
  logger: Logger;
  /** endpoint-picker: "namespace/name" of its pool; only that namespace is watched. */
  poolId?: string;
  /** A comma-separated namespace list that overrides AGENT_ROUTER_WATCH_NAMESPACES. */
  namespaces?: string;
  compile?: CompileOptions;
  env?: NodeJS.ProcessEnv;
  /** Defaults to the KubeConfig loaded from the usual places. */
  kubeConfig?: KubeConfig;
}

function namespaceList(text: string | undefined): string[] | undefined {
  const list = (text ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** The namespace this pod runs in: POD_NAMESPACE (downward API), else the service account's, else default. */
export function podNamespace(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

export function kubeSourceOptionsFromEnvironment(options: EnvironmentSourceOptions): KubeSourceOptions {
  const env = options.env ?? process.env;
  let kubeConfig = options.kubeConfig;
  if (!kubeConfig) {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
  }
  const poolNamespace = options.poolId?.includes('/') ? options.poolId.split('/')[0] : undefined;
  const namespaces =
    options.service === 'endpoint-picker' && poolNamespace
      ? [poolNamespace]
      : (namespaceList(options.namespaces ?? env.AGENT_ROUTER_WATCH_NAMESPACES) ?? 'all');
  const result: KubeSourceOptions = {
    kubeConfig,
    namespaces,
    secretNamespaces: namespaceList(env.AGENT_ROUTER_SECRET_NAMESPACES) ?? namespaces,
    logger: options.logger,
    kinds: KINDS[options.service],
  };
  if (env.AGENT_ROUTER_SECRET_SELECTOR !== undefined)
    result.secretLabelSelector = env.AGENT_ROUTER_SECRET_SELECTOR;
  if (options.compile) result.compile = options.compile;
  // Only ext-proc writes status: the picker reads no kind that has ours, the console only reads.
  if (options.service === 'ext-proc')
    result.status = {
      elect: env.AGENT_ROUTER_LEADER_ELECTION !== 'false',
      identity: env.POD_NAME || hostname(),
      leaseNamespace: podNamespace(env),
      leaseName: env.AGENT_ROUTER_LEASE_NAME || 'agent-router-status',
    };
  return result;
}
