/**
 * The audit log: one structured line per write attempt on the console API, accepted or refused, saying
 * who (an actor label, never a token or a cookie value), what and on which object, and how it ended.
 */
import type { Logger } from '../observability/logger.ts';

export type WriteOutcome = 'accepted' | 'refused' | 'failed';

export interface WriteAudit {
  /** `admin-token`, `session:<8 hex>`, `open-loopback`, or `anonymous` before authentication. */
  actor: string;
  /** e.g. `key.create`, `routeconfig.update`, `routeconfig.canary`, `session.open`. */
  action: string;
  /** e.g. `APIKey default/team-a`, `RouteConfig default/default`. */
  target: string;
  outcome: WriteOutcome;
  status: number;
  /** The error code of a refusal. */
  code?: string;
  /** What changed, in words (`summarize-model 80/20`), for an accepted write. */
  detail?: string;
}

export function auditWrite(logger: Logger, entry: WriteAudit): void {
  logger.info({ event: 'console_write', ...entry }, 'console write');
}

/** What one write attempt's audit line says, filled in as the request is understood. */
export interface AuditDraft {
  actor: string;
  action: string;
  target: string;
  detail?: string;
}
