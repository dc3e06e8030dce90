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
 * strings) makes `encodeFrame` answer undefined, and the caller encodes with protobufjs. The one
 * exception is a bytes field the caller names as text (`textBytes`): there a string is written as its
 * UTF-8 bytes (protobufjs would read it as base64), so header values need no Buffer of their own.
 */
import type protobuf from 'protobufjs';
import { PREFIX_BYTES } from '../grpc/wire.ts';

enum Kind {
  Message,
  Enum,
  String,
  Bytes,
  /** A bytes field that also takes a string, written as its UTF-8 bytes. */
  TextBytes,
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
  /** The message type's full name, without the leading dot. */
  typeName: string;
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
  [Kind.TextBytes]: 2,
  [Kind.Bool]: 0,
  [Kind.Uint32]: 0,
  [Kind.Int32]: 0,
  [Kind.Int64]: 0,
  [Kind.Double]: 1,
};

function compile(
  type: protobuf.Type,
  plans: Map<protobuf.Type, MessagePlan>,
  textBytes: ReadonlySet<string>,
): MessagePlan {
  const known = plans.get(type);
  if (known) return known;
  const plan: MessagePlan = { typeName: type.fullName.slice(1), fields: [] };
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
        mapValue: compile(valueType, plans, textBytes),
      });
      continue;
    }
    let kind: Kind;
    let message: MessagePlan | undefined;
    let enumValues: Record<string, number> | undefined;
    if (resolved && 'fields' in resolved) {
      kind = Kind.Message;
      message = compile(resolved, plans, textBytes);
    } else if (resolved) {
      kind = Kind.Enum;
      enumValues = (resolved as protobuf.Enum).values;
    } else {
      const scalar = SCALAR_KINDS[field.type];
      if (scalar === undefined)
        throw new Error(`frame encoder: ${type.name}.${field.name} has type ${field.type}, not handled`);
      kind =
        scalar === Kind.Bytes && textBytes.has(`${type.fullName.slice(1)}.${field.name}`)
          ? Kind.TextBytes
          : scalar;
    }
    // Repeated scalars would be packed in proto3; ext_proc's answers have none, so none are handled.
    if (
      field.repeated &&
      kind !== Kind.Message &&
      kind !== Kind.String &&
      kind !== Kind.Bytes &&
      kind !== Kind.TextBytes
    )
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
 * Strings shorter than this are always flat in V8 (ConsString::kMinLength and SlicedString::kMinLength
 * are both 13, v8 src/objects/string.h); longer ones may be ropes or slices, made per request by a
 * template or a `slice`.
 */
const FLAT_BELOW = 13;

/**
 * UTF-8 length of `text`. Short ASCII strings (most names and values in ext_proc's answers) are counted
 * here, cheaper than a call into Buffer.byteLength; longer ones go to Buffer.byteLength, which takes a
 * rope or a slice in its stride, where a char loop over one per request was slow and slowed this loop
 * for every other string too (ropes are flattened or walked at each char read).
 */
function byteLength(text: string): number {
  const length = text.length;
  if (length >= FLAT_BELOW) return Buffer.byteLength(text);
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text);
  return length;
}

/**
 * Writes `text` of `size` UTF-8 bytes: a short ASCII string (size equals length only then) by its char
 * codes, cheaper than a call into Buffer#write; anything else by Buffer#write (see byteLength).
 */
function writeString(out: Buffer, at: number, text: string, size: number): number {
  if (size !== text.length || size >= FLAT_BELOW) return at + out.write(text, at, size, 'utf8');
  for (let i = 0; i < size; i++) out[at + i] = text.charCodeAt(i);
  return at + size;
}

/**
 * The two passes, generated once per message type from its plan: straight-line code with one property
 * read per field of that type, where a loop over the plan would read every field name of every type at
 * the same few sites (megamorphic loads, which were most of the encoder's time). The code is built
 * only from the proto's own field names and numbers, never from a message's contents.
 */
interface Passes {
  measure(message: object): number;
  write(message: object, out: Buffer, at: number): number;
  /** Per encode: the scratch list of sizes is emptied and `decline` is the one in use. */
  reset(decline: ((bytes: Uint8Array) => boolean) | undefined): void;
}

/** A varint-encoded non-negative integer value, at most `max`; anything else is declined. */
function uint(value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max)
    throw UNSUPPORTED;
  return value;
}

const HELPERS = { varintSize, writeVarint, writeString, uint, UNSUPPORTED, byteLength };

/**
 * Bytes of frozen messages of the `once` types, by the message object: a message built once per
 * configuration (a phase's metadata for one route entry and key) is encoded once, not per answer.
 * Frozen, so it cannot change after its bytes are taken.
 */
type OnceBytes = (message: object, plan: number) => Uint8Array | undefined;

function generate(root: MessagePlan, once: ReadonlySet<string> = new Set()): Passes {
  const plans: MessagePlan[] = [];
  const indexOf = new Map<MessagePlan, number>();
  const visit = (plan: MessagePlan) => {
    if (indexOf.has(plan)) return;
    indexOf.set(plan, plans.length);
    plans.push(plan);
    for (const field of plan.fields) {
      if (field.message) visit(field.message);
      if (field.mapValue) visit(field.mapValue);
    }
  };
  visit(root);
  const enums: Record<string, number>[] = [];
  const lines: string[] = [
    'const { varintSize, writeVarint, writeString, uint, UNSUPPORTED, byteLength } = helpers;',
    // S holds the measured sizes in visiting order: P is the next free slot, C the next to read. The
    // array keeps its capacity between encodes (emptying it with length = 0 would free its store).
    'const S = [];',
    'let P = 0;',
    'let C = 0;',
    'let D;',
  ];
  // A non-negative integer of an enum, int32, uint32 or int64 field; anything else is declined. An
  // unknown enum name: protobufjs' encoder would be handed undefined and skip the field; decline it.
  const integer = (field: FieldPlan, v: string) => {
    if (field.kind === Kind.Bool) return `(${v} ? 1 : 0)`;
    if (field.kind === Kind.Int64) return `uint(${v}, ${Number.MAX_SAFE_INTEGER})`;
    if (field.kind !== Kind.Enum) return `uint(${v}, 0xffffffff)`;
    enums.push(field.enumValues!);
    return `uint(typeof ${v} === 'string' ? (E[${enums.length - 1}][${v}] ?? -1) : ${v}, 0xffffffff)`;
  };
  const keyBytes = (key: number) => `at = writeVarint(out, at, ${key});`;
  const measureValue = (field: FieldPlan, v: string): string => {
    const k = varintSize(field.key);
    switch (field.kind) {
      case Kind.Message: {
        const i = indexOf.get(field.message!)!;
        if (once.has(field.message!.typeName))
          return `{ if (typeof ${v} !== 'object') throw UNSUPPORTED; const s = P++; const b = onceBytes(${v}, ${i}); const n = b === undefined ? m${i}(${v}) : b.length; S[s] = n; t += ${k} + varintSize(n) + n; }`;
        return `{ if (typeof ${v} !== 'object') throw UNSUPPORTED; const s = P++; const n = m${i}(${v}); S[s] = n; t += ${k} + varintSize(n) + n; }`;
      }
      case Kind.String:
        return `{ if (typeof ${v} !== 'string') throw UNSUPPORTED; const n = byteLength(${v}); S[P++] = n; t += ${k} + varintSize(n) + n; }`;
      case Kind.Bytes:
        return `{ if (!(${v} instanceof Uint8Array) || (D !== undefined && D(${v}))) throw UNSUPPORTED; t += ${k} + varintSize(${v}.length) + ${v}.length; }`;
      case Kind.TextBytes:
        return `{ if (typeof ${v} === 'string') { const n = byteLength(${v}); S[P++] = n; t += ${k} + varintSize(n) + n; } else { if (!(${v} instanceof Uint8Array) || (D !== undefined && D(${v}))) throw UNSUPPORTED; t += ${k} + varintSize(${v}.length) + ${v}.length; } }`;
      case Kind.Double:
        return `{ if (typeof ${v} !== 'number') throw UNSUPPORTED; t += ${k + 8}; }`;
      default:
        return `t += ${k} + varintSize(${integer(field, v)});`;
    }
  };
  const writeValue = (field: FieldPlan, v: string): string => {
    switch (field.kind) {
      case Kind.Message: {
        const i = indexOf.get(field.message!)!;
        if (once.has(field.message!.typeName))
          return `${keyBytes(field.key)} at = writeVarint(out, at, S[C++]); { const b = onceBytes(${v}, ${i}); if (b === undefined) at = w${i}(${v}, out, at); else { out.set(b, at); at += b.length; } }`;
        return `${keyBytes(field.key)} at = writeVarint(out, at, S[C++]); at = w${i}(${v}, out, at);`;
      }
      case Kind.String:
        return `${keyBytes(field.key)} { const n = S[C++]; at = writeVarint(out, at, n); at = writeString(out, at, ${v}, n); }`;
      case Kind.Bytes:
        return `${keyBytes(field.key)} at = writeVarint(out, at, ${v}.length); out.set(${v}, at); at += ${v}.length;`;
      case Kind.TextBytes:
        return `${keyBytes(field.key)} if (typeof ${v} === 'string') { const n = S[C++]; at = writeVarint(out, at, n); at = writeString(out, at, ${v}, n); } else { at = writeVarint(out, at, ${v}.length); out.set(${v}, at); at += ${v}.length; }`;
      case Kind.Double:
        return `${keyBytes(field.key)} at = out.writeDoubleLE(${v}, at);`;
      default:
        return `${keyBytes(field.key)} at = writeVarint(out, at, ${integer(field, v)});`;
    }
  };
  for (const plan of plans) {
    const i = indexOf.get(plan)!;
    const measure: string[] = [`function m${i}(o) {`, 'let t = 0; let v;'];
    const write: string[] = [`function w${i}(o, out, at) {`, 'let v;'];
    for (const field of plan.fields) {
      const read = `v = o[${JSON.stringify(field.name)}]; if (v !== undefined && v !== null)`;
      if (field.mapValue) {
        const value = indexOf.get(field.mapValue)!;
        const k = varintSize(field.key);
        // protobufjs writes the value even when empty (key 2, length 0).
        measure.push(
          `${read} for (const name in v) { const e = v[name]; const es = P++;` +
            ` const kb = byteLength(name); S[P++] = kb; const vs = P++;` +
            ` const vb = e === undefined || e === null ? 0 : m${value}(e); S[vs] = vb;` +
            ` const entry = 1 + varintSize(kb) + kb + 1 + varintSize(vb) + vb; S[es] = entry;` +
            ` t += ${k} + varintSize(entry) + entry; }`,
        );
        write.push(
          `${read} for (const name in v) { const e = v[name]; ${keyBytes(field.key)}` +
            ' at = writeVarint(out, at, S[C++]); const kb = S[C++]; out[at++] = 0x0a;' +
            ' at = writeVarint(out, at, kb); at = writeString(out, at, name, kb); out[at++] = 0x12;' +
            ` at = writeVarint(out, at, S[C++]); if (e !== undefined && e !== null) at = w${value}(e, out, at); }`,
        );
      } else if (field.repeated) {
        measure.push(
          `${read} { if (!Array.isArray(v)) throw UNSUPPORTED; for (let j = 0; j < v.length; j++) { const x = v[j]; ${measureValue(field, 'x')} } }`,
        );
        write.push(
          `${read} for (let j = 0; j < v.length; j++) { const x = v[j]; ${writeValue(field, 'x')} }`,
        );
      } else {
        measure.push(`${read} ${measureValue(field, 'v')}`);
        write.push(`${read} { ${writeValue(field, 'v')} }`);
      }
    }
    lines.push(...measure, 'return t; }', ...write, 'return at; }');
  }
  lines.push(
    'return { measure: m0, write: (o, out, at) => { C = 0; return w0(o, out, at); },',
    ' reset(decline) { P = 0; C = 0; D = decline; } };',
  );
  // The bytes of a frozen message of a `once` type, encoded by passes of its own (these passes' size
  // list is in use while they are asked), and remembered for as long as the message lives.
  const remembered = new WeakMap<object, Uint8Array>();
  const alone = new Map<number, Passes>();
  const onceBytes: OnceBytes = (message, plan) => {
    if (!Object.isFrozen(message)) return undefined;
    let bytes = remembered.get(message);
    if (bytes === undefined) {
      let passes = alone.get(plan);
      if (passes === undefined) {
        passes = generate(plans[plan]!, once);
        alone.set(plan, passes);
      }
      passes.reset(undefined);
      bytes = Buffer.allocUnsafeSlow(passes.measure(message));
      passes.write(message, bytes as Buffer, 0);
      remembered.set(message, bytes);
    }
    return bytes;
  };
  return new Function('helpers', 'E', 'onceBytes', lines.join('\n'))(HELPERS, enums, onceBytes) as Passes;
}

/**
 * An encoder for messages of `type` into whole gRPC frames (PREFIX_BYTES of prefix, then the
 * message); undefined for a message it does not handle (see the file comment), or that holds a bytes
 * value `decline` answers true for (a body the caller frames in place instead of copying it).
 */
export function frameEncoder(
  type: protobuf.Type,
  decline?: (bytes: Uint8Array) => boolean,
  /** Bytes fields ("package.Message.field") whose strings are text, written as UTF-8. */
  textBytes: readonly string[] = [],
  /** Message types ("package.Message") whose frozen messages are encoded once (see OnceBytes). */
  once: readonly string[] = [],
): (message: object) => Buffer | undefined {
  const passes = generate(compile(type, new Map(), new Set(textBytes)), new Set(once));
  return (message) => {
    passes.reset(decline);
    try {
      const length = passes.measure(message);
      const frame = Buffer.allocUnsafe(PREFIX_BYTES + length);
      frame[0] = 0;
      frame.writeUInt32BE(length, 1);
      const end = passes.write(message, frame, PREFIX_BYTES);
      if (end !== frame.length) throw new Error(`frame encoder wrote ${end} of ${frame.length} bytes`);
      return frame;
    } catch (error) {
      if (error instanceof Unsupported) return undefined;
      throw error;
    }
  };
}
