/**
 * A protobuf encoder that writes a message straight into its gRPC frame, in two passes: one measures
 * (every nested message and string, in visiting order), one writes into a single buffer of exactly
 * frame size. protobufjs' writer instead builds a list of operations with a fork per nested message
 * and copies everything at `finish()`; for ext_proc's answers (header mutations, a Struct of
 * metadata: many small nested messages) that list is most of the cost, and most of the garbage.
 *
 * The bytes are protobufjs' own: fields in field-number order (protobufjs' encoder sorts them so;
 * protobuf.dev/programming-guides/encoding), a field written when present (not null/undefined; a
 * repeated field when non-empty), enums as int32 varints, map entries as key 1 / value 2 messages.
 * Anything outside the kinds below (negative varints, 64-bit values beyond 2^53, bytes given as
 * strings) makes `encodeFrame` answer undefined, and the caller encodes with protobufjs.
 */
import type protobuf from 'protobufjs';
import { PREFIX_BYTES } from '../grpc/wire.ts';

enum Kind {
  Message,
  Enum,
  String,
  Bytes,
  Bool,
  Uint32,
  Int32,
  Int64,
  Double,
}

interface FieldPlan {
  name: string;
  /** The encoded key: (field number << 3) | wire type. */
  key: number;
  kind: Kind;
  repeated: boolean;
  /** For a map<string, V>: V's plan (only message values occur in ext_proc's answers). */
  mapValue?: MessagePlan;
  message?: MessagePlan;
  enumValues?: Record<string, number>;
}

interface MessagePlan {
  fields: FieldPlan[];
}

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

const SCALAR_KINDS: Record<string, Kind> = {
  string: Kind.String,
  bytes: Kind.Bytes,
  bool: Kind.Bool,
  uint32: Kind.Uint32,
  int32: Kind.Int32,
  int64: Kind.Int64,
  double: Kind.Double,
};
const WIRE_TYPE: Record<Kind, number> = {
  [Kind.Message]: 2,
  [Kind.Enum]: 0,
  [Kind.String]: 2,
  [Kind.Bytes]: 2,
  [Kind.Bool]: 0,
  [Kind.Uint32]: 0,
  [Kind.Int32]: 0,
  [Kind.Int64]: 0,
  [Kind.Double]: 1,
};

function compile(type: protobuf.Type, plans: Map<protobuf.Type, MessagePlan>): MessagePlan {
  const known = plans.get(type);
  if (known) return known;
  const plan: MessagePlan = { fields: [] };
  plans.set(type, plan);
  const fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
  for (const field of fields) {
    field.resolve();
    const resolved = field.resolvedType as protobuf.Type | protobuf.Enum | null;
    if (field.map) {
      const valueType = resolved as protobuf.Type | null;
      if (
        (field as unknown as protobuf.MapField).keyType !== 'string' ||
        !valueType ||
        !('fields' in valueType)
      )
        throw new Error(`frame encoder: map field ${type.name}.${field.name} is not map<string, message>`);
      plan.fields.push({
        name: field.name,
        key: (field.id << 3) | 2,
        kind: Kind.Message,
        repeated: false,
        mapValue: compile(valueType, plans),
      });
      continue;
    }
    let kind: Kind;
    let message: MessagePlan | undefined;
    let enumValues: Record<string, number> | undefined;
    if (resolved && 'fields' in resolved) {
      kind = Kind.Message;
      message = compile(resolved, plans);
    } else if (resolved) {
      kind = Kind.Enum;
      enumValues = (resolved as protobuf.Enum).values;
    } else {
      const scalar = SCALAR_KINDS[field.type];
      if (scalar === undefined)
        throw new Error(`frame encoder: ${type.name}.${field.name} has type ${field.type}, not handled`);
      kind = scalar;
    }
    // Repeated scalars would be packed in proto3; ext_proc's answers have none, so none are handled.
    if (field.repeated && kind !== Kind.Message && kind !== Kind.String && kind !== Kind.Bytes)
      throw new Error(`frame encoder: repeated scalar ${type.name}.${field.name} is not handled`);
    plan.fields.push({
      name: field.name,
      key: (field.id << 3) | WIRE_TYPE[kind],
      kind,
      repeated: field.repeated,
      ...(message ? { message } : {}),
      ...(enumValues ? { enumValues } : {}),
    });
  }
  return plan;
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 2 ** 35) return 5;
  let size = 5;
  for (let rest = Math.floor(value / 2 ** 35); rest > 0; rest = Math.floor(rest / 128)) size++;
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/**
 * Writes `text` of `size` UTF-8 bytes. Header names, values and metadata are short and ASCII (size
 * equals length only then): copying their char codes beats a call into Buffer#write.
 */
function writeString(out: Buffer, at: number, text: string, size: number): number {
  if (size !== text.length || size > 64) return at + out.write(text, at, size, 'utf8');
  for (let i = 0; i < size; i++) out[at + i] = text.charCodeAt(i);
  return at + size;
}

/** A varint-encoded non-negative integer value of an enum, int32, uint32 or int64 field. */
function integerOf(field: FieldPlan, value: unknown): number {
  let n = value;
  // An unknown name: protobufjs' encoder would be handed undefined and skip the field; let it.
  if (field.kind === Kind.Enum && typeof value === 'string') n = field.enumValues![value] ?? -1;
  else if (field.kind === Kind.Bool) return value ? 1 : 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw UNSUPPORTED;
  if (field.kind !== Kind.Int64 && n > 0xffffffff) throw UNSUPPORTED;
  return n;
}

/** Per-encode scratch: sizes of nested messages and strings, in the order both passes visit them. */
const sizes: number[] = [];
let cursor = 0;
/** The encoder in use's: a bytes value it leaves to the caller (see frameEncoder). */
let declineBytes: ((bytes: Uint8Array) => boolean) | undefined;

function measure(plan: MessagePlan, message: Record<string, unknown>): number {
  let total = 0;
  for (const field of plan.fields) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.mapValue) {
      for (const name of Object.keys(value as object)) {
        const entryValue = (value as Record<string, unknown>)[name];
        const entrySlot = sizes.length;
        sizes.push(0);
        const keyBytes = Buffer.byteLength(name);
        sizes.push(keyBytes);
        const valueSlot = sizes.length;
        sizes.push(0);
        const valueBytes =
          entryValue === undefined || entryValue === null
            ? 0
            : measure(field.mapValue, entryValue as Record<string, unknown>);
        sizes[valueSlot] = valueBytes;
        // protobufjs writes the value even when empty (key 2, length 0).
        const entry = 1 + varintSize(keyBytes) + keyBytes + 1 + varintSize(valueBytes) + valueBytes;
        sizes[entrySlot] = entry;
        total += varintSize(field.key) + varintSize(entry) + entry;
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw UNSUPPORTED;
      for (const item of value) total += measureOne(field, item);
    } else total += measureOne(field, value);
  }
  return total;
}

function measureOne(field: FieldPlan, value: unknown): number {
  const keySize = varintSize(field.key);
  switch (field.kind) {
    case Kind.Message: {
      if (typeof value !== 'object' || value === null) throw UNSUPPORTED;
      const slot = sizes.length;
      sizes.push(0);
      const size = measure(field.message!, value as Record<string, unknown>);
      sizes[slot] = size;
      return keySize + varintSize(size) + size;
    }
    case Kind.String: {
      if (typeof value !== 'string') throw UNSUPPORTED;
      const size = Buffer.byteLength(value);
      sizes.push(size);
      return keySize + varintSize(size) + size;
    }
    case Kind.Bytes:
      if (!(value instanceof Uint8Array) || declineBytes?.(value)) throw UNSUPPORTED;
      return keySize + varintSize(value.length) + value.length;
    case Kind.Double:
      if (typeof value !== 'number') throw UNSUPPORTED;
      return keySize + 8;
    default:
      return keySize + varintSize(integerOf(field, value));
  }
}

function write(plan: MessagePlan, message: Record<string, unknown>, out: Buffer, at: number): number {
  for (const field of plan.fields) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.mapValue) {
      for (const name of Object.keys(value as object)) {
        const entryValue = (value as Record<string, unknown>)[name];
        at = writeVarint(out, at, field.key);
        at = writeVarint(out, at, sizes[cursor++]!);
        const keyBytes = sizes[cursor++]!;
        out[at++] = 0x0a;
        at = writeVarint(out, at, keyBytes);
        at = writeString(out, at, name, keyBytes);
        out[at++] = 0x12;
        const valueBytes = sizes[cursor++]!;
        at = writeVarint(out, at, valueBytes);
        if (entryValue !== undefined && entryValue !== null)
          at = write(field.mapValue, entryValue as Record<string, unknown>, out, at);
      }
      continue;
    }
    if (field.repeated) for (const item of value as unknown[]) at = writeOne(field, item, out, at);
    else at = writeOne(field, value, out, at);
  }
  return at;
}

function writeOne(field: FieldPlan, value: unknown, out: Buffer, at: number): number {
  at = writeVarint(out, at, field.key);
  switch (field.kind) {
    case Kind.Message:
      at = writeVarint(out, at, sizes[cursor++]!);
      return write(field.message!, value as Record<string, unknown>, out, at);
    case Kind.String: {
      const size = sizes[cursor++]!;
      at = writeVarint(out, at, size);
      return writeString(out, at, value as string, size);
    }
    case Kind.Bytes: {
      const bytes = value as Uint8Array;
      at = writeVarint(out, at, bytes.length);
      out.set(bytes, at);
      return at + bytes.length;
    }
    case Kind.Double:
      return out.writeDoubleLE(value as number, at);
    default:
      return writeVarint(out, at, integerOf(field, value));
  }
}

/**
 * An encoder for messages of `type` into whole gRPC frames (PREFIX_BYTES of prefix, then the
 * message); undefined for a message it does not handle (see the file comment), or that holds a bytes
 * value `decline` answers true for (a body the caller frames in place instead of copying it).
 */
export function frameEncoder(
  type: protobuf.Type,
  decline?: (bytes: Uint8Array) => boolean,
): (message: object) => Buffer | undefined {
  const plan = compile(type, new Map());
  return (message) => {
    sizes.length = 0;
    cursor = 0;
    declineBytes = decline;
    try {
      const length = measure(plan, message as Record<string, unknown>);
      const frame = Buffer.allocUnsafe(PREFIX_BYTES + length);
      frame[0] = 0;
      frame.writeUInt32BE(length, 1);
      const end = write(plan, message as Record<string, unknown>, frame, PREFIX_BYTES);
      if (end !== frame.length) throw new Error(`frame encoder wrote ${end} of ${frame.length} bytes`);
      return frame;
    } catch (error) {
      if (error instanceof Unsupported) return undefined;
      throw error;
    }
  };
}
