/**
 * The wire codec of our ExternalProcessor *server*, lean on the hot path. proto-loader's default codec
 * converts every message to and from a plain object (`toObject` on the way in, `fromObject` on the way
 * out), walking every field and copying bytes. Here requests are decoded into protobufjs message
 * objects that are read in place (bytes stay views of the received buffer), and responses are encoded
 * directly from the plain objects ext-proc builds, after turning the few enum names they carry into
 * numbers. Same protos, same messages; the benchmark's no-op servers use this codec too. A large
 * body built for it (body-headroom.ts) is not copied: its response, and the gRPC frame prefix, are
 * encoded in the space before it.
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { writePrefix } from '../grpc/wire.ts';
import { FRAME_PREFIX_BYTES, hasFrameRoom, hasHeadroom, headroomEncoder } from './body-headroom.ts';
import { EXT_PROC_SERVICE, extProcPackageDefinition, extProcRoot } from './envoy.ts';
import type {
  BodySendMode,
  CommonResponse,
  HeaderMutation,
  ProcessingMode,
  ProcessingRequest,
  ProcessingResponse,
} from './ext-proc-messages.ts';
import { frameEncoder } from './frame-encoder.ts';
import { requestDecoder } from './request-decoder.ts';

export interface ExtProcCodec {
  decodeRequest(buffer: Buffer): ProcessingRequest;
  /** The encoded ProcessingResponse alone (what grpc-js frames itself). */
  encodeResponse(response: ProcessingResponse): Buffer;
  /**
   * The whole gRPC frame of a ProcessingResponse (grpc/wire.ts), made without copying the message:
   * around a headroom body the prefix goes in the free bytes in front of it, and any other message is
   * encoded after five reserved bytes of its own buffer.
   */
  frameResponse(response: ProcessingResponse): Buffer;
}

let codec: ExtProcCodec | undefined;
let definition: grpc.ServiceDefinition | undefined;

export function extProcCodec(): ExtProcCodec {
  if (codec) return codec;
  const root = extProcRoot();
  const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const responseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const appendAction = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction').values;
  const bodyMode = root.lookupEnum(
    'envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode',
  ).values;
  const headerMode = root.lookupEnum(
    'envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.HeaderSendMode',
  ).values;
  // Where a big body travels back to Envoy: a buffered body mutation or a streamed one.
  const encodeAroundBody = headroomEncoder(
    responseType,
    ['request_body', 'response_body'].flatMap((phase) => [
      [phase, 'response', 'body_mutation', 'body'],
      [phase, 'response', 'body_mutation', 'streamed_response', 'body'],
    ]),
  );
  // Enum names are the frame encoder's own business; a headroom body is left to encodeAroundBody.
  // Header values of answers may be given as text (HeaderValueOption.header.raw_value): the frame
  // encoder writes them as UTF-8, and the protobufjs paths below get them as bytes.
  // Metadata a phase made once per configuration comes frozen, and its Struct is encoded once.
  const encodeFrame = frameEncoder(
    responseType,
    hasHeadroom,
    ['envoy.config.core.v3.HeaderValue.raw_value'],
    ['google.protobuf.Struct'],
  );
  const bodyModeNames = new Map(Object.entries(bodyMode).map(([name, n]) => [n, name as BodySendMode]));

  const numericMutation = (m: HeaderMutation | undefined) => {
    for (const option of m?.set_headers ?? []) {
      const action = option.append_action as unknown;
      if (typeof action === 'string')
        (option as { append_action: unknown }).append_action = appendAction[action];
      const raw = option.header.raw_value;
      if (typeof raw === 'string') option.header.raw_value = Buffer.from(raw);
    }
  };
  const numericCommon = (c: CommonResponse | undefined) => {
    if (c) numericMutation(c.header_mutation);
  };
  const numericMode = (mode: ProcessingMode) => {
    const out: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(mode)) {
      out[field] =
        typeof value !== 'string' ? value : field.endsWith('body_mode') ? bodyMode[value] : headerMode[value];
    }
    return out;
  };

  const decodeFast = requestDecoder(requestType);
  const decodeRequest = (buffer: Buffer) => {
    const message = decodeFast(buffer) as unknown as {
      protocol_config?: { request_body_mode?: unknown; response_body_mode?: unknown } | null;
    };
    // The only enums ext-proc reads are the configured body modes; give them their names.
    const config = message.protocol_config;
    if (config) {
      message.protocol_config = {
        ...config,
        request_body_mode: bodyModeNames.get(config.request_body_mode as number) ?? 'NONE',
        response_body_mode: bodyModeNames.get(config.response_body_mode as number) ?? 'NONE',
      };
    }
    return message as unknown as ProcessingRequest;
  };
  const numericResponse = (response: ProcessingResponse) => {
    numericCommon(response.request_headers?.response);
    numericCommon(response.response_headers?.response);
    numericCommon(response.request_body?.response);
    numericCommon(response.response_body?.response);
    numericMutation(response.request_trailers?.header_mutation);
    numericMutation(response.response_trailers?.header_mutation);
    numericMutation(response.immediate_response?.headers);
    if (response.mode_override)
      (response as { mode_override: unknown }).mode_override = numericMode(response.mode_override);
  };
  codec = {
    decodeRequest,
    encodeResponse(response) {
      numericResponse(response);
      return encodeAroundBody(response) ?? (responseType.encode(response).finish() as Buffer);
    },
    frameResponse(response) {
      const frame = encodeFrame(response);
      if (frame) return frame;
      numericResponse(response);
      const around = encodeAroundBody(response);
      if (around && hasFrameRoom(around)) {
        return writePrefix(
          Buffer.from(
            around.buffer,
            around.byteOffset - FRAME_PREFIX_BYTES,
            around.length + FRAME_PREFIX_BYTES,
          ),
        );
      }
      if (around) return frameCopy(around);
      // Five placeholder bytes (a fixed32 and a one-byte varint), then the message, in one buffer.
      const writer = protobuf.Writer.create().fixed32(0).uint32(0);
      return writePrefix(responseType.encode(response, writer).finish() as Buffer);
    },
  };
  return codec;
}

function frameCopy(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + message.length);
  message.copy(frame, FRAME_PREFIX_BYTES);
  return writePrefix(frame);
}

/** The ExternalProcessor service for @grpc/grpc-js (the benchmark's grpc-js no-op and driver). */
export function extProcServerDefinition(): grpc.ServiceDefinition {
  if (definition) return definition;
  const { decodeRequest, encodeResponse } = extProcCodec();
  const base = extProcPackageDefinition()[EXT_PROC_SERVICE] as unknown as grpc.ServiceDefinition;
  definition = {
    Process: { ...base.Process!, requestDeserialize: decodeRequest, responseSerialize: encodeResponse },
  };
  return definition;
}
