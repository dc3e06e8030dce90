/**
 * e2e-kind/config-dump.ts on admin output in Envoy's shapes: /config_dump as envoy.admin.v3.ConfigDump
 * proto JSON (ListenersConfigDump, ClustersConfigDump from envoy/admin/v3/config_dump_shared.proto) and
 * /stats text, with the listener Envoy Gateway builds for the chart's Gateway and the filters the chart adds.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AGENT_ROUTER_FILTERS, checkProxy, counters, dynamicListeners } from '../../e2e-kind/config-dump.ts';
import { runTool } from '../helpers/tools.ts';

const LISTENER = 'agent-router-e2e/agent-router/http';
const UPSTREAM_CLUSTER = 'agent-router-ext-proc-upstream';
const EEP_FILTER =
  'envoy.filters.http.ext_proc/envoyextensionpolicy/agent-router-e2e/agent-router-router/extproc/0';

function listener(httpFilters: unknown[]) {
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: LISTENER,
    address: { socket_address: { address: '0.0.0.0', port_value: 10080 } },
    default_filter_chain: {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type':
              'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'http-10080',
            rds: { route_config_name: LISTENER, config_source: { ads: {}, resource_api_version: 'V3' } },
            http_filters: httpFilters,
          },
        },
      ],
      name: LISTENER,
    },
  };
}

const extProc = (name: string, cluster: string) => ({
  name,
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    grpc_service: { envoy_grpc: { cluster_name: cluster } },
  },
});

function router(upstream: unknown[]) {
  return {
    name: 'envoy.filters.http.router',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      suppress_envoy_headers: true,
      ...(upstream.length > 0 && { upstream_http_filters: upstream }),
    },
  };
}

const codec = {
  name: 'envoy.filters.http.upstream_codec',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec',
  },
};
const OUR_FILTERS = [
  extProc(EEP_FILTER, 'envoyextensionpolicy/agent-router-e2e/agent-router-router/0'),
  router([extProc('agent-router.upstream', UPSTREAM_CLUSTER), codec]),
];

function configDump(
  dynamicListenersDump: unknown[],
  clusters: string[] = [UPSTREAM_CLUSTER, 'envoyextensionpolicy/agent-router-e2e/agent-router-router/0'],
) {
  return {
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: {} },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
        version_info: 'v1',
        static_clusters: [
          {
            cluster: {
              '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
              name: 'prometheus_stats',
            },
          },
        ],
        dynamic_active_clusters: clusters.map((name) => ({
          version_info: 'v1',
          cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name },
          last_updated: '2026-12-01T10:00:00Z',
        })),
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
        version_info: 'v1',
        static_listeners: [
          {
            listener: {
              '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
              name: 'envoy-gateway-proxy-ready-0.0.0.0-19003',
            },
          },
        ],
        dynamic_listeners: dynamicListenersDump,
      },
    ],
  };
}

const active = (l: unknown) => ({
  name: LISTENER,
  active_state: { version_info: 'v1', listener: l, last_updated: '2026-12-01T10:00:00Z' },
});
const STATS =
  'listener_manager.lds.update_attempt: 3\nlistener_manager.lds.update_rejected: 0\nlistener_manager.listener_create_failure: 0\nlistener_manager.total_listeners_active: 1\n';

describe("the proxy check on Envoy's admin output", () => {
  it('accepts an active listener carrying the router ext_proc filter and the upstream filter with its cluster', () => {
    const findings = checkProxy(configDump([active(listener(OUR_FILTERS))]), STATS, AGENT_ROUTER_FILTERS);
    expect(findings.problems).toEqual([]);
    expect(findings.warnings).toEqual([]);
    expect(findings.listeners).toEqual([
      {
        name: LISTENER,
        port: 10080,
        state: 'active',
        httpFilters: [EEP_FILTER, 'envoy.filters.http.router'],
        upstreamFilters: [
          { name: 'agent-router.upstream', grpcCluster: UPSTREAM_CLUSTER },
          { name: 'envoy.filters.http.upstream_codec' },
        ],
      },
    ]);
  });

  it("fails with Envoy's reason when it rejected the listener", () => {
    const rejected = {
      ...active(listener(OUR_FILTERS)),
      error_state: {
        details:
          "Error adding/updating listener(s) agent-router-e2e/agent-router/http: Didn't find a registered implementation for 'agent-router.upstream'",
        last_update_attempt: '2026-12-01T10:01:00Z',
      },
    };
    const stats = STATS.replace('update_rejected: 0', 'update_rejected: 1');
    const findings = checkProxy(configDump([rejected]), stats, AGENT_ROUTER_FILTERS);
    expect(findings.problems).toEqual([
      `Envoy rejected listener ${LISTENER}: Error adding/updating listener(s) agent-router-e2e/agent-router/http: Didn't find a registered implementation for 'agent-router.upstream'`,
    ]);
    expect(findings.warnings).toEqual([
      'listener_manager.lds.update_rejected is 1: Envoy refused an earlier xDS update',
    ]);
  });

  it('fails when Envoy has no listener from Envoy Gateway, or only a warming one', () => {
    expect(checkProxy(configDump([]), STATS, AGENT_ROUTER_FILTERS).problems).toEqual([
      'Envoy has no listener from Envoy Gateway (no dynamic listener in /config_dump): the Gateway configuration never reached this proxy',
    ]);
    const warming = {
      name: LISTENER,
      warming_state: { version_info: 'v1', listener: listener(OUR_FILTERS) },
    };
    const problems = checkProxy(configDump([warming]), STATS, AGENT_ROUTER_FILTERS).problems;
    expect(problems[0]).toBe(`listener ${LISTENER} is not active (state: warming)`);
    expect(problems[1]).toMatch(/^no active listener has the upstream ext_proc filter agent-router.upstream/);
  });

  it('fails when the EnvoyPatchPolicy did not reach the listener: no upstream filter, or no cluster for it', () => {
    const unpatched = checkProxy(
      configDump([active(listener([OUR_FILTERS[0], router([])]))]),
      STATS,
      AGENT_ROUTER_FILTERS,
    );
    expect(unpatched.problems).toEqual([
      `no active listener has the upstream ext_proc filter agent-router.upstream in its router's upstream_http_filters (the EnvoyPatchPolicy adds it); listeners: ${LISTENER} (port 10080): http filters [${EEP_FILTER}, envoy.filters.http.router], upstream filters []`,
    ]);
    const noCluster = checkProxy(
      configDump([active(listener(OUR_FILTERS))], []),
      STATS,
      AGENT_ROUTER_FILTERS,
    );
    expect(noCluster.problems).toEqual([
      `the upstream filter agent-router.upstream on listener ${LISTENER} calls cluster ${UPSTREAM_CLUSTER}, which Envoy does not have (the EnvoyPatchPolicy adds it)`,
    ]);
  });

  it('fails when the router-level ext_proc filter of the EnvoyExtensionPolicy is missing', () => {
    const findings = checkProxy(
      configDump([active(listener([OUR_FILTERS[1]]))]),
      STATS,
      AGENT_ROUTER_FILTERS,
    );
    expect(findings.problems).toEqual([
      `listener ${LISTENER} has no router-level ext_proc filter (envoy.filters.http.ext_proc/envoyextensionpolicy/…, from the EnvoyExtensionPolicy); its http filters: [envoy.filters.http.router]`,
    ]);
  });

  it('fails when Envoy could not create a listener on its workers', () => {
    const stats = STATS.replace('listener_create_failure: 0', 'listener_create_failure: 2');
    expect(
      checkProxy(configDump([active(listener(OUR_FILTERS))]), stats, AGENT_ROUTER_FILTERS).problems,
    ).toEqual([
      'Envoy failed to create 2 listener(s) on its workers (listener_manager.listener_create_failure)',
    ]);
  });

  it('reads counters from the /stats text format and ignores histograms and text stats', () => {
    const values = counters(
      'listener_manager.lds.update_rejected: 4\ncluster.x.upstream_cx_length_ms: P0(nan,1) P25(nan,2)\nlistener_manager.lds.version_text: "v7"\n',
    );
    expect([...values]).toEqual([['listener_manager.lds.update_rejected', 4]]);
    expect(dynamicListeners({})).toEqual([]);
  });

  it('names the upstream filter and its cluster as the chart renders them for the kind suite', () => {
    const rendered = runTool('helm', [
      'template',
      'agent-router',
      'charts/agent-router',
      '--namespace',
      'agent-router-e2e',
      '--values',
      'e2e-kind/manifests/values-e2e.yaml',
    ]);
    expect(rendered.stderr).toBe('');
    const patch = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS())
      .find((m) => m?.kind === 'EnvoyPatchPolicy');
    expect(patch, 'the chart renders an EnvoyPatchPolicy').toBeTruthy();
    const values = patch.spec.jsonPatches.map((p: { operation: { value?: unknown } }) => p.operation.value);
    const upstream = values
      .filter(Array.isArray)
      .flat()
      .find((f: { name?: string }) => f.name === AGENT_ROUTER_FILTERS.upstreamFilter);
    expect(upstream, `a patch adds ${AGENT_ROUTER_FILTERS.upstreamFilter}`).toBeTruthy();
    const cluster = upstream.typed_config.grpc_service.envoy_grpc.cluster_name;
    expect(
      values.some((v: { name?: string }) => v?.name === cluster),
      `a patch adds cluster ${cluster}`,
    ).toBe(true);
  });
});
