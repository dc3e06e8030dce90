/**
 * Cached Kubernetes objects → Snapshot, through the very `validateManifest` and `compile` file mode uses,
 * with one difference: in file mode one bad document rejects the whole change, while here each object
 * stands alone. An object whose current version does not validate or compile is left out, and so is
 * every object that then no longer resolves (an APIKey whose RouteConfig is out); the rest is served.
 *
 * Last good version: when an object's current version is out and an earlier version of it was accepted
 * (in this process's lifetime) and still exists, that earlier version is served instead, as the whole
 * configuration is in file mode. Its status says so: Accepted=False for the current generation, "still
 * serving generation N". Deletions are never undone that way: a deleted object (a revoked Secret, a
 * removed APIKey) is gone at once, and so is whatever depended on it.
 *
 * Pure: no I/O, no clock; the source calls it after each debounced change.
 */
import { createHash } from 'node:crypto';
import { type CompileOptions, compile } from '../config/compile.ts';
import type { AnyManifest, LocatedManifest } from '../config/manifests.ts';
import type { ConfigProblem } from '../config/problems.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { validateManifest } from '../config/validate.ts';
import { type CachedObject, objectId, type WatchedKind } from './resources.ts';

/** Every problem from Kubernetes names this origin; the object is "Kind namespace/name". */
export const KUBERNETES_ORIGIN = { source: 'kubernetes', document: 0 } as const;

export type ConditionType = 'Accepted' | 'ResolvedRefs';

/** A problem, plus which condition it falsifies and a reason a person can act on. */
export interface KubeProblem extends ConfigProblem {
  condition: ConditionType;
  reason: string;
}

/** One version of one object that can go into a compile. */
export interface Candidate {
  id: string;
  kind: WatchedKind;
  namespace: string;
  name: string;
  generation?: number;
  created: number;
  manifest: AnyManifest;
  /** JSON of the document it was validated from: equal text, same version. */
  docText: string;
}

export interface ObjectOutcome {
  id: string;
  kind: WatchedKind;
  namespace: string;
  name: string;
  generation?: number;
  /** What is wrong with the current version; empty when it is served. */
  problems: KubeProblem[];
  /** The current version does not even validate (its references are not checked). */
  invalid: boolean;
  /** Which version is in the snapshot, if any. */
  serving?: { version: 'current' } | { version: 'previous'; generation?: number };
  /** A served RouteConfig: how many route entries it serves (its status.routes). */
  routes?: number;
}

export interface ReconcileResult {
  snapshot: Snapshot;
  problems: KubeProblem[];
  outcomes: Map<string, ObjectOutcome>;
  /** The last accepted version of each object, to pass to the next reconcile. */
  lastGood: Map<string, Candidate>;
  /** Identifies the compiled input: equal fingerprints, equal snapshots. */
  fingerprint: string;
}

export interface ReconcileOptions extends CompileOptions {
  /** Appended to "Secret not found" messages, e.g. which label makes a Secret visible. */
  secretHint?: string;
}

/** Kinds whose last good version may stand in for an invalid current one (not Secrets or Pods). */
const KEEPS_LAST_GOOD: ReadonlySet<WatchedKind> = new Set([
  'RouteConfig',
  'ProviderBackend',
  'APIKey',
  'MCPServer',
  'InferencePool',
]);

export function reconcile(
  objects: readonly CachedObject[],
  lastGood: ReadonlyMap<string, Candidate>,
  options: ReconcileOptions = {},
): ReconcileResult {
  // Oldest first, so where two objects conflict (two keyless defaults, one key in two APIKeys) the older
  // one wins and keeps winning: the Gateway API convention (creationTimestamp, then name).
  const sorted = [...objects].sort((a, b) => a.created - b.created || compareText(a.id, b.id));
  const present = new Set(sorted.map((o) => o.id));
  const current = new Map<string, Candidate>();
  const validation = new Map<string, KubeProblem[]>();
  for (const o of sorted) {
    const result = validateManifest(o.doc, KUBERNETES_ORIGIN, o.namespace);
    if (result.manifest) {
      const c: Candidate = {
        id: o.id,
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        created: o.created,
        manifest: result.manifest,
        docText: o.docText,
      };
      if (o.generation !== undefined) c.generation = o.generation;
      current.set(o.id, c);
    } else {
      validation.set(
        o.id,
        result.problems.map((p) => ({ ...p, object: o.id, condition: 'Accepted', reason: 'Invalid' })),
      );
    }
  }

  const classify = (c: Candidate, p: ConfigProblem) =>
    classifyProblem(c, p, present, validation, options.secretHint);
  const first = compileServable([...current.values()], options, classify);

  // Where the current version is out, an earlier accepted version (if different) gets its chance.
  const substituted = new Map<string, Candidate>();
  const second: Candidate[] = [];
  for (const o of sorted) {
    const now = current.get(o.id);
    const before = lastGood.get(o.id);
    if (now && first.accepted.has(o.id)) second.push(now);
    else if (before && before.docText !== now?.docText && KEEPS_LAST_GOOD.has(o.kind)) {
      second.push(before);
      substituted.set(o.id, before);
    } else if (now) second.push(now);
  }
  const final = substituted.size > 0 ? compileServable(second, options, classify) : first;

  const outcomes = new Map<string, ObjectOutcome>();
  const nextLastGood = new Map<string, Candidate>();
  const problems: KubeProblem[] = [];
  for (const o of sorted) {
    const outcome: ObjectOutcome = {
      id: o.id,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      problems: [],
      invalid: validation.has(o.id),
    };
    if (o.generation !== undefined) outcome.generation = o.generation;
    const previous = substituted.get(o.id);
    if (previous) {
      outcome.problems = validation.get(o.id) ?? first.problems.get(o.id) ?? [];
      if (final.accepted.has(o.id)) {
        outcome.serving = { version: 'previous' };
        if (previous.generation !== undefined) outcome.serving.generation = previous.generation;
      }
    } else {
      outcome.problems = validation.get(o.id) ?? final.problems.get(o.id) ?? [];
      if (final.accepted.has(o.id)) outcome.serving = { version: 'current' };
    }
    if (o.kind === 'RouteConfig' && outcome.serving) {
      const served = final.snapshot.routeConfigs.get(`${o.namespace}/${o.name}`);
      if (served) outcome.routes = served.entries.size;
    }
    problems.push(...outcome.problems);
    outcomes.set(o.id, outcome);
    if (!KEEPS_LAST_GOOD.has(o.kind)) continue;
    const now = current.get(o.id);
    if (outcome.serving?.version === 'current' && now) nextLastGood.set(o.id, now);
    else {
      const before = lastGood.get(o.id);
      if (before) nextLastGood.set(o.id, before);
    }
  }

  const hash = createHash('sha256');
  for (const c of final.compiled) hash.update(c.id).update('\0').update(c.docText).update('\0');
  return {
    snapshot: final.snapshot,
    problems,
    outcomes,
    lastGood: nextLastGood,
    fingerprint: hash.digest('hex'),
  };
}

interface Servable {
  snapshot: Snapshot;
  accepted: Set<string>;
  compiled: Candidate[];
  problems: Map<string, KubeProblem[]>;
}

/**
 * Compiles, drops every object a problem names, and compiles again until nothing is wrong: each round
 * drops at least one object, and an object that depended on a dropped one is named in the next round.
 * Each candidate gets its own document number for the compile only, so every problem maps back to
 * exactly one object, whatever its namespace; what callers see is document 0 and "Kind namespace/name".
 */
function compileServable(
  candidates: Candidate[],
  options: CompileOptions,
  classify: (c: Candidate, p: ConfigProblem) => KubeProblem,
): Servable {
  const compileOptions: CompileOptions = {};
  if (options.supportedProviders) compileOptions.supportedProviders = options.supportedProviders;
  if (options.version !== undefined) compileOptions.version = options.version;
  const problems = new Map<string, KubeProblem[]>();
  let set = candidates;
  for (;;) {
    const located: LocatedManifest[] = set.map((c, i) => ({
      manifest: c.manifest,
      origin: { source: KUBERNETES_ORIGIN.source, document: i + 1 },
    }));
    const result = compile(located, compileOptions);
    const rejected = new Set<number>();
    for (const p of result.problems) {
      const c = set[p.document - 1];
      if (!c) continue;
      rejected.add(p.document - 1);
      const list = problems.get(c.id) ?? [];
      list.push(classify(c, p));
      problems.set(c.id, list);
    }
    if (rejected.size === 0) {
      return { snapshot: result.snapshot, accepted: new Set(set.map((c) => c.id)), compiled: set, problems };
    }
    set = set.filter((_, i) => !rejected.has(i));
  }
}

/**
 * Which condition a compile problem falsifies, and why, decided from the field path and from what
 * exists: a reference to an object that exists but is not accepted is RefNotAccepted, not NotFound.
 */
function classifyProblem(
  c: Candidate,
  p: ConfigProblem,
  present: ReadonlySet<string>,
  invalid: ReadonlyMap<string, readonly ConfigProblem[]>,
  secretHint: string | undefined,
): KubeProblem {
  const base = { ...p, source: KUBERNETES_ORIGIN.source, document: 0, object: c.id };
  const path = p.path;
  if (/secretRef$/.test(path)) {
    const ref = valueAt(c.manifest, path) as { name?: string } | undefined;
    const secretId = ref?.name !== undefined ? objectId('Secret', c.namespace, ref.name) : undefined;
    // A Secret that does not validate is left out of the compile, which then calls it missing; it is
    // there, and its own problem is what the referring object's status has to say (Secrets have none).
    const secretProblem = secretId !== undefined ? invalid.get(secretId)?.[0] : undefined;
    if (secretProblem) {
      return {
        ...base,
        message: `Secret "${ref?.name}" is invalid: ${secretProblem.path ? `${secretProblem.path}: ` : ''}${secretProblem.message}`,
        condition: 'ResolvedRefs',
        reason: 'InvalidSecret',
      };
    }
    if (secretId !== undefined && present.has(secretId))
      return { ...base, condition: 'ResolvedRefs', reason: 'InvalidSecret' };
    return {
      ...base,
      message: secretHint ? `${p.message} (${secretHint})` : p.message,
      condition: 'ResolvedRefs',
      reason: 'SecretNotFound',
    };
  }
  if (/backendRef\.name$/.test(path) || path === 'spec.routeConfigRef.name') {
    const name = valueAt(c.manifest, path);
    const ref = valueAt(c.manifest, path.slice(0, -'.name'.length)) as { kind?: string } | undefined;
    const kind =
      path === 'spec.routeConfigRef.name'
        ? 'RouteConfig'
        : path.startsWith('spec.routes')
          ? (ref?.kind ?? 'ProviderBackend')
          : 'ProviderBackend';
    if (typeof name === 'string' && present.has(objectId(kind, c.namespace, name))) {
      return {
        ...base,
        message: `${kind} "${name}" exists but is not accepted (see its status)`,
        condition: 'ResolvedRefs',
        reason: 'RefNotAccepted',
      };
    }
    return {
      ...base,
      condition: 'ResolvedRefs',
      reason: kind === 'RouteConfig' ? 'RouteConfigNotFound' : 'BackendNotFound',
    };
  }
  if (path === 'spec.defaultForKeyless') return { ...base, condition: 'Accepted', reason: 'Conflicted' };
  if (path === 'spec.provider') return { ...base, condition: 'Accepted', reason: 'UnsupportedProvider' };
  return { ...base, condition: 'Accepted', reason: 'Invalid' };
}

/** The value at a field path like `spec.routes[1].backendRef.name`. */
function valueAt(root: unknown, path: string): unknown {
  let value = root;
  for (const token of path.match(/[^.[\]]+/g) ?? []) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[token];
  }
  return value;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
