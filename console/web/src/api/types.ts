/**
 * The console API's answers, as the web app reads them. Record and analytics shapes are imported from the
 * modules that produce them (types only: nothing of the server enters the bundle), so a field renamed
 * there fails the web typecheck here. The configuration endpoints' shapes follow the console write API
 * contract (keys, routeconfigs, session).
 */
import type { ExperimentReport } from '../../../../analytics/experiments.ts';
import type { RequestRecord } from '../../../../analytics/record.ts';
import type { UsageGroup, UsageGroupBy } from '../../../../analytics/store/store.ts';

export type {
  ExperimentMetric,
  MetricComparison,
  VariantComparison,
  VariantFigures,
  Verdict,
} from '../../../../analytics/experiments.ts';
export type { AttemptRecord, RequestRecord } from '../../../../analytics/record.ts';
export type { UsageGroup, UsageGroupBy, UsagePoint } from '../../../../analytics/store/store.ts';

export interface RequestsAnswer {
  data: RequestRecord[];
  nextCursor: string | null;
}

export interface UsageAnswer {
  logicalModel: string | null;
  groupBy: UsageGroupBy;
  since: number;
  until: number;
  intervalMs: number;
  data: UsageGroup[];
}

/** console/experiments.ts ExperimentAnswer. */
export interface ExperimentAnswer extends ExperimentReport {
  logicalModel: string;
  routeConfig: string;
  since: number;
  until: number;
  samples: { read: number; limit: number; truncated: boolean; analysed: number };
}

export interface Session {
  authenticated: boolean;
  authRequired: boolean;
  readOnly: boolean;
  mode: 'file' | 'kubernetes';
  csrfToken: string;
}

/** A status condition as the cluster reports it (metav1.Condition; kube/status.ts writes ours). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Kubernetes mode only: what the cluster says of the object, and the generation of its spec. */
export interface ObjectStatus {
  conditions?: Condition[];
  generation?: number;
}

export interface ApiKey extends ObjectStatus {
  name: string;
  enabled: boolean;
  attributes: Record<string, string>;
  routeConfig: string;
  /** Bring-your-own-key backends, by name only. */
  backends: string[];
}

/** GET /api/v1/mcpservers (console/mcp-servers.ts): never a credential, only the header it goes in. */
export interface McpServer extends ObjectStatus {
  name: string;
  namespace: string;
  url: string;
  credentialHeader?: string;
  forwardHeaders: string[];
  tools: { include: string[]; exclude: string[] };
  exposedBy: { routeConfig: string; name: string; conditional: boolean }[];
}

export interface CreatedKey {
  key: ApiKey;
  /** Shown once, right after creation; the console never returns it again. */
  secret: string;
}

export interface RouteConfigSummary {
  name: string;
  active: boolean;
  logicalModels: string[];
}

/** One entry of a RouteConfig's `spec.routes` (crds: RouteConfig), as JSON. */
export interface RouteEntrySpec {
  name: string;
  model: string;
  backendRef: { name: string; kind?: string };
  modelNameOverride?: string;
  weight?: number;
  priority?: number;
  baseline?: boolean;
  match?: unknown;
  [field: string]: unknown;
}

export interface RouteConfigSpec {
  active?: boolean;
  routes: RouteEntrySpec[];
  [field: string]: unknown;
}

export type Strategy = 'split' | 'policy' | 'fallback' | 'single';

export interface LogicalModelView {
  name: string;
  strategy: Strategy;
  entries: unknown[];
}

export interface RouteConfigDetail extends ObjectStatus {
  name: string;
  spec: RouteConfigSpec;
  version: string;
  logicalModels: LogicalModelView[];
}

export interface Problem {
  path: string;
  message: string;
}

export interface Preview {
  valid: boolean;
  problems: Problem[];
  diff: string;
}

export type CanaryStage = 5 | 20 | 50 | 100;

/** console/rollout/controller.ts RolloutStatus: one automated canary as the controller last judged it. */
export interface RolloutStatus {
  /** The RouteConfig's id, `namespace/name`. */
  routeConfig: string;
  model: string;
  baseline: string;
  candidate: string;
  /** The candidate's weight, percent of the two variants' total. */
  stage: number;
  steps: number[];
  phase: 'progressing' | 'completed' | 'rolled-back' | 'paused';
  stepStartedAt: number;
  decision: 'wait' | 'advance' | 'rollback' | 'complete';
  reason: string;
  decidedAt: number;
  /** The weight changes the controller made, oldest first (its last 20). */
  transitions: RolloutTransition[];
}

/** console/rollout/controller.ts RolloutTransition. */
export interface RolloutTransition {
  from: number;
  to: number;
  decision: 'advance' | 'rollback';
  reason: string;
  at: number;
}

export interface RolloutsAnswer {
  /** Whether this console runs the rollout controller (not when read-only, or without a leader lease). */
  running: boolean;
  data: RolloutStatus[];
}
