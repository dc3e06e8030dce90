/**
 * RouteConfigs in the console: each as its source holds it (spec and an opaque version), with what each
 * logical name does — a weighted split, a policy route, a fallback chain, or a single entry — read from
 * the entries the way compile.ts routes them; and the edits: a whole new spec, a canary stage (the two
 * weighted variants of a logical name set to 100−stage / stage) and the removal of the old variant after
 * cutover. Plain data in, a planned edit out; the writer validates the whole would-be configuration.
 */

import type { RouteEntrySpec } from '../config/manifests.ts';
import type { ConfigProblem } from '../config/problems.ts';
import { splitVariantNames } from '../config/validate.ts';
import {
  type Json,
  objectVersion,
  type PlannedEdit,
  type StoredConfig,
  type StoredObject,
} from '../config/writer.ts';
import { consoleErrors, type FieldProblem } from './errors.ts';
import { conditionsOf, uniqueObject } from './objects.ts';

export const CANARY_STAGES: readonly number[] = [5, 20, 50, 100];

export type Strategy = 'split' | 'policy' | 'fallback' | 'single';

export interface LogicalModelView {
  name: string;
  strategy: Strategy;
  /** The logical name's entries in file order, each with the part it plays. */
  entries: (RouteEntrySpec & { role: 'policy' | 'split' | 'fallback' | 'off'; resolvedModel: string })[];
}

export interface RouteConfigView {
  name: string;
  namespace: string;
  active: boolean;
  spec: Json;
  version: string;
  logicalModels: LogicalModelView[];
  /** Kubernetes mode: the status conditions (Accepted, ResolvedRefs) as the cluster reports them. */
  conditions?: unknown[];
  generation?: number;
}

interface SpecLike {
  active?: boolean;
  routes?: RouteEntrySpec[];
}

const routesOf = (spec: unknown): RouteEntrySpec[] => {
  const routes = (spec as SpecLike | undefined)?.routes;
  return Array.isArray(routes) ? routes.filter((r) => r !== null && typeof r === 'object') : [];
};

/** The entries that share the model's traffic by weight (config/validate.ts splitVariantNames, which rollouts use too). */
export function weightedVariants(routes: readonly RouteEntrySpec[], model: string): RouteEntrySpec[] {
  const names = new Set(splitVariantNames(routes, model));
  return routes.filter((r) => r.model === model && names.has(r.name));
}

export function logicalModels(spec: unknown): LogicalModelView[] {
  const routes = routesOf(spec);
  const names = [...new Set(routes.map((r) => r.model).filter((m) => typeof m === 'string'))];
  return names.map((name) => {
    const mine = routes.filter((r) => r.model === name);
    const split = new Set(weightedVariants(routes, name).filter((r) => (r.weight ?? 1) > 0));
    const entries = mine.map((r) => ({
      ...r,
      role:
        r.match !== undefined
          ? ('policy' as const)
          : split.has(r)
            ? ('split' as const)
            : (r.weight ?? 1) > 0
              ? ('fallback' as const)
              : ('off' as const),
      resolvedModel: r.modelNameOverride ?? r.model,
    }));
    const strategy: Strategy =
      split.size > 1
        ? 'split'
        : entries.some((e) => e.role === 'policy')
          ? 'policy'
          : entries.some((e) => e.role === 'fallback')
            ? 'fallback'
            : 'single';
    return { name, strategy, entries };
  });
}

export function routeConfigView(stored: StoredObject): RouteConfigView {
  const spec = (stored.object.spec ?? {}) as Json;
  return {
    name: stored.name,
    namespace: stored.namespace,
    active: (spec as SpecLike).active !== false,
    spec,
    version: objectVersion(stored.object),
    logicalModels: logicalModels(spec),
    ...conditionsOf(stored),
  };
}

/** The list: each RouteConfig with the names of its logical models (the detail says what each does). */
export function listRouteConfigs(
  config: StoredConfig,
): { name: string; namespace: string; active: boolean; logicalModels: string[] }[] {
  return config.objects
    .filter((o) => o.kind === 'RouteConfig')
    .map(routeConfigView)
    .map(({ name, namespace, active, logicalModels }) => ({
      name,
      namespace,
      active,
      logicalModels: logicalModels.map((m) => m.name),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The configuration's problems as the console shows them: a field path, and a message naming any other object. */
export function fieldProblems(problems: readonly ConfigProblem[], name: string): FieldProblem[] {
  return problems.map((p) => ({
    path: p.path,
    message: p.object === `RouteConfig ${name}` ? p.message : `${p.object}: ${p.message}`,
  }));
}

const requireVersion = (stored: StoredObject, version: unknown) => {
  if (typeof version !== 'string' || version === '')
    throw consoleErrors.invalidBody(
      'version is required: the version from GET /api/v1/routeconfigs/{name}.',
      'version',
    );
  if (version !== objectVersion(stored.object)) throw consoleErrors.versionConflict(stored.name);
};

const requireSpec = (spec: unknown): Json => {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw consoleErrors.invalidBody('spec must be the RouteConfig spec object.', 'spec');
  return spec as Json;
};

const replaceWith = (stored: StoredObject, spec: Json): PlannedEdit<RouteConfigView> => {
  const object = { ...stored.object, spec };
  return {
    changes: [{ op: 'replace', target: stored, object }],
    result: routeConfigView({ ...stored, object }),
  };
};

/** PUT (`check` holds the version the edit was made on) and preview (no check): the RouteConfig with this spec. */
export function planSpec(
  current: StoredConfig,
  name: string,
  spec: unknown,
  check: { version: unknown } | undefined,
): PlannedEdit<RouteConfigView> {
  const stored = uniqueObject(current, 'RouteConfig', name);
  const next = requireSpec(spec);
  if (check !== undefined) requireVersion(stored, check.version);
  return replaceWith(stored, next);
}

/** The two weighted variants of `model`: which is the old (baseline) one and which the candidate. */
function variantsOf(
  routes: RouteEntrySpec[],
  model: string,
): { old: RouteEntrySpec; candidate: RouteEntrySpec } {
  if (typeof model !== 'string' || model === '')
    throw consoleErrors.invalidBody(
      'logicalModel must name a logical model of the RouteConfig.',
      'logicalModel',
    );
  if (!routes.some((r) => r.model === model)) throw consoleErrors.unknownLogicalModel(model);
  const variants = weightedVariants(routes, model);
  if (variants.length !== 2)
    throw consoleErrors.notTwoVariants(
      model,
      variants.map((v) => v.name),
    );
  return oldAndCandidate(variants[0]!, variants[1]!);
}

/** Of a split's two variants, the old one (the baseline; unmarked, the heavier, the first on a tie) and the candidate. */
export function oldAndCandidate(
  a: RouteEntrySpec,
  b: RouteEntrySpec,
): { old: RouteEntrySpec; candidate: RouteEntrySpec } {
  const old = a.baseline === true ? a : b.baseline === true ? b : (b.weight ?? 1) > (a.weight ?? 1) ? b : a;
  return { old, candidate: old === a ? b : a };
}

/**
 * A canary stage: the candidate gets `stage`, the old variant the rest of 100. An old variant not yet
 * marked gets `baseline: true`, so it stays the old one once the candidate outweighs it, and the
 * experiments compare with it.
 */
export function planCanary(
  current: StoredConfig,
  name: string,
  body: Json,
): PlannedEdit<RouteConfigView> & { detail: string } {
  const stored = uniqueObject(current, 'RouteConfig', name);
  requireVersion(stored, body.version);
  const stage = body.stage;
  if (typeof stage !== 'number' || !CANARY_STAGES.includes(stage))
    throw consoleErrors.invalidBody(
      `stage must be one of ${CANARY_STAGES.join(', ')} (the candidate's percentage).`,
      'stage',
    );
  const spec = structuredClone(stored.object.spec ?? {}) as Json & SpecLike;
  const routes = routesOf(spec);
  const model = body.logicalModel as string;
  const { old, candidate } = variantsOf(routes, model);
  old.weight = 100 - stage;
  old.baseline = true;
  candidate.weight = stage;
  return {
    ...replaceWith(stored, spec),
    detail: `${model}: ${old.name} ${100 - stage} / ${candidate.name} ${stage}`,
  };
}

/** After cutover (the old variant at weight 0): removes the old variant's entry. */
export function planRemoveOld(
  current: StoredConfig,
  name: string,
  body: Json,
): PlannedEdit<RouteConfigView> & { detail: string } {
  const stored = uniqueObject(current, 'RouteConfig', name);
  requireVersion(stored, body.version);
  const spec = structuredClone(stored.object.spec ?? {}) as Json & SpecLike;
  const routes = routesOf(spec);
  const model = body.logicalModel as string;
  const { old } = variantsOf(routes, model);
  if ((old.weight ?? 1) !== 0) throw consoleErrors.notCutOver(model, old.name, old.weight ?? 1);
  spec.routes = (spec.routes ?? []).filter((r) => r.name !== old.name);
  return { ...replaceWith(stored, spec), detail: `${model}: removed ${old.name}` };
}
