/**
 * The one place Envoy's protos are loaded from.
 *
 * The API tree is Envoy's own, as shipped in `@grpc/grpc-js-xds` (deps/envoy-api and its imports).
 * That snapshot predates a few ext_proc additions current Envoy sends and expects, so after loading
 * we add exactly those — with the field numbers of envoyproxy/envoy
 * api/envoy/service/ext_proc/v3/external_processor.proto and
 * api/envoy/extensions/filters/http/ext_proc/v3/processing_mode.proto — and only when missing, so a
 * newer package makes the overlay a no-op instead of a conflict.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));

export const envoyIncludeDirs: readonly string[] = [
  'deps/envoy-api',
  'deps/xds',
  'deps/googleapis',
  'deps/protoc-gen-validate',
].map((dir) => path.join(xdsRoot, dir));

const EXT_PROC = 'envoy.service.ext_proc.v3';
const PROCESSING_MODE = 'envoy.extensions.filters.http.ext_proc.v3.ProcessingMode';

/** Loads proto files (paths relative to Envoy's API tree) into one protobufjs Root, upgraded to current Envoy. */
export function loadEnvoyRoot(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of envoyIncludeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  if (root.lookup(EXT_PROC) !== null) upgradeExtProc(root);
  root.resolveAll();
  return root;
}

function upgradeExtProc(root: protobuf.Root): void {
  const bodySendMode = root.lookupEnum(`${PROCESSING_MODE}.BodySendMode`);
  // Current Envoy: FULL_DUPLEX_STREAMED = 4, GRPC = 5.
  if (bodySendMode.values.FULL_DUPLEX_STREAMED === undefined) bodySendMode.add('FULL_DUPLEX_STREAMED', 4);
  if (bodySendMode.values.GRPC === undefined) bodySendMode.add('GRPC', 5);

  const ns = root.lookup(EXT_PROC) as protobuf.Namespace;
  if (ns.get('StreamedBodyResponse') === null) {
    ns.add(
      new protobuf.Type('StreamedBodyResponse')
        .add(new protobuf.Field('body', 1, 'bytes'))
        .add(new protobuf.Field('end_of_stream', 2, 'bool')),
    );
  }
  const bodyMutation = root.lookupType(`${EXT_PROC}.BodyMutation`);
  if (bodyMutation.fields.streamed_response === undefined) {
    const field = new protobuf.Field('streamed_response', 3, 'StreamedBodyResponse');
    bodyMutation.add(field);
    bodyMutation.oneofs.mutation!.add(field);
  }
  if (ns.get('ProtocolConfiguration') === null) {
    ns.add(
      new protobuf.Type('ProtocolConfiguration')
        .add(new protobuf.Field('request_body_mode', 1, `.${PROCESSING_MODE}.BodySendMode`))
        .add(new protobuf.Field('response_body_mode', 2, `.${PROCESSING_MODE}.BodySendMode`))
        .add(new protobuf.Field('send_body_without_waiting_for_header_response', 3, 'bool')),
    );
  }
  const processingRequest = root.lookupType(`${EXT_PROC}.ProcessingRequest`);
  if (processingRequest.fields.protocol_config === undefined) {
    processingRequest.add(new protobuf.Field('protocol_config', 11, 'ProtocolConfiguration'));
  }
}

/**
 * Options shared by every gRPC peer we build (server, dev gateway, benchmarks) so all sides see the same
 * JS shapes: snake_case fields, enums as names, bytes as Buffers, no default-filling (cheaper per message).
 */
export const protoLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

let extProcDefinition: protoLoader.PackageDefinition | undefined;
let extProcRootCache: protobuf.Root | undefined;

export function extProcRoot(): protobuf.Root {
  extProcRootCache ??= loadEnvoyRoot(['envoy/service/ext_proc/v3/external_processor.proto']);
  return extProcRootCache;
}

/** Package definition holding `envoy.service.ext_proc.v3.ExternalProcessor`, loaded once per process. */
export function extProcPackageDefinition(): protoLoader.PackageDefinition {
  extProcDefinition ??= protoLoader.fromJSON(extProcRoot().toJSON(), protoLoaderOptions);
  return extProcDefinition;
}

/** HTTP status of an ImmediateResponse as a number, whether it decoded as enum name or number. */
export function httpStatusNumber(code: number | string | undefined): number {
  if (typeof code === 'number') return code;
  if (code === undefined) return 0;
  return extProcRoot().lookupEnum('envoy.type.v3.StatusCode').values[code] ?? 0;
}

export const EXT_PROC_SERVICE = `${EXT_PROC}.ExternalProcessor`;
