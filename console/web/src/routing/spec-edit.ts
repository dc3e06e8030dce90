/**
 * Edits of a RouteConfig spec as the routing page makes them: each returns a new spec and leaves the one
 * it was given alone, so the page can diff the draft against what the server holds. Nothing here
 * validates: the draft goes to POST …/preview, whose validation is the very one file and Kubernetes mode
 * apply, and its problems come back with field paths (`spec.routes[2].weight`).
 */
import type { RouteConfigSpec, RouteEntrySpec } from '../api/types.ts';

/** An entry as the form edits it: numbers and the match condition as the text typed. */
export interface EntryForm {
  name: string;
  model: string;
  backend: string;
  backendKind: 'ProviderBackend' | 'InferencePool';
  modelNameOverride: string;
  weight: string;
  priority: string;
  /** The match condition as JSON (`{"headers":[…]}`), empty for none. */
  match: string;
}

export const EMPTY_ENTRY: EntryForm = {
  name: '',
  model: '',
  backend: '',
  backendKind: 'ProviderBackend',
  modelNameOverride: '',
  weight: '',
  priority: '',
  match: '',
};

export function entryToForm(entry: RouteEntrySpec): EntryForm {
  return {
    name: entry.name,
    model: entry.model,
    backend: entry.backendRef.name,
    backendKind: entry.backendRef.kind === 'InferencePool' ? 'InferencePool' : 'ProviderBackend',
    modelNameOverride: entry.modelNameOverride ?? '',
    weight: entry.weight === undefined ? '' : String(entry.weight),
    priority: entry.priority === undefined ? '' : String(entry.priority),
    match: entry.match === undefined ? '' : JSON.stringify(entry.match),
  };
}

/** Problems the form itself can see (text that is not a number or not JSON), with the entry's field path. */
export interface FormProblem {
  path: string;
  message: string;
}

const NUMBER = /^-?\d+$/;

/**
 * The entry for `form`, keeping the fields of `base` the form does not show (baseline, anything newer);
 * a problem instead when a number or the match JSON does not parse.
 */
export function formToEntry(
  form: EntryForm,
  base: RouteEntrySpec | undefined,
  path: string,
): { entry: RouteEntrySpec } | { problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const entry: RouteEntrySpec = {
    ...(base ?? {}),
    name: form.name.trim(),
    model: form.model.trim(),
    backendRef: { name: form.backend.trim() },
  };
  if (form.backendKind === 'InferencePool') entry.backendRef.kind = 'InferencePool';
  const override = form.modelNameOverride.trim();
  if (override === '') delete entry.modelNameOverride;
  else entry.modelNameOverride = override;
  for (const field of ['weight', 'priority'] as const) {
    const text = form[field].trim();
    if (text === '') delete entry[field];
    else if (NUMBER.test(text)) entry[field] = Number(text);
    else
      problems.push({
        path: `${path}.${field}`,
        message: `${field} must be a whole number, got ${JSON.stringify(text)}`,
      });
  }
  const match = form.match.trim();
  if (match === '') delete entry.match;
  else
    try {
      entry.match = JSON.parse(match);
    } catch {
      problems.push({
        path: `${path}.match`,
        message: 'match must be JSON, e.g. {"headers":[{"name":"x-tier","value":"gold"}]}',
      });
    }
  return problems.length > 0 ? { problems } : { entry };
}

export function withEntry(spec: RouteConfigSpec, index: number, entry: RouteEntrySpec): RouteConfigSpec {
  const routes = [...spec.routes];
  if (index >= routes.length) routes.push(entry);
  else routes[index] = entry;
  return { ...spec, routes };
}

export function withoutEntry(spec: RouteConfigSpec, index: number): RouteConfigSpec {
  return { ...spec, routes: spec.routes.filter((_, i) => i !== index) };
}

/** `spec.active` as the toggle sets it; unset in the file means active. */
export function withActive(spec: RouteConfigSpec, active: boolean): RouteConfigSpec {
  return { ...spec, active };
}

export function isActive(spec: RouteConfigSpec): boolean {
  return spec.active !== false;
}

interface Condition {
  name: string;
  type?: string;
  value: string;
}

const condition = (what: string, c: Condition) =>
  `${what} ${c.name} ${c.type === 'RegularExpression' ? '~' : '='} ${c.value}`;

/** The match condition in one line, for the entries table: header and key-attribute conditions, all must hold. */
export function describeMatch(match: unknown): string {
  if (match === undefined || match === null) return '—';
  const { headers, attributes, ...rest } = match as { headers?: Condition[]; attributes?: Condition[] };
  const parts = [
    ...(headers ?? []).map((h) => condition('header', h)),
    ...(attributes ?? []).map((a) => condition('key attribute', a)),
    ...Object.entries(rest).map(([k, v]) => `${k} ${JSON.stringify(v)}`),
  ];
  return parts.length > 0 ? parts.join(' and ') : JSON.stringify(match);
}
