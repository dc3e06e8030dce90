/**
 * Kubernetes mode's ConfigWriter: the console's edits as server-side apply of the objects, with the
 * console's own field manager. Every edit plans against a fresh list from the API server (our kinds,
 * and the Secrets labelled for agent-router), runs the same validation and compile as the watch
 * (config/validate.ts, config/compile.ts), and is refused when it adds a problem: objects that were
 * already invalid are set aside in Kubernetes mode (kube/reconcile.ts), so they do not block an edit of
 * others. Each replaced object is applied with the resourceVersion it was planned on, so a change made
 * in between is a 409, and a field another manager (kubectl, Argo CD) applied with a different value is
 * a 409 as well (no force): both reach the user with the API server's message. The running
 * configuration follows through the informers, like any kubectl apply.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type CompileOptions, compile } from '../config/compile.ts';
import { splitLines, unifiedDiff } from '../config/line-diff.ts';
import type { LocatedManifest } from '../config/manifests.ts';
import { type ConfigProblem, formatProblem } from '../config/problems.ts';
import { validateManifest } from '../config/validate.ts';
import {
  type ConfigWriter,
  type EditOutcome,
  type Json,
  type ObjectChange,
  type PlannedEdit,
  refOf,
  SourceConflictError,
  type StoredConfig,
  type StoredObject,
  sameRef,
} from '../config/writer.ts';
import { KubeApi, statusCodeOf } from './api.ts';
import { project, RESOURCES, type WatchedKind } from './resources.ts';

export const CONSOLE_FIELD_MANAGER = 'agent-router-console';
const READ_KINDS: readonly WatchedKind[] = [
  'RouteConfig',
  'ProviderBackend',
  'APIKey',
  'InferencePool',
  'Secret',
];

export interface KubeWriterOptions {
  kubeConfig: KubeConfig;
  namespaces: readonly string[] | 'all';
  /** Where Secrets are read (default: `namespaces`). */
  secretNamespaces?: readonly string[] | 'all';
  secretLabelSelector: string;
  compile?: CompileOptions;
  fieldManager?: string;
}

interface Listed extends StoredObject {
  resourceVersion: string;
}

export function kubeConfigWriter(options: KubeWriterOptions): ConfigWriter {
  const api = new KubeApi(options.kubeConfig);
  const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const fieldManager = options.fieldManager ?? CONSOLE_FIELD_MANAGER;
  const scopes = (namespaces: readonly string[] | 'all') => (namespaces === 'all' ? [undefined] : namespaces);

  const list = async (): Promise<Listed[]> => {
    const objects: Listed[] = [];
    for (const kind of READ_KINDS) {
      const secret = kind === 'Secret';
      for (const namespace of scopes(
        secret ? (options.secretNamespaces ?? options.namespaces) : options.namespaces,
      )) {
        const { items } = await api.list(RESOURCES[kind], {
          ...(namespace !== undefined ? { namespace } : {}),
          ...(secret ? { labelSelector: options.secretLabelSelector } : {}),
        });
        for (const item of items) {
          const cached = project(kind, item);
          if (!cached) continue;
          const object = structuredClone(cached.doc);
          const generation = (object.metadata as Json).generation;
          delete (object.metadata as Json).generation; // the server's, not the author's
          objects.push({
            ...(cached.status ? { status: cached.status } : {}),
            ...(typeof generation === 'number' ? { generation } : {}),
            kind,
            namespace: cached.namespace,
            name: cached.name,
            object,
            resourceVersion: cached.resourceVersion,
          });
        }
      }
    }
    return objects;
  };

  const apply = async (object: Json, resourceVersion: string | undefined): Promise<void> => {
    const ref = refOf(object)!;
    const body = structuredClone(object);
    if (resourceVersion) (body.metadata as Json).resourceVersion = resourceVersion;
    (body.metadata as Json).namespace = ref.namespace;
    const header = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    try {
      if (ref.kind === 'Secret') {
        // stringData is write-only on the API server; data is what it stores and returns.
        const stringData = (body.stringData ?? {}) as Record<string, string>;
        delete body.stringData;
        body.data = {
          ...((body.data as Record<string, string> | undefined) ?? {}),
          ...Object.fromEntries(
            Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
        };
        body.type ??= 'Opaque';
        await core.patchNamespacedSecret(
          { name: ref.name, namespace: ref.namespace, body, fieldManager },
          header,
        );
        return;
      }
      const r = RESOURCES[ref.kind as WatchedKind];
      await custom.patchNamespacedCustomObject(
        {
          group: r.group,
          version: r.version,
          plural: r.plural,
          namespace: ref.namespace,
          name: ref.name,
          body,
          fieldManager,
        },
        header,
      );
    } catch (error) {
      if (statusCodeOf(error) === 409)
        throw new SourceConflictError(`${ref.kind} ${ref.namespace}/${ref.name}: ${apiMessage(error)}`);
      throw error;
    }
  };

  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(run);
    queue = next.catch(() => {});
    return next;
  };

  return {
    mode: 'kubernetes',
    read: () => serial(async (): Promise<StoredConfig> => ({ objects: await list() })),
    edit: <T>(plan: (current: StoredConfig) => PlannedEdit<T>, editOptions: { dryRun?: boolean } = {}) =>
      serial(async (): Promise<EditOutcome<T>> => {
        const listed = await list();
        const { changes, result } = plan({ objects: listed });
        const after = planned(listed, changes);
        const before = new Set(problemsOf(listed, options.compile).map(formatProblem));
        const problems = problemsOf(after, options.compile).filter((p) => !before.has(formatProblem(p)));
        const diff = changes
          .flatMap((c) => (c.op === 'replace' ? [c] : []))
          .map((c) => {
            const old = listed.find((o) => sameRef(o, c.target))!;
            const id = `${c.target.kind}/${c.target.namespace}/${c.target.name}`;
            return unifiedDiff(
              splitLines(stringify(old.object, { lineWidth: 0 })),
              splitLines(stringify(c.object, { lineWidth: 0 })),
              {
                fromFile: `a/${id}`,
                toFile: `b/${id}`,
              },
            );
          })
          .join('');
        if (problems.length > 0 || editOptions.dryRun === true)
          return { result, problems, diff, written: false };
        for (const change of changes) {
          if (change.op === 'replace') {
            const old = listed.find((o) => sameRef(o, change.target))!;
            await apply(change.object, old.resourceVersion);
          } else {
            await apply(change.object, undefined);
          }
        }
        return { result, problems, diff, written: true };
      }),
  };
}

/** The objects with the changes made. */
function planned(objects: readonly StoredObject[], changes: readonly ObjectChange[]): StoredObject[] {
  const next = [...objects];
  for (const change of changes) {
    const ref = change.op === 'replace' ? change.target : refOf(change.object);
    if (!ref) throw new Error('a created object needs a kind and a name');
    const at = next.findIndex((o) => sameRef(o, ref));
    const object = { ...ref, object: change.object };
    if (change.op === 'replace' && at >= 0) next[at] = object;
    else next.push(object);
  }
  return next;
}

/** Every problem the watch would find in these objects: each one validated, then all compiled together. */
function problemsOf(objects: readonly StoredObject[], compileOptions: CompileOptions = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const located: LocatedManifest[] = [];
  for (const o of objects) {
    const origin = { source: `kubernetes ${o.kind} ${o.namespace}/${o.name}`, document: 0 };
    const result = validateManifest(o.object, origin, o.namespace);
    problems.push(...result.problems);
    if (result.manifest) located.push({ manifest: result.manifest, origin });
  }
  problems.push(...compile(located, compileOptions).problems);
  return problems;
}

function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string'
    ? message
    : error instanceof Error
      ? error.message.split('\n')[0]!
      : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
