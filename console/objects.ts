/**
 * Looking up the stored objects the console's endpoints act on, by name, and what they show of an
 * object's status.
 */
import { findObjects, type StoredConfig, type StoredObject } from '../config/writer.ts';
import { consoleErrors } from './errors.ts';

/** The one object of `kind` named `name`; 404 when there is none, 409 when namespaces make it ambiguous. */
export function uniqueObject(config: StoredConfig, kind: string, name: string): StoredObject {
  const found = findObjects(config, kind, name);
  if (found.length === 0) throw consoleErrors.objectNotFound(kind, name);
  if (found.length > 1)
    throw consoleErrors.ambiguousName(
      kind,
      name,
      found.map((o) => o.namespace),
    );
  return found[0]!;
}

/**
 * Kubernetes mode: the status conditions the cluster reports for the object, with the object's
 * generation (a condition whose observedGeneration is older speaks of an earlier spec); none in a file.
 */
export function conditionsOf(stored: StoredObject): { conditions?: unknown[]; generation?: number } {
  const conditions = stored.status?.conditions;
  if (!Array.isArray(conditions)) return {};
  return stored.generation === undefined ? { conditions } : { conditions, generation: stored.generation };
}
