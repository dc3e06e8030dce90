/**
 * Runs the rollout controller where it belongs: in file mode at once (one process edits the file); in
 * Kubernetes mode only while this console replica holds the `agent-router-rollouts` Lease, so several
 * replicas never step one canary twice (kube/leader-election.ts, client-go's algorithm). A replica that
 * loses the Lease stops at once; the next leader starts from the weights and status in the cluster.
 */
import type { RequestStore } from '../../analytics/store/store.ts';
import type { ConfigWriter } from '../../config/writer.ts';
import { KubeApi } from '../../kube/api.ts';
import { LeaderElector } from '../../kube/leader-election.ts';
import type { Logger } from '../../observability/logger.ts';
import { RolloutController, type RolloutStatus } from './controller.ts';
import { kubeRolloutReporter } from './kube-reporter.ts';

export const ROLLOUT_LEASE = 'agent-router-rollouts';

export interface RolloutRunOptions {
  writer: ConfigWriter;
  store: RequestStore;
  logger: Logger;
  /** File mode: where step starts and rollbacks are kept (the data directory). */
  stateFile?: string;
  /** Kubernetes mode: the API, and the Lease's namespace and holder identity (POD_NAMESPACE, POD_NAME). */
  kubernetes?: {
    kubeConfig: ConstructorParameters<typeof KubeApi>[0];
    leaseNamespace: string;
    identity: string;
    /** The Lease's name (AGENT_ROUTER_ROLLOUT_LEASE; the chart names one per release); default ROLLOUT_LEASE. */
    leaseName?: string;
    /** The election's timing (kube/leader-election.ts defaults, client-go's, otherwise). */
    timing?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  };
  intervalMs?: number;
}

export interface RolloutRun {
  /** The rollouts as of the last tick of this replica (empty while another replica leads). */
  status(): readonly RolloutStatus[];
  stop(): Promise<void>;
}

export function runRollouts(options: RolloutRunOptions): RolloutRun {
  const { writer, store, logger } = options;
  const kube = options.kubernetes;
  const api = kube ? new KubeApi(kube.kubeConfig) : undefined;
  const controller = new RolloutController({
    writer,
    store,
    logger,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(api ? { reporter: kubeRolloutReporter(api) } : {}),
    // In Kubernetes the step's start is read back from status on a new leader; a file only in file mode.
    ...(options.stateFile !== undefined && !kube ? { stateFile: options.stateFile } : {}),
  });
  if (!kube || !api) {
    controller.start();
    return { status: () => controller.status, stop: () => controller.stop() };
  }
  let leading = false;
  const elector = new LeaderElector({
    api,
    namespace: kube.leaseNamespace,
    name: kube.leaseName ?? ROLLOUT_LEASE,
    identity: kube.identity,
    logger,
    ...kube.timing,
    onStartedLeading: () => {
      leading = true;
      logger.info({ event: 'rollout_leader' }, 'rollout controller: leading');
      controller.start();
    },
    onStoppedLeading: () => {
      leading = false;
      void controller.stop();
    },
  });
  elector.start();
  return {
    status: () => (leading ? controller.status : []),
    async stop() {
      await controller.stop();
      await elector.stop();
    },
  };
}
