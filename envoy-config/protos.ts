/**
 * Envoy's protos for checking a bootstrap: envoy/config/bootstrap/v3/bootstrap.proto plus every proto
 * of the packages named by the config's `@type`s, through protos/envoy.ts's loader (the one place the
 * API tree comes from, with its ext_proc overlay).
 *
 * The shipped snapshot (`@grpc/grpc-js-xds` deps/envoy-api) predates the override_host load-balancing
 * policy (Envoy 1.35). Like protos/envoy.ts, we add exactly that message when it is missing, with the
 * field numbers and validation rules of envoyproxy/envoy
 * api/envoy/extensions/load_balancing_policies/override_host/v3/override_host.proto, so a newer package
 * makes this a no-op. Everything else the generator writes exists in the snapshot.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { envoyIncludeDirs, loadEnvoyRoot } from '../protos/envoy.ts';
import { TYPE_URL_PREFIX } from './proto-json.ts';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

const BASE_FILES = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  // Loading the ext_proc service applies protos/envoy.ts's overlay, which also adds
  // FULL_DUPLEX_STREAMED to the filter's ProcessingMode.BodySendMode.
  'envoy/service/ext_proc/v3/external_processor.proto',
  'envoy/type/metadata/v3/metadata.proto',
];

const OVERRIDE_HOST_PACKAGE = 'envoy.extensions.load_balancing_policies.override_host.v3';

/** Every type named by an `@type` anywhere in the value. */
export function typeNamesIn(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) typeNamesIn(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '@type' && typeof item === 'string') into.add(item.slice(item.lastIndexOf('/') + 1));
      else typeNamesIn(item, into);
    }
  }
  return into;
}

/** The proto files of a type's package: "a.b.v3.Msg.Inner" → every .proto in a/b/v3/. */
function packageFiles(typeName: string): string[] {
  const segments = typeName.split('.');
  const firstMessage = segments.findIndex((s) => /^[A-Z]/.test(s));
  const dir = segments.slice(0, firstMessage < 0 ? segments.length : firstMessage).join('/');
  if (dir === 'google/protobuf') return []; // protobufjs ships these
  const files = new Set<string>();
  for (const include of envoyIncludeDirs) {
    const full = path.join(include, dir);
    if (!existsSync(full)) continue;
    for (const file of readdirSync(full)) if (file.endsWith('.proto')) files.add(`${dir}/${file}`);
  }
  return [...files];
}

/** Loads the bootstrap proto and the packages of the given types (names or type URLs). */
export function loadBootstrapRoot(typeNames: Iterable<string>): protobuf.Root {
  const files = new Set(BASE_FILES);
  for (const name of typeNames) {
    for (const file of packageFiles(
      name.startsWith(TYPE_URL_PREFIX) ? name.slice(TYPE_URL_PREFIX.length) : name,
    ))
      files.add(file);
  }
  const root = loadEnvoyRoot([...files]);
  addOverrideHost(root);
  root.resolveAll();
  return root;
}

function addOverrideHost(root: protobuf.Root): void {
  if (root.lookup(`${OVERRIDE_HOST_PACKAGE}.OverrideHost`) !== null) return;
  const source = new protobuf.Type('OverrideHostSource')
    .add(
      new protobuf.Field('header', 1, 'string', undefined, undefined, {
        '(validate.rules).string.well_known_regex': 'HTTP_HEADER_VALUE',
        '(validate.rules).string.strict': false,
      }),
    )
    .add(new protobuf.Field('metadata', 2, '.envoy.type.metadata.v3.MetadataKey'));
  const overrideHost = new protobuf.Type('OverrideHost')
    .add(source)
    .add(
      new protobuf.Field('override_host_sources', 1, 'OverrideHostSource', 'repeated', undefined, {
        '(validate.rules).repeated.min_items': 1,
      }),
    )
    .add(new protobuf.Field('selected_host_key', 2, '.envoy.type.metadata.v3.MetadataKey'))
    .add(
      new protobuf.Field(
        'fallback_policy',
        3,
        '.envoy.config.cluster.v3.LoadBalancingPolicy',
        undefined,
        undefined,
        {
          '(validate.rules).message.required': true,
        },
      ),
    );
  root.define(OVERRIDE_HOST_PACKAGE).add(overrideHost);
}
