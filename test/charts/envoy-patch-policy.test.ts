// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests and xDS resources are open-ended JSON.
/**
 * The chart's EnvoyPatchPolicy applied, with Envoy Gateway's JSONPatch semantics (eg-json-patch.ts), to
 * the xDS Envoy Gateway generates for the rendered Gateway and HTTPRoutes (eg-xds.ts), in both xDS name
 * schemes and in the listener shapes that move the connection manager (a connection-limit filter in
 * front, an HTTPS filter chain); every patched or added resource is then checked against Envoy's protos,
 * protoc-gen-validate rules inside typed_config included — what Envoy would reject although Envoy
 * Gateway reports the policy Programmed.
 */
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../envoy-config/proto-check.ts';
import { loadBootstrapRoot, typeNamesIn } from '../../envoy-config/protos.ts';
import {
  applyEnvoyPatchPolicy,
  type JsonPatch,
  PatchError,
  TYPE_URLS,
  type XdsResources,
} from './eg-json-patch.ts';
import { connectionManagers, egXds, type XdsNameScheme } from './eg-xds.ts';
import { RELEASE, render, valuesFiles } from './render.ts';

interface Case {
  label: string;
  file?: string;
  set?: string[];
  scheme: XdsNameScheme;
  connectionLimit?: boolean;
}

const HTTPS = [
  '--set',
  'gateway.listener.protocol=HTTPS',
  '--set',
  'gateway.listener.certificateRefs[0]=llm-tls',
];
const CASES: Case[] = [
  { label: 'default values', scheme: 'v1' },
  ...valuesFiles().map((file) => ({ label: file, file, scheme: 'v1' as const })),
  {
    label: 'two pools, connection limit',
    file: 'two-pools-monitoring.yaml',
    scheme: 'v1',
    connectionLimit: true,
  },
  { label: 'two pools, HTTPS', file: 'two-pools-monitoring.yaml', set: HTTPS, scheme: 'v1' },
  {
    label: 'two pools, Envoy Gateway v1.10',
    file: 'two-pools-monitoring.yaml',
    set: ['--set', 'gateway.envoyGatewayVersion=v1.10.0'],
    scheme: 'v2',
  },
  {
    label: 'two pools, XDSNameSchemeV2 on v1.9, connection limit',
    file: 'two-pools-monitoring.yaml',
    set: ['--set', 'gateway.xdsNameScheme=v2'],
    scheme: 'v2',
    connectionLimit: true,
  },
  {
    label: 'namespaced, scheme v2, HTTPS',
    file: 'namespaced-unix.yaml',
    set: ['--set', 'gateway.xdsNameScheme=v2', ...HTTPS],
    scheme: 'v2',
  },
];

const TYPE_NAMES = {
  [TYPE_URLS.listener]: 'envoy.config.listener.v3.Listener',
  [TYPE_URLS.routeConfiguration]: 'envoy.config.route.v3.RouteConfiguration',
  [TYPE_URLS.cluster]: 'envoy.config.cluster.v3.Cluster',
} as const;

function rootFor(...values: unknown[]): protobuf.Root {
  const names = new Set<string>(Object.values(TYPE_NAMES));
  for (const v of values) typeNamesIn(v, names);
  return loadBootstrapRoot(names);
}

function problemsIn(root: protobuf.Root, xds: XdsResources): string[] {
  const out: string[] = [];
  const each = (type: keyof typeof TYPE_NAMES, list: any[]) => {
    for (const r of list)
      for (const p of checkMessage(root, TYPE_NAMES[type], r)) out.push(`${r.name}: ${p.path}: ${p.message}`);
  };
  each(TYPE_URLS.listener, xds.listeners);
  each(TYPE_URLS.routeConfiguration, xds.routeConfigurations);
  each(TYPE_URLS.cluster, xds.clusters);
  return out;
}

describe.each(CASES.map((c) => [c.label, c]))('EnvoyPatchPolicy on Envoy Gateway xDS, %s', (_label, c) => {
  const rendered = render(c.file, c.set ?? []);
  const policy = rendered.one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`);
  const patches: JsonPatch[] = policy.spec.jsonPatches;
  const pools: string[] = rendered
    .of('InferencePool')
    .map((p: any) => p.metadata.name.replace(/^ar-agent-router-/, ''));
  const variants = [false, ...(c.connectionLimit ? [true] : [])];

  it.each(variants.map((v) => [v ? 'with a connection limit' : 'as generated', v]))(
    'applies every operation, and every patched or added resource is one Envoy accepts (%s)',
    (_shape, connectionLimit) => {
      const base = egXds(rendered.objects, c.scheme, connectionLimit);
      const { xds } = applyEnvoyPatchPolicy(base, patches);
      const root = rootFor(base, xds, patches);
      expect(problemsIn(root, base)).toEqual([]);
      expect(problemsIn(root, xds)).toEqual([]);

      for (const hcm of connectionManagers(xds.listeners[0])) {
        const filters: any[] = hcm.http_filters;
        expect(filters.at(-1).name).toBe('envoy.filters.http.router');
        // The router-level filter stays first: it strips client-sent routing headers before any
        // picker filter reads them.
        expect(filters[0].name).toMatch(/^envoy\.filters\.http\.ext_proc\/envoyextensionpolicy\//);
        const upstream: any[] = filters.at(-1).typed_config.upstream_http_filters;
        expect(upstream.map((f) => f.name)).toEqual([
          'agent-router.upstream',
          'envoy.filters.http.upstream_codec',
        ]);
        // Attempt 2 reads the route from the router filter's metadata: attempt 1 removed the headers
        // from the header map all attempts share.
        expect(upstream[0].typed_config.metadata_options.forwarding_namespaces.untyped).toContain(
          'agent-router',
        );
        const pickers = filters.filter((f) => f.name.startsWith('agent-router.epp.')).map((f) => f.name);
        expect(pickers).toEqual(pools.map((p) => `agent-router.epp.${p.replace(/-epp$/, '')}`));
      }
      for (const vh of xds.routeConfigurations[0].virtual_hosts)
        expect(vh.include_request_attempt_count).toBe(true);
      const added = xds.clusters.slice(base.clusters.length).map((cl) => cl.name);
      expect(new Set(added).size).toBe(added.length);
      expect(added).toContain('agent-router-ext-proc-upstream');
    },
  );

  it('addresses the listener and route configuration by the names of its xDS name scheme', () => {
    const other = c.scheme === 'v1' ? 'v2' : 'v1';
    const names = new Set(
      patches.filter((p) => p.type !== TYPE_URLS.cluster).map((p) => `${p.type.split('.').pop()} ${p.name}`),
    );
    const xds = egXds(rendered.objects, c.scheme);
    expect([...names].sort()).toEqual(
      [`Listener ${xds.listenerName}`, `RouteConfiguration ${xds.routeConfigName}`].sort(),
    );
    const wrong = egXds(rendered.objects, other);
    if (wrong.listenerName === xds.listenerName) return; // names agree (none do today)
    expect(() => applyEnvoyPatchPolicy(wrong, patches)).toThrow(PatchError);
  });

  it('retries every route entry at the next priority through the BackendTrafficPolicy, without a retry patch', () => {
    expect(patches.some((p) => JSON.stringify(p.operation).includes('retry_priority'))).toBe(false);
    const xds = egXds(rendered.objects, c.scheme);
    const retried = xds.routeConfigurations[0].virtual_hosts
      .flatMap((v: any) => v.routes)
      .filter((r: any) => r.route?.retry_policy);
    expect(retried.length).toBe(rendered.of('BackendTrafficPolicy').length);
    for (const r of retried)
      expect(r.route.retry_policy.retry_priority).toMatchObject({
        name: 'envoy.retry_priorities.previous_priorities',
        typed_config: { update_frequency: 1 },
      });
  });
});

describe('the proto check behind these tests', () => {
  const rendered = render('two-pools-monitoring.yaml');
  const patches: JsonPatch[] = rendered.one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`).spec
    .jsonPatches;

  it('rejects a picker matcher whose safe_regex names no engine (the required engine_type oneof)', () => {
    const broken = structuredClone(patches);
    let removed = 0;
    const strip = (v: any) => {
      if (v && typeof v === 'object') {
        if (v.safe_regex?.google_re2) {
          delete v.safe_regex.google_re2;
          removed++;
        }
        for (const x of Object.values(v)) strip(x);
      }
    };
    for (const p of broken) strip(p.operation.value);
    expect(removed).toBe(2);
    const { xds } = applyEnvoyPatchPolicy(egXds(rendered.objects, 'v1'), broken);
    const problems = problemsIn(rootFor(xds), xds);
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p).toMatch(/safe_regex.*engine_type.*required/);
  });

  it('refuses a jsonPath that matches nothing, as Envoy Gateway does', () => {
    const xds = egXds(rendered.objects, 'v1');
    const positional = patches.map((p) =>
      p.operation.jsonPath?.startsWith('$..filters')
        ? {
            ...p,
            operation: {
              ...p.operation,
              jsonPath: p.operation.jsonPath.replace(
                "$..filters[?(@.name == 'envoy.filters.network.http_connection_manager')]",
                '$.default_filter_chain.filters[1]',
              ),
            },
          }
        : p,
    );
    expect(() => applyEnvoyPatchPolicy(xds, positional)).toThrow(/no JSON pointer matches/);
  });
});
