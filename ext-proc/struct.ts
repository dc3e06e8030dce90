import type { Struct, StructValue } from '../protos/ext-proc-messages.ts';

/** Plain JSON-like value → google.protobuf.Value as proto-loader encodes it (oneof `kind`). */
export function toValue(value: unknown): StructValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  switch (typeof value) {
    case 'number':
      return { numberValue: value };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    default:
      if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
      return { structValue: toStruct(value as Record<string, unknown>) };
  }
}

/**
 * Sets an own member, a key named "__proto__" included: assigned, that key would set the object's
 * prototype instead (a metadata key is data, and Envoy's metadata_context can name any).
 */
function setMember<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The Structs of frozen objects: made once, frozen in turn, so the frame encoder keeps their bytes. */
const frozenStructs = new WeakMap<object, Struct>();

/**
 * The Struct of a plain object. A frozen object (metadata a phase made once for its configuration)
 * gets the same frozen Struct every time, whose bytes the frame encoder then writes once
 * (protos/frame-encoder.ts, OnceBytes); any other object gets a new Struct.
 */
export function toStruct(object: Record<string, unknown>): Struct {
  if (!Object.isFrozen(object)) return newStruct(object);
  let struct = frozenStructs.get(object);
  if (struct === undefined) {
    struct = deepFreeze(newStruct(object));
    frozenStructs.set(object, struct);
  }
  return struct;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

function newStruct(object: Record<string, unknown>): Struct {
  const fields: Record<string, StructValue> = {};
  // for-in, not Object.entries: no array of pairs per call (metadata goes out with most answers).
  for (const k in object) {
    const v = object[k];
    if (v !== undefined) setMember(fields, k, toValue(v));
  }
  return { fields };
}

export function fromValue(value: StructValue | undefined): unknown {
  if (!value) return null;
  // Decoded messages name the member of the `kind` oneof that is set (unset members hold defaults,
  // e.g. "" for stringValue); objects built by toValue carry only the member itself.
  switch (value.kind ?? memberOf(value)) {
    case 'stringValue':
      return value.stringValue;
    case 'numberValue':
      return value.numberValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

function memberOf(value: StructValue): StructValue['kind'] {
  if (value.stringValue !== undefined) return 'stringValue';
  if (value.numberValue !== undefined) return 'numberValue';
  if (value.boolValue !== undefined) return 'boolValue';
  if (value.structValue !== undefined) return 'structValue';
  if (value.listValue !== undefined) return 'listValue';
  return 'nullValue';
}

export function fromStruct(struct: Struct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = struct?.fields;
  // for-in, not Object.entries: the per-attempt phase reads forwarded metadata on every request.
  if (fields) for (const k in fields) setMember(out, k, fromValue(fields[k]));
  return out;
}
