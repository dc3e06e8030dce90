/**
 * Large bodies we write back to Envoy are encoded without copying them. A body built with `allocBody`
 * has spare bytes in front of it in the same memory; the ProcessingResponse that carries it is encoded
 * into that space, ending exactly where the body begins, so the encoded message is a view over the body
 * instead of a second 10 MB buffer (protobufjs' writer copies every bytes field into its own output).
 *
 * Layout: protobuf fields may appear in any order (protobuf.dev/programming-guides/encoding, "Field
 * Order"), so at each level of the path down to the body we write the message's other fields first, then
 * the tag and length of the child that holds the body, which comes last. Every level stays one
 * contiguous occurrence, so any decoder (Envoy's C++ one, protobufjs) reads the same message as the
 * plain encoding. gRPC's 5-byte frame prefix fits in front of that too (ext-proc-codec.ts frameResponse).
 */
import type protobuf from 'protobufjs';

/** Room for the response around a body: header mutations, dynamic metadata, mode override. */
export const BODY_HEADROOM = 16 * 1024;
/** Below this, a body is simply copied: the headroom would cost more than it saves. */
export const HEADROOM_MIN_BODY = 64 * 1024;

/** gRPC's length prefix (grpc/grpc doc/PROTOCOL-HTTP2.md): kept free in front of an encoded message. */
export const FRAME_PREFIX_BYTES = 5;

const withHeadroom = new WeakSet<Buffer>();
const withFrameRoom = new WeakSet<Buffer>();

/** Whether `message` came from a headroom encoder and has FRAME_PREFIX_BYTES free in front of it. */
export function hasFrameRoom(message: Buffer): boolean {
  return withFrameRoom.has(message);
}

/** Whether `body` came from allocBody with room in front (and has not been encoded around yet). */
export function hasHeadroom(body: Uint8Array): boolean {
  return body.length >= HEADROOM_MIN_BODY && withHeadroom.has(body as Buffer);
}

/** An uninitialised buffer of `length` bytes for a body, with room to encode its response in front. */
export function allocBody(length: number): Buffer {
  if (length < HEADROOM_MIN_BODY) return Buffer.allocUnsafe(length);
  const body = Buffer.allocUnsafeSlow(BODY_HEADROOM + length).subarray(BODY_HEADROOM);
  withHeadroom.add(body);
  return body;
}

/** `text` as UTF-8 bytes, in a body buffer (see allocBody). */
export function bodyFromString(text: string): Buffer {
  const length = Buffer.byteLength(text);
  if (length < HEADROOM_MIN_BODY) return Buffer.from(text);
  const body = allocBody(length);
  body.write(text, 0, 'utf8');
  return body;
}

/** The fields from the message type down to a bytes field, e.g. request_body.response.body_mutation.body. */
interface BodyPath {
  steps: { name: string; tag: number }[];
  types: protobuf.Type[];
}

function compilePath(root: protobuf.Type, names: readonly string[]): BodyPath {
  const steps: BodyPath['steps'] = [];
  const types: protobuf.Type[] = [];
  let type: protobuf.Type | null = root;
  for (const name of names) {
    if (!type) throw new Error(`body path ${names.join('.')}: ${name} is below a scalar`);
    const field: protobuf.Field | null = type.fields[name] ?? null;
    if (!field) throw new Error(`body path ${names.join('.')}: ${type.name} has no field ${name}`);
    field.resolve();
    types.push(type);
    // Length-delimited wire type (2) for both embedded messages and bytes.
    steps.push({ name, tag: (field.id << 3) | 2 });
    type =
      field.resolvedType && 'fields' in field.resolvedType ? (field.resolvedType as protobuf.Type) : null;
  }
  return { steps, types };
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeVarint(target: Buffer, at: number, value: number): void {
  while (value >= 0x80) {
    target[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[at] = value;
}

/**
 * An encoder for messages of `type` whose big bytes field sits at one of `paths` (field names from the
 * top). It answers `undefined` when the message has no body from `allocBody` at any of them, or when
 * the rest of the message does not fit the headroom: the caller then encodes it the plain way.
 */
export function headroomEncoder(
  type: protobuf.Type,
  paths: readonly (readonly string[])[],
): (message: object) => Buffer | undefined {
  const compiled = paths.map((names) => compilePath(type, names));
  return (message) => {
    for (const path of compiled) {
      const objects: Record<string, unknown>[] = [];
      let node: unknown = message;
      for (const step of path.steps) {
        if (node === null || typeof node !== 'object') break;
        objects.push(node as Record<string, unknown>);
        node = (node as Record<string, unknown>)[step.name];
      }
      if (objects.length !== path.steps.length || !(node instanceof Buffer) || !withHeadroom.has(node))
        continue;
      // Once only: the encoded message may still be on its way out when a second one would overwrite it.
      withHeadroom.delete(node);
      return encodeAround(path, objects, node);
    }
    return undefined;
  };
}

function encodeAround(path: BodyPath, objects: Record<string, unknown>[], body: Buffer): Buffer | undefined {
  // Innermost level first: each level is [its other fields][tag][length][child].
  const levels = objects.length;
  const others: Uint8Array[] = new Array(levels);
  const childLengths: number[] = new Array(levels);
  let childLength = body.length;
  for (let level = levels - 1; level >= 0; level--) {
    const { name, tag } = path.steps[level]!;
    const rest = { ...objects[level]!, [name]: undefined };
    others[level] = path.types[level]!.encode(rest).finish();
    childLengths[level] = childLength;
    childLength += others[level]!.length + varintLength(tag) + varintLength(childLength);
  }
  const prefix = childLength - body.length;
  if (prefix + FRAME_PREFIX_BYTES > body.byteOffset) return undefined;
  const whole = Buffer.from(body.buffer, body.byteOffset - prefix, childLength);
  let at = 0;
  for (let level = 0; level < levels; level++) {
    const other = others[level]!;
    whole.set(other, at);
    at += other.length;
    const { tag } = path.steps[level]!;
    writeVarint(whole, at, tag);
    at += varintLength(tag);
    writeVarint(whole, at, childLengths[level]!);
    at += varintLength(childLengths[level]!);
  }
  withFrameRoom.add(whole);
  return whole;
}
