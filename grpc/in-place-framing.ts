/**
 * gRPC frames every message with a 5-byte prefix — a compressed flag and a big-endian length
 * (grpc/grpc doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message"). @grpc/grpc-js' server does it by
 * allocating a new buffer of length + 5 and copying the serialised message into it
 * (BaseServerInterceptingCall.serializeMessage, src/server-interceptors.ts). For a 10 MB request body
 * sent back to Envoy that is one more 10 MB buffer per attempt. A message encoded in a body's
 * headroom (protos/body-headroom.ts) has free bytes in front of it, so its prefix is written there
 * instead, in place; every other message is framed exactly as grpc-js frames it.
 *
 * This replaces one method of a grpc-js class that is not public API. It is installed only when that
 * method is the one we know (grpc-js 1.14's, recognised by its source), and otherwise left alone, which
 * costs the copy and nothing else; the test suite fails if it stops being installed.
 */
import { createRequire } from 'node:module';
import { FRAME_PREFIX_BYTES, hasFrameRoom } from '../protos/body-headroom.ts';

const require = createRequire(import.meta.url);

interface CallPrototype {
  serializeMessage(this: { handler: { serialize(value: unknown): Buffer } }, value: unknown): Buffer;
}

/** What grpc-js 1.14's serializeMessage does, whitespace aside: allocate length + 5, write, copy. */
const KNOWN_SHAPE = [
  'this.handler.serialize(value)',
  'Buffer.allocUnsafe(byteLength + 5)',
  'output.writeUInt8(0, 0)',
  'output.writeUInt32BE(byteLength, 1)',
  'messageBuffer.copy(output, 5)',
];

let installed: boolean | undefined;

/** Installs in-place framing once per process; answers whether it is in place. */
export function installInPlaceFraming(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  let prototype: CallPrototype | undefined;
  try {
    prototype = require('@grpc/grpc-js/build/src/server-interceptors.js').BaseServerInterceptingCall
      ?.prototype;
  } catch {
    return false;
  }
  const original = prototype?.serializeMessage;
  if (!prototype || typeof original !== 'function') return false;
  const source = original.toString();
  if (!KNOWN_SHAPE.every((part) => source.includes(part))) return false;
  prototype.serializeMessage = function serializeMessage(value) {
    const message = this.handler.serialize(value);
    const length = message.byteLength;
    if (hasFrameRoom(message)) {
      const framed = Buffer.from(
        message.buffer,
        message.byteOffset - FRAME_PREFIX_BYTES,
        length + FRAME_PREFIX_BYTES,
      );
      // Response compression is not supported by grpc-js' server either: the flag is always 0.
      framed.writeUInt8(0, 0);
      framed.writeUInt32BE(length, 1);
      return framed;
    }
    const output = Buffer.allocUnsafe(length + FRAME_PREFIX_BYTES);
    output.writeUInt8(0, 0);
    output.writeUInt32BE(length, 1);
    message.copy(output, FRAME_PREFIX_BYTES);
    return output;
  };
  installed = true;
  return true;
}
