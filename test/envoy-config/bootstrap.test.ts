/**
 * The generated Envoy bootstrap, checked against Envoy's own protos and read back for the settings the
 * data plane depends on: how our ext_proc filters are configured, routing on the target header,
 * fallback chains as priority levels, and the endpoint picker for InferencePools.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../config/file-source.ts';
import type { FallbackPolicy, Snapshot } from '../../config/snapshot.ts';
import { generateBootstrap } from '../../envoy-config/bootstrap.ts';
import { EXT_PROC_CLUSTER, ROUTER_FILTER, UPSTREAM_FILTER } from '../../envoy-config/filters.ts';
import { checkMessage, toProtobufObject } from '../../envoy-config/proto-check.ts';
import type { JsonObject } from '../../envoy-config/proto-json.ts';
import { BOOTSTRAP_TYPE, loadBootstrapRoot, typeNamesIn } from '../../envoy-config/protos.ts';
import { retryPolicy } from '../../envoy-config/routes.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { at, named, names } from './json-path.ts';

const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const VHOST = `${HCM}.route_config.virtual_hosts[0]`;
const PROTOCOL_OPTIONS =
  'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]';

function bootstrapFor(file: string, options: Parameters<typeof generateBootstrap>[1] = {}): JsonObject {
  return generateBootstrap(loadSnapshot(file, { supportedProviders }), options);
}

function problemsOf(bootstrap: JsonObject) {
  return checkMessage(loadBootstrapRoot(typeNamesIn(bootstrap)), BOOTSTRAP_TYPE, bootstrap);
}

/** Type.fromObject → encode → decode, as Envoy's loader would see the bytes. */
function roundTrip(bootstrap: JsonObject) {
  const root = loadBootstrapRoot(typeNamesIn(bootstrap));
  const type = root.lookupType(BOOTSTRAP_TYPE);
  const message = type.fromObject(toProtobufObject(root, BOOTSTRAP_TYPE, bootstrap));
  const decoded = type.decode(type.encode(message).finish());
  const asObject = { longs: String, enums: String, bytes: String };
  return {
    root,
    type,
    message,
    decoded,
    original: type.toObject(message, asObject),
    again: type.toObject(decoded, asObject),
  };
}

const local = bootstrapFor('examples/local.yaml');
const providers = bootstrapFor('examples/providers.yaml');

describe('the Envoy bootstrap for examples/local.yaml', () => {
  it("holds up against Envoy's protos: no unknown field, wrong type, bad enum or unknown @type", () => {
    expect(problemsOf(local)).toEqual([]);
  });

  it('survives fromObject → encode → decode unchanged, Any payloads included', () => {
    const { root, type, message, decoded, original, again } = roundTrip(local);
    expect(type.verify(message)).toBeNull();
    expect(again).toEqual(original);
    // The listener's Any decodes back to the connection manager we wrote.
    const any = at(
      type.toObject(decoded),
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config',
    ) as {
      type_url: string;
      value: Uint8Array;
    };
    expect(any.type_url).toBe(
      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
    const hcm = root.lookupType(any.type_url.split('/')[1]!).decode(any.value).toJSON();
    expect(hcm.stat_prefix).toBe('agent_router');
    expect(hcm.always_set_request_id_in_response).toBe(true);
  });

  it('runs the router-level ext_proc filter as the dev gateway drives it, before the picker and the router', () => {
    const filters = at(local, `${HCM}.http_filters`);
    expect(names(filters)).toEqual([
      'envoy.filters.http.header_mutation',
      ROUTER_FILTER,
      'envoy.filters.http.ext_proc/endpoint-picker/default/llama-pool',
      'envoy.filters.http.router',
    ]);
    expect(at(named(filters, ROUTER_FILTER), 'typed_config')).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXT_PROC_CLUSTER },
        initial_metadata: [{ key: 'x-agent-router-filter', value: 'router' }],
      },
      failure_mode_allow: false,
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: 'SEND',
        request_body_mode: 'NONE',
        response_body_mode: 'NONE',
        request_trailer_mode: 'SKIP',
        response_trailer_mode: 'SKIP',
      },
      allow_mode_override: true,
      message_timeout: '2s',
      // Envoy writes none of a processor's dynamic metadata unless its namespace is listed here
      // (ext_proc.cc Filter::setDynamicMetadata): without it the per-attempt filter never sees the decision.
      metadata_options: { receiving_namespaces: { untyped: ['agent-router'] } },
      stat_prefix: 'agent_router',
    });
    // The destination header is only ever the picker's.
    expect(at(filters, '[0].typed_config.mutations.request_mutations')).toEqual([
      { remove: 'x-gateway-destination-endpoint' },
    ]);
  });

  it('routes every entry on the target header, then answers anything else with an OpenAI-shaped 404', () => {
    const snapshot: Snapshot = loadSnapshot('examples/local.yaml', { supportedProviders });
    const routes = at(local, `${VHOST}.routes`);
    expect(names(routes)).toEqual([...snapshot.entries.keys(), 'no-route']);
    expect(at(named(routes, 'default/default/chat-v2'), 'match')).toEqual({
      prefix: '/',
      headers: [{ name: 'x-agent-router-route', string_match: { exact: 'default/default/chat-v2' } }],
    });
    const catchAll = named(routes, 'no-route');
    expect(at(catchAll, 'match')).toEqual({ prefix: '/' });
    expect(at(catchAll, 'direct_response.status')).toBe(404);
    expect(JSON.parse(at(catchAll, 'direct_response.body.inline_string') as string)).toEqual({
      error: {
        message: 'No route matches this request.',
        type: 'invalid_request_error',
        param: null,
        code: 'route_not_found',
      },
    });
    expect(at(catchAll, 'response_headers_to_add[0].header')).toEqual({
      key: 'content-type',
      value: 'application/json',
    });
  });

  it('gives each attempt x-envoy-attempt-count, which the per-attempt phase reads', () => {
    expect(at(local, `${VHOST}.include_request_attempt_count`)).toBe(true);
  });

  it('turns a fallback chain into one cluster with a priority level per backend and a previous-priorities retry', () => {
    const route = named(at(local, `${VHOST}.routes`), 'default/default/chat-v1');
    const clusterName = 'backend/default/sim-llama-v1|backend/default/sim-qwen';
    expect(at(route, 'route.cluster')).toBe(clusterName);
    expect(at(route, 'route.auto_host_rewrite')).toBe(true);
    expect(at(route, 'route.timeout')).toBe('0s');
    // attempts: 3 in the RouteConfig, but the chain has two backends.
    expect(at(route, 'route.retry_policy')).toEqual({
      retry_on: 'connect-failure,5xx,reset,retriable-status-codes',
      num_retries: 1,
      per_try_timeout: '30s',
      retriable_status_codes: [429],
      retry_priority: {
        name: 'envoy.retry_priorities.previous_priorities',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
          update_frequency: 1,
        },
      },
    });
    const cluster = named(at(local, 'static_resources.clusters'), clusterName);
    expect(at(cluster, 'load_assignment.endpoints')).toEqual([
      {
        priority: 0,
        lb_endpoints: [
          {
            endpoint: {
              address: { socket_address: { address: '127.0.0.11', port_value: 8000 } },
              hostname: '127.0.0.11:8000',
            },
          },
        ],
      },
      {
        priority: 1,
        lb_endpoints: [
          {
            endpoint: {
              address: { socket_address: { address: '127.0.0.14', port_value: 8000 } },
              hostname: '127.0.0.14:8000',
            },
          },
        ],
      },
    ]);
  });

  it('runs the per-attempt ext_proc filter in every route cluster, last before the upstream codec', () => {
    const routeClusters = (at(local, 'static_resources.clusters') as JsonObject[]).filter(
      (c) => String(c.name).startsWith('backend/') || String(c.name).startsWith('pool/'),
    );
    expect(routeClusters.length).toBeGreaterThan(0);
    for (const cluster of routeClusters) {
      const filters = at(cluster, `${PROTOCOL_OPTIONS}.http_filters`);
      expect(names(filters)).toEqual([UPSTREAM_FILTER, 'envoy.filters.http.upstream_codec']);
      expect(at(filters, '[0].typed_config.grpc_service.initial_metadata')).toEqual([
        { key: 'x-agent-router-filter', value: 'upstream' },
      ]);
      expect(at(filters, '[0].typed_config.allow_mode_override')).toBe(true);
      // The per-attempt filter is sent the router's decision and the picker's scores.
      expect(at(filters, '[0].typed_config.metadata_options')).toEqual({
        forwarding_namespaces: { untyped: ['agent-router', 'agent-router.picker'] },
      });
      expect(at(filters, '[1].typed_config')).toEqual({
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec',
      });
    }
  });

  it("sends pool traffic to the endpoint picker's choice through the override_host policy", () => {
    const pool = named(at(local, 'static_resources.clusters'), 'pool/default/llama-pool');
    expect(at(pool, 'type')).toBe('STATIC');
    expect(at(pool, 'load_balancing_policy.policies[0].typed_extension_config')).toEqual({
      name: 'envoy.load_balancing_policies.override_host',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost',
        override_host_sources: [{ header: 'x-gateway-destination-endpoint' }],
        selected_host_key: { key: 'envoy.lb', path: [{ key: 'x-gateway-destination-endpoint-served' }] },
        fallback_policy: {
          policies: [
            {
              typed_extension_config: {
                name: 'envoy.load_balancing_policies.round_robin',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
                },
              },
            },
          ],
        },
      },
    });
    const endpoints = at(pool, 'load_assignment.endpoints[0].lb_endpoints') as JsonObject[];
    expect(endpoints.map((e) => at(e, 'endpoint.address.socket_address'))).toEqual(
      ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24'].map((address) => ({
        address,
        port_value: 8000,
      })),
    );
  });

  it("consults the endpoint picker only on routes whose first choice is its pool, with the pool's failure mode", () => {
    const filterName = 'envoy.filters.http.ext_proc/endpoint-picker/default/llama-pool';
    expect(at(local, `${VHOST}.typed_per_filter_config["${filterName}"]`)).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
      disabled: true,
    });
    const routes = at(local, `${VHOST}.routes`) as JsonObject[];
    const enabled = routes.filter((r) => r.typed_per_filter_config !== undefined).map((r) => r.name);
    expect(enabled).toEqual(['default/default/llama-self-hosted']);
    expect(
      at(
        routes,
        `[${routes.findIndex((r) => r.name === enabled[0])}].typed_per_filter_config["${filterName}"].overrides.processing_mode.request_body_mode`,
      ),
    ).toBe('FULL_DUPLEX_STREAMED');
    const picker = named(at(local, `${HCM}.http_filters`), filterName);
    expect(at(picker, 'typed_config.failure_mode_allow')).toBe(false); // FailClose in local.yaml
    expect(at(picker, 'typed_config.processing_mode.request_trailer_mode')).toBe('SEND');
    // It may write its destination and its scores, and is sent the served endpoint back.
    expect(at(picker, 'typed_config.metadata_options')).toEqual({
      forwarding_namespaces: { untyped: ['envoy.lb'] },
      receiving_namespaces: { untyped: ['envoy.lb', 'agent-router.picker'] },
    });
    expect(at(picker, 'typed_config.grpc_service.envoy_grpc.cluster_name')).toBe(
      'endpoint-picker/default/llama-pool',
    );
    expect(
      at(
        named(at(local, 'static_resources.clusters'), 'endpoint-picker/default/llama-pool'),
        'load_assignment',
      ),
    ).toMatchObject({
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9002 } } } },
          ],
        },
      ],
    });
  });

  it('reaches ext-proc over HTTP/2, on TCP by default or on a Unix socket', () => {
    const tcp = named(at(local, 'static_resources.clusters'), EXT_PROC_CLUSTER);
    expect(at(tcp, `${PROTOCOL_OPTIONS}.explicit_http_config`)).toEqual({ http2_protocol_options: {} });
    expect(at(tcp, 'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address')).toEqual({
      socket_address: { address: '127.0.0.1', port_value: 50051 },
    });
    const viaSocket = bootstrapFor('examples/local.yaml', {
      extProc: { socketPath: '/run/agent-router/ext-proc.sock' },
    });
    const unix = named(at(viaSocket, 'static_resources.clusters'), EXT_PROC_CLUSTER);
    expect(at(unix, 'type')).toBe('STATIC');
    expect(at(unix, 'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address')).toEqual({
      pipe: { path: '/run/agent-router/ext-proc.sock' },
    });
    expect(problemsOf(viaSocket)).toEqual([]);
  });

  it('listens and serves admin where asked, and buffers bodies up to the ext-proc limit', () => {
    const custom = bootstrapFor('examples/local.yaml', {
      listenPort: 10080,
      adminPort: 19901,
      maxRequestBodyBytes: 1024,
    });
    expect(at(custom, 'static_resources.listeners[0].address.socket_address.port_value')).toBe(10080);
    expect(at(custom, 'admin.address.socket_address')).toEqual({ address: '127.0.0.1', port_value: 19901 });
    expect(at(custom, 'static_resources.listeners[0].per_connection_buffer_limit_bytes')).toBe(1024);
    expect(at(custom, `${VHOST}.per_request_buffer_limit_bytes`)).toBe(1024);
  });
});

describe('the Envoy bootstrap for examples/providers.yaml', () => {
  it("holds up against Envoy's protos and round-trips", () => {
    expect(problemsOf(providers)).toEqual([]);
    const { again, original } = roundTrip(providers);
    expect(again).toEqual(original);
  });

  it('connects to an https provider with TLS, SNI and a SAN check, and rewrites Host to it', () => {
    const anthropic = named(at(providers, 'static_resources.clusters'), 'backend/default/anthropic');
    expect(at(anthropic, 'type')).toBe('STRICT_DNS');
    expect(at(anthropic, 'load_assignment.endpoints[0].lb_endpoints[0].endpoint')).toEqual({
      address: { socket_address: { address: 'api.anthropic.com', port_value: 443 } },
      hostname: 'api.anthropic.com',
    });
    expect(at(anthropic, 'transport_socket.typed_config')).toMatchObject({
      sni: 'api.anthropic.com',
      common_tls_context: {
        validation_context: {
          trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.anthropic.com' } }],
        },
      },
    });
  });

  it('picks the TLS socket per endpoint in a cross-provider chain, one priority level per provider', () => {
    const name = 'backend/default/anthropic|backend/default/bedrock|backend/default/azure';
    const route = named(at(providers, `${VHOST}.routes`), 'default/cross-provider/chat-anthropic');
    expect(at(route, 'route.cluster')).toBe(name);
    expect(at(route, 'route.retry_policy.num_retries')).toBe(2);
    expect(at(route, 'route.retry_policy.per_try_timeout')).toBe('20s');
    const chain = named(at(providers, 'static_resources.clusters'), name);
    const levels = at(chain, 'load_assignment.endpoints') as JsonObject[];
    expect(levels.map((l) => [l.priority, at(l, 'lb_endpoints[0].endpoint.hostname')])).toEqual([
      [0, 'api.anthropic.com'],
      [1, 'bedrock-runtime.eu-central-1.amazonaws.com'],
      [2, 'my-resource.openai.azure.com'],
    ]);
    expect(
      at(levels, '[1].lb_endpoints[0].metadata.filter_metadata["envoy.transport_socket_match"]'),
    ).toEqual({
      backend: 'default/bedrock',
    });
    const matches = at(chain, 'transport_socket_matches') as JsonObject[];
    expect(matches.map((m) => [m.name, m.match, at(m, 'transport_socket.typed_config.sni')])).toEqual([
      ['default/anthropic', { backend: 'default/anthropic' }, 'api.anthropic.com'],
      ['default/bedrock', { backend: 'default/bedrock' }, 'bedrock-runtime.eu-central-1.amazonaws.com'],
      ['default/azure', { backend: 'default/azure' }, 'my-resource.openai.azure.com'],
    ]);
    expect(chain).not.toHaveProperty('transport_socket');
  });
});

describe('a chain from an InferencePool to a provider', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-envoy-config-'));
  const file = path.join(dir, 'hybrid.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { api-key: sk-test }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec: { provider: OpenAI, credentials: { secretRef: { name: keys } } }
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: vllm }
spec:
  selector: { matchLabels: { app: vllm } }
  targetPorts: [{ number: 8000 }]
  endpointPickerRef: { name: vllm-epp, port: { number: 9102 }, failureMode: FailOpen }
---
apiVersion: v1
kind: Pod
metadata: { name: vllm-0, labels: { app: vllm } }
status: { podIP: 10.0.0.10, phase: Running }
---
apiVersion: v1
kind: Pod
metadata: { name: vllm-1, labels: { app: vllm } }
status: { podIP: 10.0.0.11, phase: Running }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: hybrid }
spec:
  fallback: { attempts: 2, retryOn: [5xx, timeout], perAttemptTimeout: 1500ms }
  routes:
    - { name: self-hosted, model: chat, backendRef: { kind: InferencePool, name: vllm } }
    - { name: cloud, model: chat, backendRef: { name: openai }, modelNameOverride: gpt-4o-mini, priority: 1 }
`,
  );
  const hybrid = bootstrapFor(file, {
    endpointPickers: new Map([['default/vllm', { host: 'vllm-epp.ml.svc', port: 9102 }]]),
  });

  it('is one override_host cluster: the pods at priority 0, the provider at priority 1 over TLS', () => {
    expect(problemsOf(hybrid)).toEqual([]);
    const route = named(at(hybrid, `${VHOST}.routes`), 'default/hybrid/self-hosted');
    const name = 'pool/default/vllm|backend/default/openai';
    expect(at(route, 'route.cluster')).toBe(name);
    expect(at(route, 'route.retry_policy')).toMatchObject({
      retry_on: '5xx,reset',
      num_retries: 1,
      per_try_timeout: '1.5s',
    });
    const cluster = named(at(hybrid, 'static_resources.clusters'), name);
    expect(at(cluster, 'type')).toBe('STRICT_DNS');
    expect(at(cluster, 'load_balancing_policy.policies[0].typed_extension_config.name')).toBe(
      'envoy.load_balancing_policies.override_host',
    );
    const levels = at(cluster, 'load_assignment.endpoints') as JsonObject[];
    expect(at(levels, '[0].lb_endpoints')).toEqual([
      { endpoint: { address: { socket_address: { address: '10.0.0.10', port_value: 8000 } } } },
      { endpoint: { address: { socket_address: { address: '10.0.0.11', port_value: 8000 } } } },
    ]);
    expect(at(levels, '[1].lb_endpoints[0].endpoint.hostname')).toBe('api.openai.com');
    expect(names(at(cluster, 'transport_socket_matches'))).toEqual(['default/openai']);
  });

  it('fails open when the pool says so, and finds the picker where it was told', () => {
    const picker = named(
      at(hybrid, `${HCM}.http_filters`),
      'envoy.filters.http.ext_proc/endpoint-picker/default/vllm',
    );
    expect(at(picker, 'typed_config.failure_mode_allow')).toBe(true);
    const cluster = named(at(hybrid, 'static_resources.clusters'), 'endpoint-picker/default/vllm');
    expect(at(cluster, 'type')).toBe('STRICT_DNS');
    expect(
      at(cluster, 'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address'),
    ).toEqual({
      address: 'vllm-epp.ml.svc',
      port_value: 9102,
    });
  });

  it('leaves the picker off for the provider fallback reached directly', () => {
    const cloud = named(at(hybrid, `${VHOST}.routes`), 'default/hybrid/cloud');
    expect(at(cloud, 'route.cluster')).toBe('backend/default/openai');
    expect(cloud).not.toHaveProperty('typed_per_filter_config');
  });
});

describe('retry policy from a RouteConfig fallback', () => {
  const policy = (
    retryOn: FallbackPolicy['retryOn'] extends ReadonlySet<infer T> ? T[] : never,
    attempts = 3,
  ) => retryPolicy({ attempts, retryOn: new Set(retryOn), perAttemptTimeoutMs: 250 }, 3);

  it('maps each retryOn value to the Envoy condition that covers it', () => {
    expect(policy(['connect-failure']).retry_on).toBe('connect-failure');
    expect(policy(['5xx']).retry_on).toBe('5xx,reset');
    expect(policy(['429'])).toMatchObject({
      retry_on: 'retriable-status-codes',
      retriable_status_codes: [429],
    });
    // Envoy retries a per-try timeout under `reset`.
    expect(policy(['timeout'])).toMatchObject({ retry_on: 'reset', per_try_timeout: '0.25s' });
    expect(policy(['timeout'])).not.toHaveProperty('retriable_status_codes');
  });

  it('never retries past the chain, and moves to the next priority only when it retries at all', () => {
    expect(policy(['5xx'], 5).num_retries).toBe(2);
    const single = policy(['5xx'], 1);
    expect(single.num_retries).toBe(0);
    expect(single).not.toHaveProperty('retry_priority');
  });
});
