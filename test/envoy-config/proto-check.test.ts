/**
 * The strict JSON → proto check: deliberately broken copies of a real bootstrap are rejected with the
 * field path, where protobufjs's fromObject alone would have let them through.
 */
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import { generateBootstrap } from '../../envoy-config/bootstrap.ts';
import { checkMessage, ProtoCheckError, toProtobufObject } from '../../envoy-config/proto-check.ts';
import type { JsonObject } from '../../envoy-config/proto-json.ts';
import { BOOTSTRAP_TYPE, loadBootstrapRoot, typeNamesIn } from '../../envoy-config/protos.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { at, clone } from './json-path.ts';

const good = generateBootstrap(loadSnapshot('examples/local.yaml', { supportedProviders }));
const root = loadBootstrapRoot(typeNamesIn(good));
const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const ROUTER_EXT_PROC = `${HCM}.http_filters[1].typed_config`;

function broken(edit: (copy: JsonObject) => void): JsonObject {
  const copy = clone(good);
  edit(copy);
  return copy;
}

function objectAt(value: JsonObject, path: string): JsonObject {
  return at(value, path) as JsonObject;
}

const check = (value: unknown, type = BOOTSTRAP_TYPE) => checkMessage(root, type, value);

describe('the strict Envoy config check', () => {
  it('accepts the generated bootstrap as is', () => {
    expect(check(good)).toEqual([]);
  });

  it('rejects an unknown field, names its path and suggests the near miss', () => {
    const value = broken((b) => {
      objectAt(b, 'static_resources.clusters[0]').conect_timeout = '1s';
    });
    expect(check(value)).toEqual([
      {
        path: 'static_resources.clusters[0].conect_timeout',
        message:
          'unknown field "conect_timeout" in envoy.config.cluster.v3.Cluster (did you mean "connect_timeout"?)',
      },
    ]);
    // What the check is for: protobufjs on its own drops the field without a word.
    const type = root.lookupType('envoy.config.cluster.v3.Cluster');
    expect(() => type.fromObject({ name: 'x', conect_timeout: { seconds: 1 } })).not.toThrow();
  });

  it('rejects values of the wrong JSON type', () => {
    const value = broken((b) => {
      objectAt(b, HCM).use_remote_address = 'yes';
      objectAt(b, 'static_resources.clusters[0]').connect_timeout = 5;
      objectAt(b, 'admin.address.socket_address').port_value = 70000;
      objectAt(b, 'static_resources.listeners[0]').per_connection_buffer_limit_bytes = 2 ** 32;
    });
    expect(check(value)).toEqual([
      {
        path: 'admin.address.socket_address.port_value',
        message: '70000 breaks the rule uint32.lte = 65535',
      },
      {
        path: 'static_resources.listeners[0].per_connection_buffer_limit_bytes',
        message: '4294967296 is out of range for uint32',
      },
      {
        path: `${HCM}.use_remote_address`,
        message: 'expected true or false, got string "yes"',
      },
      {
        path: 'static_resources.clusters[0].connect_timeout',
        message: 'expected a duration like "5s" or "0.250s", got number 5',
      },
    ]);
  });

  it('rejects a misspelled enum value inside an Any, naming the enum', () => {
    const value = broken((b) => {
      objectAt(b, `${ROUTER_EXT_PROC}.processing_mode`).request_body_mode = 'BUFFERD';
    });
    const [problem, ...rest] = check(value);
    expect(rest).toEqual([]);
    expect(problem?.path).toBe(`${ROUTER_EXT_PROC}.processing_mode.request_body_mode`);
    expect(problem?.message).toMatch(
      /^"BUFFERD" is not a value of envoy\.extensions\.filters\.http\.ext_proc\.v3\.ProcessingMode\.BodySendMode \(NONE, STREAMED, BUFFERED, BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED/,
    );
  });

  it('rejects an Any whose type URL names no Envoy message', () => {
    const value = broken((b) => {
      objectAt(b, ROUTER_EXT_PROC)['@type'] =
        'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcesor';
    });
    expect(check(value)).toEqual([
      {
        path: `${ROUTER_EXT_PROC}.@type`,
        message:
          'unknown type URL "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcesor": no such message in Envoy\'s protos',
      },
    ]);
    const untyped = broken((b) => {
      delete objectAt(b, ROUTER_EXT_PROC)['@type'];
    });
    expect(check(untyped)[0]?.path).toBe(`${ROUTER_EXT_PROC}.@type`);
  });

  it('checks the payload of an Any as the message its @type names', () => {
    const value = broken((b) => {
      objectAt(b, `${ROUTER_EXT_PROC}.grpc_service.envoy_grpc`).cluster = 'typo';
    });
    expect(check(value)).toEqual([
      expect.objectContaining({
        path: `${ROUTER_EXT_PROC}.grpc_service.envoy_grpc.cluster`,
        message: expect.stringContaining(
          'unknown field "cluster" in envoy.config.core.v3.GrpcService.EnvoyGrpc',
        ),
      }),
    ]);
  });

  it('allows at most one member of a oneof', () => {
    const value = broken((b) => {
      objectAt(b, `${HCM}.route_config.virtual_hosts[0].routes[0].match`).path = '/v1/chat/completions';
    });
    expect(check(value)).toEqual([
      {
        path: `${HCM}.route_config.virtual_hosts[0].routes[0].match`,
        message:
          'oneof "path_specifier" of envoy.config.route.v3.RouteMatch has more than one field set: prefix, path',
      },
    ]);
  });

  it('enforces the protoc-gen-validate rules Envoy applies: required fields and oneofs, bounds', () => {
    const value = broken((b) => {
      delete objectAt(b, ROUTER_EXT_PROC).grpc_service;
      const options = objectAt(
        b,
        'static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]',
      );
      delete options.explicit_http_config;
      objectAt(
        b,
        `${HCM}.route_config.virtual_hosts[0].routes[1].route.retry_policy.retry_priority.typed_config`,
      ).update_frequency = 0;
    });
    expect(check(value).map((p) => [p.path, p.message])).toEqual([
      [
        `${HCM}.route_config.virtual_hosts[0].routes[1].route.retry_policy.retry_priority.typed_config.update_frequency`,
        '0 breaks the rule int32.gt = 0',
      ],
      [
        `${ROUTER_EXT_PROC}.grpc_service`,
        'required field "grpc_service" of envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor is missing',
      ],
      [
        'static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]',
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions needs one of explicit_http_config, use_downstream_protocol_config, auto_config (oneof "upstream_protocol_options" is required)',
      ],
    ]);
  });

  it('reads well-known types in their JSON forms and rejects the others', () => {
    const retry = 'envoy.config.route.v3.RetryPolicy';
    expect(check({ per_try_timeout: '1.5s', num_retries: 2, retry_on: '5xx' }, retry)).toEqual([]);
    expect(check({ per_try_timeout: '1.5', num_retries: -1, retry_on: null }, retry)).toEqual([
      { path: 'per_try_timeout', message: 'expected a duration like "5s" or "0.250s", got string "1.5"' },
      { path: 'num_retries', message: '-1 is out of range for uint32' },
      { path: 'retry_on', message: 'null is not a value here; leave the field out instead' },
    ]);
    // Struct: any JSON; wrappers: plain values; JSON names in lowerCamel are accepted too.
    const metadata = { filter_metadata: { 'envoy.lb': { a: [1, 'two', { three: null }], b: true } } };
    expect(check(metadata, 'envoy.config.core.v3.Metadata')).toEqual([]);
    expect(check({ filterMetadata: { x: 1 } }, 'envoy.config.core.v3.Metadata')).toEqual([
      { path: 'filterMetadata["x"]', message: 'expected an object (Struct), got number 1' },
    ]);
  });

  it('rejects deprecated fields', () => {
    const value = broken((b) => {
      objectAt(b, 'static_resources.clusters[0]').http2_protocol_options = {};
    });
    expect(check(value)).toEqual([
      {
        path: 'static_resources.clusters[0].http2_protocol_options',
        message: 'field "http2_protocol_options" of envoy.config.cluster.v3.Cluster is deprecated',
      },
    ]);
  });

  it('refuses to build the protobufjs object for a broken config, listing every problem', () => {
    const value = broken((b) => {
      objectAt(b, 'static_resources.clusters[0]').conect_timeout = '1s';
      objectAt(b, ROUTER_EXT_PROC).failure_mode_allow = 'no';
    });
    expect(() => toProtobufObject(root, BOOTSTRAP_TYPE, value)).toThrow(ProtoCheckError);
    try {
      toProtobufObject(root, BOOTSTRAP_TYPE, value);
    } catch (error) {
      expect((error as ProtoCheckError).problems).toHaveLength(2);
      expect((error as Error).message).toContain('static_resources.clusters[0].conect_timeout');
    }
  });
});

describe('the protos behind the check', () => {
  it('adds the override_host policy the shipped snapshot lacks, with upstream field numbers and rules', () => {
    const type = root.lookupType('envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost');
    expect(Object.fromEntries(type.fieldsArray.map((f) => [f.name, f.id]))).toEqual({
      override_host_sources: 1,
      selected_host_key: 2,
      fallback_policy: 3,
    });
    expect(check({ override_host_sources: [] }, type.fullName.slice(1)).map((p) => p.message)).toEqual([
      'needs at least 1 item, has 0',
      'required field "fallback_policy" of envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost is missing',
    ]);
  });

  it("knows FULL_DUPLEX_STREAMED in the ext_proc filter's processing mode", () => {
    const mode = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
    expect(mode.values.FULL_DUPLEX_STREAMED).toBe(4);
  });
});
