/**
 * A strict check of Envoy configuration in the protobuf JSON mapping against the loaded protos — what
 * Envoy's own loader rejects, as far as protos tell: unknown fields, wrong JSON types, integers out of
 * range, unknown enum names, several members of one oneof, `google.protobuf.Any` whose @type is not a
 * known message (its payload is checked as that message), the well-known types in their JSON forms
 * (Duration "5s", Struct/Value as plain JSON, wrappers as plain values, Empty as {}), deprecated fields
 * and enum values, and a subset of the protoc-gen-validate rules Envoy enforces (required messages and
 * oneofs, string lengths and header-safe characters, numeric and duration bounds, min_items, bool const).
 *
 * protobufjs's `Type.fromObject` silently drops unknown fields and cannot read Durations or Structs in
 * their JSON forms, so the walk also produces the object fromObject needs, for an encode round trip.
 */
import protobuf from 'protobufjs';

export interface ProtoProblem {
  /** Field path from the checked message, e.g. `static_resources.clusters[2].connect_timeout`. */
  path: string;
  message: string;
}

export class ProtoCheckError extends Error {
  constructor(
    typeName: string,
    readonly problems: readonly ProtoProblem[],
  ) {
    super(`not a valid ${typeName}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** Every problem in `value` as a `typeName` message; empty when it is valid. */
export function checkMessage(root: protobuf.Root, typeName: string, value: unknown): ProtoProblem[] {
  const walker = new Walker(root);
  walker.message(root.lookupType(typeName), value, '');
  return walker.problems;
}

/** The value in the form `Type.fromObject` reads; throws ProtoCheckError naming every problem. */
export function toProtobufObject(
  root: protobuf.Root,
  typeName: string,
  value: unknown,
): Record<string, unknown> {
  const walker = new Walker(root);
  const out = walker.message(root.lookupType(typeName), value, '');
  if (walker.problems.length > 0 || out === undefined) throw new ProtoCheckError(typeName, walker.problems);
  return out as Record<string, unknown>;
}

const NOT_SPECIAL: unique symbol = Symbol('not a well-known type');
const RULES = '(validate.rules).';
const ITEM_RULES = '(validate.rules).repeated.items.';
const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
/** Wrapper message → the scalar type of its `value`. */
const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
/** Types whose JSON form is not an object of their fields: inside an Any they travel as "value". */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  '.google.protobuf.Any',
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.FieldMask',
]);
const MAX_DURATION_SECONDS = 315_576_000_000n;
/** protoc-gen-validate well-known regexes (validate.proto KnownRegex), strict and not. */
const HEADER_REGEX: Record<string, readonly [RegExp, RegExp]> = {
  HTTP_HEADER_NAME: [/^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/, /^[^\0\n\r]+$/],
  HTTP_HEADER_VALUE: [/^[^\0-\x08\n-\x1f\x7f]*$/, /^[^\0\n\r]*$/],
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function typeLabel(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}

/** JSON names a field answers to: its proto name and its lowerCamel JSON name. */
const fieldIndexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = fieldIndexes.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(protobuf.util.camelCase(field.name), field);
    }
    fieldIndexes.set(type, index);
  }
  return index;
}

/** A field of a well-known type by its proto name, whichever case protobufjs's bundled copy uses. */
function wktField(type: protobuf.Type, name: string): string {
  return type.fields[name] ? name : protobuf.util.camelCase(name);
}

function parseInteger(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

function parseDurationNanos(text: string): bigint | undefined {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) return undefined;
  const nanos = BigInt(match[2]!) * 1_000_000_000n + BigInt((match[3] ?? '').padEnd(9, '0'));
  return match[1] ? -nanos : nanos;
}

class Walker {
  readonly problems: ProtoProblem[] = [];

  constructor(private readonly root: protobuf.Root) {}

  #fail(path: string, message: string): undefined {
    this.problems.push({ path: path || '(root)', message });
    return undefined;
  }

  message(type: protobuf.Type, value: unknown, path: string): unknown {
    const special = this.#wellKnown(type, value, path);
    if (special !== NOT_SPECIAL) return special;
    if (!isPlainObject(value))
      return this.#fail(path, `expected an object (${typeLabel(type)}), got ${describe(value)}`);
    const index = fieldIndex(type);
    const out: Record<string, unknown> = {};
    const present = new Set<string>();
    for (const [key, item] of Object.entries(value)) {
      const at = child(path, key);
      const field = index.get(key);
      if (!field) {
        const near = type.fieldsArray.find((f) => editDistance(f.name, key) <= 2);
        this.#fail(
          at,
          `unknown field "${key}" in ${typeLabel(type)}${near ? ` (did you mean "${near.name}"?)` : ''}`,
        );
        continue;
      }
      if (present.has(field.name)) {
        this.#fail(at, `field "${field.name}" is given twice (proto and JSON names)`);
        continue;
      }
      present.add(field.name);
      if (field.options?.deprecated)
        this.#fail(at, `field "${field.name}" of ${typeLabel(type)} is deprecated`);
      const normalized = this.#field(field, item, at);
      if (normalized !== undefined) out[field.name] = normalized;
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => present.has(f.name)).map((f) => f.name);
      if (set.length > 1)
        this.#fail(
          path,
          `oneof "${oneof.name}" of ${typeLabel(type)} has more than one field set: ${set.join(', ')}`,
        );
      else if (set.length === 0 && oneof.options?.['(validate.required)'])
        this.#fail(
          path,
          `${typeLabel(type)} needs one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} (oneof "${oneof.name}" is required)`,
        );
    }
    // A required member of a oneof is only required when it is the member set (protoc-gen-validate).
    for (const field of type.fieldsArray) {
      if (!present.has(field.name) && !field.partOf && field.options?.[`${RULES}message.required`])
        this.#fail(
          child(path, field.name),
          `required field "${field.name}" of ${typeLabel(type)} is missing`,
        );
    }
    return out;
  }

  #field(field: protobuf.Field, value: unknown, path: string): unknown {
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value))
        return this.#fail(path, `expected a map (an object), got ${describe(value)}`);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const at = `${path}[${JSON.stringify(key)}]`;
        if (
          field.keyType === 'bool'
            ? key !== 'true' && key !== 'false'
            : field.keyType !== 'string' && parseInteger(key) === undefined
        )
          this.#fail(at, `map key "${key}" is not a ${field.keyType}`);
        const normalized = this.#value(field, item, at, `${RULES}map.values.`);
        if (normalized !== undefined) out[key] = normalized;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.#fail(path, `expected a list, got ${describe(value)}`);
      const min = field.options?.[`${RULES}repeated.min_items`];
      if (typeof min === 'number' && value.length < min)
        this.#fail(path, `needs at least ${min} item${min === 1 ? '' : 's'}, has ${value.length}`);
      const max = field.options?.[`${RULES}repeated.max_items`];
      if (typeof max === 'number' && value.length > max)
        this.#fail(path, `takes at most ${max} items, has ${value.length}`);
      return value.map((item, i) => this.#value(field, item, `${path}[${i}]`, ITEM_RULES));
    }
    return this.#value(field, value, path, RULES);
  }

  #value(field: protobuf.Field, value: unknown, path: string, rules: string): unknown {
    const resolved = field.resolvedType;
    if (value === null && resolved?.fullName !== '.google.protobuf.Value')
      return this.#fail(path, 'null is not a value here; leave the field out instead');
    if (resolved instanceof protobuf.Enum) return this.#enum(resolved, value, path);
    if (resolved instanceof protobuf.Type) {
      const out = this.message(resolved, value, path);
      if (out === undefined) return undefined;
      const wrapped = WRAPPERS[resolved.fullName];
      if (wrapped) this.#rules(field, rules, wrapped, value, path);
      else if (resolved.fullName === '.google.protobuf.Duration')
        this.#durationRules(field, rules, value as string, path);
      return out;
    }
    const out = this.#scalar(field.type, value, path);
    if (out !== undefined) this.#rules(field, rules, field.type, value, path);
    return out;
  }

  #enum(type: protobuf.Enum, value: unknown, path: string): unknown {
    const names = Object.keys(type.values);
    if (typeof value !== 'string')
      return this.#fail(
        path,
        `expected a ${typeLabel(type)} name (${names.join(', ')}), got ${describe(value)}`,
      );
    if (type.values[value] === undefined)
      return this.#fail(path, `"${value}" is not a value of ${typeLabel(type)} (${names.join(', ')})`);
    if (type.valuesOptions?.[value]?.deprecated)
      this.#fail(path, `${typeLabel(type)}.${value} is deprecated`);
    return value;
  }

  #scalar(kind: string, value: unknown, path: string): unknown {
    const range = INT_RANGES[kind];
    if (range) {
      const n = parseInteger(value);
      if (n === undefined) return this.#fail(path, `expected an integer (${kind}), got ${describe(value)}`);
      if (n < range[0] || n > range[1]) return this.#fail(path, `${n} is out of range for ${kind}`);
      return value;
    }
    switch (kind) {
      case 'string':
        return typeof value === 'string'
          ? value
          : this.#fail(path, `expected a string, got ${describe(value)}`);
      case 'bool':
        return typeof value === 'boolean'
          ? value
          : this.#fail(path, `expected true or false, got ${describe(value)}`);
      case 'double':
      case 'float':
        return (typeof value === 'number' && Number.isFinite(value)) ||
          value === 'NaN' ||
          value === 'Infinity' ||
          value === '-Infinity'
          ? value
          : this.#fail(path, `expected a number, got ${describe(value)}`);
      case 'bytes':
        return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
          ? value
          : this.#fail(path, `expected base64 bytes, got ${describe(value)}`);
      default:
        return this.#fail(path, `unsupported scalar type ${kind}`);
    }
  }

  /** protoc-gen-validate rules on a scalar (or a wrapper's value): `(validate.rules).<kind>.<rule>`. */
  #rules(field: protobuf.Field, prefix: string, kind: string, value: unknown, path: string): void {
    for (const [key, expected] of Object.entries(field.options ?? {})) {
      if (!key.startsWith(`${prefix}${kind}.`)) continue;
      const rule = key.slice(prefix.length + kind.length + 1);
      if (kind === 'string' && typeof value === 'string')
        this.#stringRule(field, prefix, rule, expected, value, path);
      else if (kind === 'bool' && rule === 'const' && value !== expected)
        this.#fail(path, `must be ${expected}`);
      else if (INT_RANGES[kind] || kind === 'double' || kind === 'float') {
        const n = Number(value);
        const bound = Number(expected);
        const broken =
          (rule === 'gt' && !(n > bound)) ||
          (rule === 'gte' && !(n >= bound)) ||
          (rule === 'lt' && !(n < bound)) ||
          (rule === 'lte' && !(n <= bound)) ||
          (rule === 'const' && n !== bound);
        if (broken) this.#fail(path, `${n} breaks the rule ${kind}.${rule} = ${bound}`);
      }
    }
  }

  #stringRule(
    field: protobuf.Field,
    prefix: string,
    rule: string,
    expected: unknown,
    value: string,
    path: string,
  ): void {
    const chars = [...value].length;
    const bytes = Buffer.byteLength(value);
    if (
      (rule === 'min_len' && chars < Number(expected)) ||
      (rule === 'min_bytes' && bytes < Number(expected))
    )
      this.#fail(path, `must be at least ${expected} long`);
    else if (
      (rule === 'max_len' && chars > Number(expected)) ||
      (rule === 'max_bytes' && bytes > Number(expected))
    )
      this.#fail(path, `must be at most ${expected} long`);
    else if (rule === 'well_known_regex') {
      const strict = field.options?.[`${prefix}string.strict`] !== false;
      const regex = HEADER_REGEX[String(expected)]?.[strict ? 0 : 1];
      if (regex && !regex.test(value)) this.#fail(path, `"${value}" is not a valid ${String(expected)}`);
    }
  }

  #durationRules(field: protobuf.Field, prefix: string, value: string, path: string): void {
    const nanos = parseDurationNanos(value);
    if (nanos === undefined) return;
    const bounds = new Map<string, bigint>();
    for (const [key, expected] of Object.entries(field.options ?? {})) {
      const match = new RegExp(
        `^${prefix.replace(/[.()]/g, '\\$&')}duration\\.(gt|gte|lt|lte)(?:\\.(seconds|nanos))?$`,
      ).exec(key);
      if (!match) continue;
      const amount =
        match[2] === 'nanos'
          ? BigInt(Number(expected))
          : match[2] === 'seconds'
            ? BigInt(Number(expected)) * 1_000_000_000n
            : 0n;
      bounds.set(match[1]!, (bounds.get(match[1]!) ?? 0n) + amount);
    }
    for (const [rule, bound] of bounds) {
      const broken =
        (rule === 'gt' && !(nanos > bound)) ||
        (rule === 'gte' && !(nanos >= bound)) ||
        (rule === 'lt' && !(nanos < bound)) ||
        (rule === 'lte' && !(nanos <= bound));
      if (broken) this.#fail(path, `${value} breaks the rule duration.${rule} = ${Number(bound) / 1e9}s`);
    }
  }

  /** The JSON forms of the well-known types; NOT_SPECIAL for every other message. */
  #wellKnown(type: protobuf.Type, value: unknown, path: string): unknown {
    const name = type.fullName;
    const wrapped = WRAPPERS[name];
    if (wrapped) {
      const out = this.#scalar(wrapped, value, path);
      return out === undefined ? undefined : { value: out };
    }
    switch (name) {
      case '.google.protobuf.Any':
        return this.#any(value, path);
      case '.google.protobuf.Duration': {
        const nanos = typeof value === 'string' ? parseDurationNanos(value) : undefined;
        if (nanos === undefined)
          return this.#fail(path, `expected a duration like "5s" or "0.250s", got ${describe(value)}`);
        const seconds = nanos / 1_000_000_000n;
        if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS)
          return this.#fail(path, 'duration out of range');
        return { seconds: seconds.toString(), nanos: Number(nanos % 1_000_000_000n) };
      }
      case '.google.protobuf.Timestamp': {
        const ms =
          typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(ms))
          return this.#fail(path, `expected an RFC 3339 timestamp, got ${describe(value)}`);
        return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
      }
      case '.google.protobuf.Struct':
        if (!isPlainObject(value))
          return this.#fail(path, `expected an object (Struct), got ${describe(value)}`);
        return this.#struct(value, path);
      case '.google.protobuf.Value':
        return this.#jsonValue(value, path);
      case '.google.protobuf.ListValue':
        if (!Array.isArray(value))
          return this.#fail(path, `expected a list (ListValue), got ${describe(value)}`);
        return this.#list(value, path);
      case '.google.protobuf.FieldMask':
        return typeof value === 'string'
          ? { paths: value === '' ? [] : value.split(',') }
          : this.#fail(path, `expected a field mask string, got ${describe(value)}`);
      default:
        return NOT_SPECIAL;
    }
  }

  #struct(value: Record<string, unknown>, path: string): unknown {
    const fields: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) fields[key] = this.#jsonValue(item, child(path, key));
    return { fields };
  }

  #list(value: unknown[], path: string): unknown {
    return { values: value.map((item, i) => this.#jsonValue(item, `${path}[${i}]`)) };
  }

  #jsonValue(value: unknown, path: string): unknown {
    const type = this.root.lookupType('google.protobuf.Value');
    const key = (name: string) => wktField(type, name);
    if (value === null) return { [key('null_value')]: 'NULL_VALUE' };
    if (typeof value === 'number')
      return Number.isFinite(value)
        ? { [key('number_value')]: value }
        : this.#fail(path, 'not a finite number');
    if (typeof value === 'string') return { [key('string_value')]: value };
    if (typeof value === 'boolean') return { [key('bool_value')]: value };
    if (Array.isArray(value)) return { [key('list_value')]: this.#list(value, path) };
    if (isPlainObject(value)) return { [key('struct_value')]: this.#struct(value, path) };
    return this.#fail(path, `not a JSON value: ${describe(value)}`);
  }

  #any(value: unknown, path: string): unknown {
    if (!isPlainObject(value))
      return this.#fail(path, `expected an object with "@type" (Any), got ${describe(value)}`);
    const url = value['@type'];
    if (typeof url !== 'string' || !url.includes('/'))
      return this.#fail(
        child(path, '@type'),
        `an Any needs "@type": "type.googleapis.com/<message>", got ${describe(url)}`,
      );
    const name = url.slice(url.lastIndexOf('/') + 1);
    const inner = this.root.lookup(name);
    if (!(inner instanceof protobuf.Type))
      return this.#fail(child(path, '@type'), `unknown type URL "${url}": no such message in Envoy's protos`);
    const { '@type': _, ...rest } = value;
    let payload: unknown = rest;
    if (SPECIAL_JSON.has(inner.fullName)) {
      const extra = Object.keys(rest).filter((k) => k !== 'value');
      if (extra.length > 0)
        this.#fail(child(path, extra[0]!), `unknown field "${extra[0]}" in an Any of ${name}`);
      payload = rest.value;
    }
    const before = this.problems.length;
    const normalized = this.message(inner, payload, path);
    if (normalized === undefined || this.problems.length > before) return undefined;
    return {
      type_url: url,
      value: inner.encode(inner.fromObject(normalized as Record<string, unknown>)).finish(),
    };
  }
}
