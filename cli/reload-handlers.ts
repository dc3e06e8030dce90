import type { FileWatchHandlers } from '../config/file-source.ts';
import { ConfigError } from '../config/problems.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { Logger } from '../observability/logger.ts';

/** What every service does with a configuration change: apply a good one, log (and count) a bad one. */
export function reloadHandlers(
  logger: Logger,
  apply: (snapshot: Snapshot) => void,
  reloads?: { inc(labels: { result: string }): void },
): FileWatchHandlers {
  return {
    onSnapshot(snapshot) {
      apply(snapshot);
      reloads?.inc({ result: 'applied' });
      logger.info({ event: 'config_applied', version: snapshot.version }, 'configuration reloaded');
    },
    onRejected(error) {
      reloads?.inc({ result: 'rejected' });
      logger.error(
        { event: 'config_rejected', problems: error instanceof ConfigError ? error.problems : undefined },
        `configuration change rejected, keeping the last good one: ${error.message}`,
      );
    },
  };
}
