/**
 * Writing configuration through its source (the console's edits): one interface, `ConfigWriter`, with a
 * file implementation (file-writer.ts, the YAML document edited in place). Edits are plain data: the
 * whole next object, as the source should hold it; the writer works out what changed, validates the
 * whole would-be configuration with the loader's own checks, and writes only a valid one.
 */
import { createHash } from 'node:crypto';
import type { ConfigProblem } from './problems.ts';

export type Json = Record<string, unknown>;

export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/** One object as its source holds it (a file's document; without defaults filled in). */
export interface StoredObject extends ObjectRef {
  object: Json;
  /** Kubernetes mode: the object's status (conditions the watch wrote); a file has none. */
  status?: Json;
  /** Kubernetes mode: metadata.generation, which a condition's observedGeneration is compared with. */
  generation?: number;
}

export interface StoredConfig {
  readonly objects: readonly StoredObject[];
}

export type ObjectChange =
  /** The object `target` becomes `object` (same kind, name and namespace). */
  | { op: 'replace'; target: ObjectRef; object: Json }
  /** A new object; `near` (file mode) puts it in the same file as that one. */
  | { op: 'create'; object: Json; near?: ObjectRef };

export interface PlannedEdit<T> {
  changes: readonly ObjectChange[];
  /** What the caller answers with once the edit is written (computed from the planned objects). */
  result: T;
}

export interface EditOutcome<T> {
  result: T;
  /** Every problem of the whole would-be configuration; the edit is written only when there is none. */
  problems: readonly ConfigProblem[];
  /** Unified diff of the replaced objects' text, before → after (never of other objects: they may be Secrets). */
  diff: string;
  written: boolean;
}

export interface ConfigWriter {
  readonly mode: 'file' | 'kubernetes';
  /** The objects as stored now, read afresh. */
  read(): Promise<StoredConfig>;
  /**
   * Plans against the objects as stored now and applies the plan, one edit at a time (so a version
   * checked in `plan` is still the stored one when the edit lands). `plan` may throw to refuse.
   * `dryRun` validates and diffs without writing.
   */
  edit<T>(
    plan: (current: StoredConfig) => PlannedEdit<T>,
    options?: { dryRun?: boolean },
  ): Promise<EditOutcome<T>>;
}

/** The source refused the write because of another writer (Kubernetes: HTTP 409); the message says who and what. */
export class SourceConflictError extends Error {
  override name = 'SourceConflictError';
}

/**
 * An opaque version of a stored object: changes with every change to its content. Key order does not
 * count, so an object planned in one order and stored in another has one version.
 */
export function objectVersion(object: Json): string {
  return createHash('sha256').update(canonicalJson(object)).digest('hex').slice(0, 20);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Json)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The objects of `kind` named `name` (several only when namespaces differ). */
export function findObjects(config: StoredConfig, kind: string, name: string): StoredObject[] {
  return config.objects.filter((o) => o.kind === kind && o.name === name);
}

/** Kind, namespace and name of a document's data, as the loader defaults them (namespace `default`). */
export function refOf(object: unknown): ObjectRef | undefined {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return undefined;
  const o = object as Json;
  const meta = o.metadata as Json | undefined;
  if (typeof o.kind !== 'string' || typeof meta?.name !== 'string') return undefined;
  return {
    kind: o.kind,
    name: meta.name,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
  };
}

export const sameRef = (a: ObjectRef, b: ObjectRef) =>
  a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
