/**
 * Plugin parameters: each plugin declares a schema (field → type, range, default); the config compiler
 * resolves raw YAML/JSON values against it once, collecting every problem with its field path, and the
 * plugin's typed factory gets plain, complete values. The same schema checks typed factory calls.
 */

export interface ConfigProblem {
  /** Field path from the config root, e.g. `profiles[0].scorers[2].params.blockSize`. */
  readonly path: string;
  readonly message: string;
}

export class SchedulingConfigError extends Error {
  readonly code = 'invalid_scheduling_config';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid scheduling configuration:\n  ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n  ')}`,
    );
    this.name = 'SchedulingConfigError';
  }
}

export interface Field<T> {
  readonly default: T;
  /** The value, or a message saying what is wrong with it. */
  parse(value: unknown): { ok: true; value: T } | { ok: false; message: string };
}

export type Schema = Readonly<Record<string, Field<unknown>>>;
export type Resolved<S extends Schema> = {
  -readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never;
};

interface NumberOptions {
  min?: number;
  max?: number;
  integer?: boolean;
}

function describeNumber(o: NumberOptions): string {
  const kind = o.integer ? 'an integer' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${kind} from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return `${kind} >= ${o.min}`;
  if (o.max !== undefined) return `${kind} <= ${o.max}`;
  return `a finite ${o.integer ? 'integer' : 'number'}`;
}

function parseNumber(
  value: unknown,
  o: NumberOptions,
): { ok: true; value: number } | { ok: false; message: string } {
  const fine =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!o.integer || Number.isInteger(value)) &&
    (o.min === undefined || value >= o.min) &&
    (o.max === undefined || value <= o.max);
  return fine
    ? { ok: true, value: value as number }
    : { ok: false, message: `must be ${describeNumber(o)}, got ${JSON.stringify(value)}` };
}

export function numberField(defaultValue: number, options: NumberOptions = {}): Field<number> {
  return { default: defaultValue, parse: (value) => parseNumber(value, options) };
}

export function optionalNumberField(options: NumberOptions = {}): Field<number | undefined> {
  return { default: undefined, parse: (value) => parseNumber(value, options) };
}

export function stringListField(defaultValue: readonly string[]): Field<readonly string[]> {
  return {
    default: defaultValue,
    parse: (value) =>
      Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? { ok: true, value: [...value] as string[] }
        : { ok: false, message: `must be a list of strings, got ${JSON.stringify(value)}` },
  };
}

/**
 * Resolves `raw` against `schema`: defaults for absent (or null) fields, a problem for each wrong or
 * unknown field, each named `${path}.${field}`.
 */
export function resolveParams<S extends Schema>(
  schema: S,
  raw: unknown,
  path: string,
  problems: ConfigProblem[],
): Resolved<S> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema)) out[key] = field.default;
  if (raw === undefined || raw === null) return out as Resolved<S>;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({ path, message: 'must be a mapping of parameter names to values' });
    return out as Resolved<S>;
  }
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const field = schema[key];
    const at = path ? `${path}.${key}` : key;
    if (field === undefined) {
      const known = Object.keys(schema);
      problems.push({
        path: at,
        message: `unknown parameter${known.length ? ` (known: ${known.join(', ')})` : ' (this plugin takes none)'}`,
      });
      continue;
    }
    if (value === undefined || value === null) continue;
    const parsed = field.parse(value);
    if (parsed.ok) out[key] = parsed.value;
    else problems.push({ path: at, message: parsed.message });
  }
  return out as Resolved<S>;
}

/** For typed factories called from code: resolve or throw. */
export function resolveOrThrow<S extends Schema>(schema: S, raw: unknown): Resolved<S> {
  const problems: ConfigProblem[] = [];
  const resolved = resolveParams(schema, raw, '', problems);
  if (problems.length > 0) throw new SchedulingConfigError(problems);
  return resolved;
}
