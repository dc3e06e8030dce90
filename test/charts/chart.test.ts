// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are open-ended JSON that the assertions narrow.
/**
 * charts/agent-router through the real helm (lint and template) over the defaults and every values file
 * in test/charts/values, with assertions on the rendered objects: probes, resources and locked-down
 * security contexts everywhere agent-router runs; least-privilege RBAC; one endpoint picker per pool;
 * the sidecar and the two ext_proc filters wired to the same socket.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METADATA_OPTIONS } from '../../dev-gateway/server.ts';
import { runTool } from '../helpers/tools.ts';
import {
  CHART,
  helmTemplate,
  type K8sObject,
  NAMESPACE,
  RELEASE,
  render,
  VALUES_DIR,
  valuesFiles,
} from './render.ts';

const CASES: (string | undefined)[] = [undefined, ...valuesFiles()];
const label = (file: string | undefined) => file ?? 'default values';
const valuesOf = (file: string | undefined) =>
  (file ? parse(readFileSync(`${VALUES_DIR}/${file}`, 'utf8')) : {}) as Record<string, any>;

/** Every container agent-router runs: the pickers' and the sidecar inside EnvoyProxy. */
function agentRouterContainers(objects: K8sObject[]): { where: string; container: any; pod: any }[] {
  const out: { where: string; container: any; pod: any }[] = [];
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    for (const c of d.spec.template.spec.containers)
      out.push({ where: `Deployment ${d.metadata.name}/${c.name}`, container: c, pod: d.spec.template.spec });
  }
  for (const p of objects.filter((o) => o.kind === 'EnvoyProxy')) {
    const deployment = p.spec.provider.kubernetes.envoyDeployment;
    for (const c of deployment.initContainers ?? [])
      out.push({ where: `EnvoyProxy ${p.metadata.name}/${c.name}`, container: c, pod: {} });
  }
  return out;
}

describe('helm lint', () => {
  it.each(CASES.map((f) => [label(f), f]))('passes with %s', (_name, file) => {
    const args = ['lint', CHART, '--strict', '--namespace', NAMESPACE];
    if (file) args.push('--values', `${VALUES_DIR}/${file}`);
    const result = runTool('helm', args);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});

describe.each(CASES.map((f) => [label(f), f]))('rendered with %s', (_name, file) => {
  const rendered = render(file);
  const values = valuesOf(file);

  it('probes every agent-router container on a port that cannot open ext_proc Process streams', () => {
    const containers = agentRouterContainers(rendered.objects);
    expect(containers.length).toBeGreaterThan(0);
    for (const { where, container } of containers) {
      const processPorts = new Set(
        (container.args ?? [])
          .filter((a: string) => a.startsWith('--grpc-port='))
          .map((a: string) => Number(a.slice('--grpc-port='.length))),
      );
      const named = new Map((container.ports ?? []).map((p: any) => [p.name, p.containerPort]));
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const p = container[probe];
        const port = p?.grpc?.port ?? named.get(p?.httpGet?.port) ?? p?.httpGet?.port;
        expect(port, `${where} ${probe}`).toBeTypeOf('number');
        expect(processPorts.has(port), `${where} ${probe} probes the ext_proc port`).toBe(false);
        if (p.grpc) expect(p.grpc, `${where} ${probe}`).toHaveProperty('service');
      }
      if (container.readinessProbe.grpc) expect(container.readinessProbe.grpc.service, where).not.toBe('');
      else {
        expect(container.readinessProbe.httpGet.path, where).toBe('/readyz');
        expect(container.livenessProbe.httpGet.path, where).toBe('/healthz');
      }
    }
  });

  it('keeps every label Envoy Gateway selects its proxy pods by, so the proxy Deployment is valid', () => {
    // Envoy Gateway copies envoyDeployment.pod.labels over its own pod labels while its Deployment
    // selector keeps these (internal/infrastructure/kubernetes/proxy/resource_provider.go, getPodLabels
    // and stableSelector); a pod label that overrides one leaves the selector matching nothing.
    const gateway = rendered.of('Gateway')[0];
    const selector: Record<string, string> = {
      'app.kubernetes.io/name': 'envoy',
      'app.kubernetes.io/component': 'proxy',
      'app.kubernetes.io/managed-by': 'envoy-gateway',
      'gateway.envoyproxy.io/owning-gateway-name': gateway.metadata.name,
      'gateway.envoyproxy.io/owning-gateway-namespace': gateway.metadata.namespace,
    };
    for (const proxy of rendered.of('EnvoyProxy')) {
      const labels = proxy.spec.provider.kubernetes.envoyDeployment.pod?.labels ?? {};
      const pod = { ...selector, ...labels };
      for (const [k, v] of Object.entries(selector)) expect(pod[k], `pod label ${k}`).toBe(v);
    }
    // What the chart selects proxy pods by must be labels those pods carry.
    const podLabels = {
      ...selector,
      ...rendered.one('EnvoyProxy', `${RELEASE}-agent-router`).spec.provider.kubernetes.envoyDeployment.pod
        .labels,
    };
    const metrics = rendered.one('Service', `${RELEASE}-agent-router-ext-proc-metrics`);
    for (const [k, v] of Object.entries(metrics.spec.selector)) expect(podLabels[k], k).toBe(v);
  });

  it('sets requests and a memory limit on every agent-router container', () => {
    for (const { where, container } of agentRouterContainers(rendered.objects)) {
      expect(container.resources?.requests?.cpu, where).toBeTruthy();
      expect(container.resources?.requests?.memory, where).toBeTruthy();
      expect(container.resources?.limits?.memory, where).toBeTruthy();
    }
  });

  it('runs every agent-router container non-root, read-only, without capabilities, under RuntimeDefault seccomp', () => {
    for (const { where, container, pod } of agentRouterContainers(rendered.objects)) {
      const sc = container.securityContext;
      expect(sc, where).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(sc.privileged ?? false, where).toBe(false);
      expect(sc.capabilities.add ?? [], where).toEqual([]);
      expect(sc.runAsUser ?? pod.securityContext?.runAsUser, where).toBeGreaterThan(0);
    }
  });

  it('gives agent-router Deployments an automount-free ServiceAccount and a projected token only for their own container', () => {
    for (const d of rendered.of('Deployment')) {
      const spec = d.spec.template.spec;
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.volumes.find((v: any) => v.name === 'kube-api-access')?.projected).toBeTruthy();
    }
  });

  it("uses no wildcard and grants no write except /status, the leader Leases and the console's own writes", () => {
    // The console's writes: server-side apply (patch) of RouteConfigs and APIKeys, the Secrets of the keys
    // it creates, and Events for rollout steps. Everything else may write only /status and its Lease.
    const CONSOLE_WRITES: Record<string, string[]> = {
      routeconfigs: ['patch'],
      apikeys: ['create', 'patch'],
      secrets: ['create', 'patch'],
      events: ['create'],
    };
    for (const role of [...rendered.of('Role'), ...rendered.of('ClusterRole')]) {
      const consoleRole = role.metadata.labels?.['app.kubernetes.io/component'] === 'console';
      for (const rule of role.rules) {
        const where = `${role.kind} ${role.metadata.name}`;
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames'])
          expect(rule[field] ?? [], `${where} ${field}`).not.toContain('*');
        expect(rule.nonResourceURLs, where).toBeUndefined();
        const writes = rule.verbs.filter((v: string) => !['get', 'list', 'watch'].includes(v));
        if (writes.length === 0) continue;
        for (const resource of rule.resources) {
          const allowed =
            resource.endsWith('/status') ||
            resource === 'leases' ||
            (consoleRole && writes.every((v: string) => CONSOLE_WRITES[resource]?.includes(v)));
          expect(allowed, `${where} may ${writes} ${resource}`).toBe(true);
        }
        expect(
          writes.filter((v: string) => v === 'delete' || v === 'deletecollection'),
          where,
        ).toEqual([]);
        if (rule.resources.includes('leases') && !writes.every((v: string) => v === 'create'))
          expect(rule.resourceNames, `${where} names its Lease`).toHaveLength(1);
      }
    }
  });

  it('reads Secrets only through namespaced Roles in the configured namespaces', () => {
    for (const cr of rendered.of('ClusterRole'))
      for (const rule of cr.rules) expect(rule.resources).not.toContain('secrets');
    const secretNamespaces = rendered
      .of('Role')
      .filter((r) => r.rules.some((rule: any) => rule.resources.includes('secrets')))
      .map((r) => r.metadata.namespace)
      .sort();
    const config = values.config ?? {};
    const expected = config.secretNamespaces?.length
      ? config.secretNamespaces
      : config.watchNamespaces?.length
        ? config.watchNamespaces
        : [NAMESPACE];
    // The console also reads its admin token's Secret in the release namespace.
    const consoleReads = values.console?.enabled && config.source !== 'file' ? [NAMESPACE] : [];
    expect([...new Set(secretNamespaces)].sort()).toEqual(
      [...new Set([...expected, ...consoleReads])].sort(),
    );
  });

  it('scopes the configuration watch to a ClusterRole only when no namespaces are configured', () => {
    const watch = values.config?.watchNamespaces ?? [];
    const clusterRoles = rendered.of('ClusterRole');
    // One configuration watcher per service: ext-proc, and the console when enabled.
    const watchers = values.console?.enabled ? 2 : 1;
    if (watch.length === 0) {
      expect(clusterRoles).toHaveLength(watchers);
      for (const clusterRole of clusterRoles)
        expect(clusterRole.rules.flatMap((r: any) => r.resources)).toEqual(
          expect.arrayContaining(['routeconfigs', 'providerbackends', 'apikeys', 'inferencepools']),
        );
    } else {
      expect(clusterRoles).toHaveLength(0);
      const configRoles = rendered
        .of('Role')
        .filter((r) => r.rules.some((rule: any) => rule.resources.includes('routeconfigs')));
      expect(configRoles.map((r) => r.metadata.namespace).sort()).toEqual(
        [...watch.flatMap((ns: string) => Array(watchers).fill(ns))].sort(),
      );
    }
  });

  it('binds every Role and ClusterRole to a ServiceAccount the chart renders', () => {
    const accounts = new Set(
      rendered.of('ServiceAccount').map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
    );
    const roles = new Set(
      [...rendered.of('Role'), ...rendered.of('ClusterRole')].map(
        (r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`,
      ),
    );
    for (const b of [...rendered.of('RoleBinding'), ...rendered.of('ClusterRoleBinding')]) {
      const roleNs = b.roleRef.kind === 'Role' ? b.metadata.namespace : '';
      expect(roles.has(`${b.roleRef.kind}/${roleNs}/${b.roleRef.name}`), b.metadata.name).toBe(true);
      for (const s of b.subjects)
        expect(accounts.has(`${s.namespace}/${s.name}`), b.metadata.name).toBe(true);
    }
  });

  it('renders one endpoint-picker Deployment, Service and PodDisruptionBudget per pool, referenced by the pool', () => {
    const pools: any[] = values.pools ?? [];
    expect(rendered.of('InferencePool').map((p) => p.metadata.name)).toEqual(pools.map((p) => p.name));
    const pickers = rendered
      .of('Deployment')
      .filter((d) => d.metadata.labels['app.kubernetes.io/component'] === 'endpoint-picker');
    expect(pickers).toHaveLength(pools.length);
    expect(rendered.of('PodDisruptionBudget')).toHaveLength(pools.length);
    for (const pool of rendered.of('InferencePool')) {
      const ref = pool.spec.endpointPickerRef;
      const service = rendered.one('Service', ref.name);
      expect(service.spec.ports.find((p: any) => p.name === 'grpc').port).toBe(ref.port.number);
      const deployment = rendered.one('Deployment', ref.name);
      const labels = deployment.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(service.spec.selector)) expect(labels[k]).toBe(v);
      const args: string[] = deployment.spec.template.spec.containers[0].args;
      expect(args[0]).toBe('endpoint-picker');
      expect(args).toContain(`--pool=${NAMESPACE}/${pool.metadata.name}`);
      const pdb = rendered.one('PodDisruptionBudget', ref.name);
      for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    }
  });

  it('runs ext-proc as a native sidecar of the Envoy proxy pods, reached on the socket both filters use', () => {
    const proxy = rendered.one('EnvoyProxy', `${RELEASE}-agent-router`);
    const deployment = proxy.spec.provider.kubernetes.envoyDeployment;
    const sidecar = deployment.initContainers.find((c: any) => c.name === 'agent-router-ext-proc');
    expect(sidecar.restartPolicy).toBe('Always');
    expect(sidecar.args[0]).toBe('ext-proc');
    const backend = rendered.one('Backend', `${RELEASE}-agent-router-ext-proc`);
    const patch = rendered.one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`);
    const cluster = patch.spec.jsonPatches.find((p: any) => p.name === 'agent-router-ext-proc-upstream');
    const address = cluster?.operation.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address;
    const socket = backend.spec.endpoints[0].unix.path;
    expect(backend.spec.endpoints).toHaveLength(1);
    // The socket is the only ext_proc listener: no TCP port another pod could open Process streams on.
    expect(sidecar.args).toContain(`--socket=${socket}`);
    expect(sidecar.args.filter((a: string) => /^--grpc-(port|host)/.test(a))).toEqual([]);
    expect(sidecar.ports.map((p: any) => p.name)).toEqual(['admin']);
    expect(address.pipe.path).toBe(socket);
    const dir = socket.slice(0, socket.lastIndexOf('/'));
    expect(deployment.container.volumeMounts).toContainEqual({ name: 'agent-router-socket', mountPath: dir });
    expect(sidecar.volumeMounts).toContainEqual({ name: 'agent-router-socket', mountPath: dir });
    expect(deployment.patch.value.spec.template.spec).toMatchObject({
      serviceAccountName: `${RELEASE}-agent-router-ext-proc`,
      automountServiceAccountToken: false,
    });
    // Envoy Gateway runs the proxies in its controller namespace, or in GatewayNamespace mode in the
    // Gateway's own: the pod's ServiceAccount must be there.
    const proxyNamespace =
      values.gateway?.deployMode === 'GatewayNamespace'
        ? NAMESPACE
        : (values.gateway?.controllerNamespace ?? 'envoy-gateway-system');
    expect(rendered.one('ServiceAccount', `${RELEASE}-agent-router-ext-proc`).metadata.namespace).toBe(
      proxyNamespace,
    );
  });

  it('inserts the router-level filter on the Gateway with mode overrides, and the upstream-level filter per attempt', () => {
    const policy = rendered.one('EnvoyExtensionPolicy', `${RELEASE}-agent-router-router`);
    expect(policy.spec.targetRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: `${RELEASE}-agent-router` },
    ]);
    expect(policy.spec.extProc[0]).toMatchObject({
      processingMode: { request: {}, response: {}, allowModeOverride: true },
      failOpen: false,
      metadata: { writableNamespaces: ['agent-router'] },
    });
    const patch = rendered.one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`);
    const upstream = patch.spec.jsonPatches.find((p: any) => p.operation.path === 'upstream_http_filters');
    const [filter, codec] = upstream.operation.value;
    expect(filter.typed_config.grpc_service.initial_metadata).toEqual([
      { key: 'x-agent-router-filter', value: 'upstream' },
    ]);
    expect(filter.typed_config.allow_mode_override).toBe(true);
    expect(codec.name).toBe('envoy.filters.http.upstream_codec');
    const listener = values.gateway?.listener?.name ?? 'http';
    expect(upstream.name).toBe(`${NAMESPACE}/${RELEASE}-agent-router/${listener}`);
    // The same namespaces as the dev gateway's per-attempt filter (the bootstrap generator's too).
    expect(filter.typed_config.metadata_options.forwarding_namespaces.untyped).toEqual(
      METADATA_OPTIONS.upstream.forwardingNamespaces,
    );
    expect(
      patch.spec.jsonPatches.some((p: any) => p.operation.path === 'include_request_attempt_count'),
    ).toBe(true);
  });

  it('routes each entry on the target header, and puts the picker filter in front only of pool entries', () => {
    const routes: any[] = values.routes ?? [];
    const byTarget = new Map(
      rendered
        .of('HTTPRoute')
        .filter((r) => r.metadata.annotations?.['agentrouter.dev/target'])
        .map((r) => [r.metadata.annotations['agentrouter.dev/target'], r]),
    );
    expect([...byTarget.keys()].sort()).toEqual(routes.map((r) => r.target).sort());
    const poolNames = new Set((values.pools ?? []).map((p: any) => p.name));
    const patch = rendered.one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`);
    for (const r of routes) {
      const route = byTarget.get(r.target);
      expect(route.spec.rules[0].matches[0].headers).toEqual([
        { type: 'Exact', name: 'x-agent-router-route', value: r.target },
      ]);
      expect(route.spec.rules[0].backendRefs).toHaveLength(r.backends.length);
      const policy = rendered.one('BackendTrafficPolicy', route.metadata.name);
      expect(policy.spec.retry.numRetries).toBe((values.retry?.attempts ?? 2) - 1);
      const pool = poolNames.has(r.backends[0]) ? r.backends[0] : undefined;
      expect(policy.spec.loadBalancer?.endpointOverride?.extractFrom ?? []).toEqual(
        pool ? [{ header: 'x-gateway-destination-endpoint' }] : [],
      );
      if (!pool) continue;
      const picker = patch.spec.jsonPatches.find(
        (p: any) => p.operation.value?.name === `agent-router.epp.${pool}`,
      );
      const ext = picker.operation.value.typed_config;
      expect(ext.extension_config.typed_config.processing_mode.request_body_mode).toBe(
        'FULL_DUPLEX_STREAMED',
      );
      // Envoy keeps only the picker metadata it is told to receive: its destination and its scores.
      expect(ext.extension_config.typed_config.metadata_options.receiving_namespaces.untyped).toEqual(
        METADATA_OPTIONS.picker.receivingNamespaces,
      );
      const regex = new RegExp(
        ext.xds_matcher.matcher_list.matchers[0].predicate.not_matcher.single_predicate.value_match.safe_regex
          .regex,
      );
      expect(regex.test(r.target)).toBe(true);
      for (const other of routes.filter((o) => o.backends[0] !== pool))
        expect(regex.test(other.target)).toBe(false);
    }
  });

  it('renders ServiceMonitors exactly when asked to', () => {
    const monitors = rendered.of('ServiceMonitor');
    if (!values.serviceMonitor?.enabled) {
      expect(monitors).toEqual([]);
      return;
    }
    expect(monitors.map((m) => m.apiVersion)).toEqual(monitors.map(() => 'monitoring.coreos.com/v1'));
    for (const m of monitors) {
      expect(m.metadata.labels).toMatchObject(values.serviceMonitor.labels ?? {});
      const service = rendered
        .of('Service')
        .find((s) =>
          Object.entries(m.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
        );
      expect(service, m.metadata.name).toBeTruthy();
      expect(service.spec.ports.map((p: any) => p.name)).toContain(m.spec.endpoints[0].port);
    }
  });

  it('renders the CRDs shipped in the chart with --include-crds', () => {
    const withCrds = render(file, ['--include-crds']);
    const crds = withCrds.of('CustomResourceDefinition');
    expect(withCrds.objects.length - crds.length).toBe(rendered.objects.length);
    const shipped = readdirSync(`${CHART}/crds`).filter((f) => f.endsWith('.yaml'));
    expect(crds).toHaveLength(shipped.length);
  });
});

describe('values.schema.json', () => {
  it('rejects a values file with a wrong type, an unknown key and a bad enum, naming each', () => {
    const result = helmTemplate(undefined, [
      '--set',
      'gateway.deployMode=Sideways',
      '--set',
      'gateway.replicas=two',
      '--set',
      'extProc.adminPort=70000',
      '--set',
      'surprise=1',
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain('/gateway/deployMode');
    expect(result.stderr).toContain('/gateway/replicas');
    expect(result.stderr).toContain('/extProc/adminPort');
    expect(result.stderr).toContain('surprise');
  });

  it('rejects a file source with no manifests, and a security context that would run as root', () => {
    const result = helmTemplate(undefined, [
      '--set',
      'config.source=file',
      '--set',
      'securityContext.runAsNonRoot=false',
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('/config');
    expect(result.stderr).toContain('/securityContext/runAsNonRoot');
  });

  it('fails the render with a clear message when a route names an unknown backend', () => {
    const result = helmTemplate(undefined, [
      '--set',
      'routes[0].target=default/default/chat',
      '--set',
      'routes[0].backends[0]=nowhere',
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('backend "nowhere" is neither in providers nor in pools');
  });

  it.each([
    ['with a provider fallback', ['llama-pool', 'openai']],
    ['with a provider first', ['openai', 'llama-pool']],
    ['with a second pool', ['llama-pool', 'qwen-pool']],
  ])(
    'refuses a pool entry %s, which Envoy Gateway would split 50/50 instead of failing over',
    (_c, chain) => {
      const result = helmTemplate('two-pools-monitoring.yaml', [
        '--set',
        'routes[0].target=prod/main/llama',
        '--set',
        `routes[0].backends={${chain.join(',')}}`,
      ]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(
        /routes\[prod\/main\/llama\]: InferencePool (llama|qwen)-pool must be the entry's only backend/,
      );
      expect(result.stderr).toContain('split traffic instead of falling back');
    },
  );

  it('builds a provider chain as one primary and one fallback Backend, the fallback at priority 1', () => {
    const rendered = render('two-pools-monitoring.yaml');
    const route = rendered
      .of('HTTPRoute')
      .find((r) => r.metadata.annotations?.['agentrouter.dev/target'] === 'prod/main/claude');
    const refs = route.spec.rules[0].backendRefs.map((b: any) => rendered.one('Backend', b.name));
    expect(refs.map((b: any) => [b.spec.endpoints[0].fqdn.hostname, b.spec.fallback ?? false])).toEqual([
      ['api.anthropic.com', false],
      ['api.openai.com', true],
    ]);
  });

  it.each([
    ['v1.9 (default)', [], 'ai/ar-agent-router/http', 'ai/ar-agent-router/http'],
    ['v1.10', ['--set', 'gateway.envoyGatewayVersion=v1.10.0'], 'tcp-80', 'http-80'],
    ['v1.9 with XDSNameSchemeV2', ['--set', 'gateway.xdsNameScheme=v2'], 'tcp-80', 'http-80'],
    [
      'v1.10 with the v1 scheme kept',
      ['--set', 'gateway.envoyGatewayVersion=v1.10', '--set', 'gateway.xdsNameScheme=v1'],
      'ai/ar-agent-router/http',
      'ai/ar-agent-router/http',
    ],
    [
      'v1.10, HTTPS',
      [
        '--set',
        'gateway.envoyGatewayVersion=v1.10',
        '--set',
        'gateway.listener.protocol=HTTPS',
        '--set',
        'gateway.listener.certificateRefs[0]=tls',
      ],
      'tcp-80',
      'ai/ar-agent-router/http',
    ],
  ])('patches the xDS names Envoy Gateway %s generates', (_c, set, listener, routeConfig) => {
    const patch = render('minimal.yaml', set).one('EnvoyPatchPolicy', `${RELEASE}-agent-router-xds`);
    const names = (type: string) => [
      ...new Set(patch.spec.jsonPatches.filter((p: any) => p.type.endsWith(type)).map((p: any) => p.name)),
    ];
    expect(names('.Listener')).toEqual([listener]);
    expect(names('.RouteConfiguration')).toEqual([routeConfig]);
  });

  it('refuses an Envoy Gateway release older than v1.6, and an HTTPS listener without a certificate', () => {
    const old = helmTemplate('minimal.yaml', ['--set', 'gateway.envoyGatewayVersion=v1.5']);
    expect(old.status).not.toBe(0);
    expect(old.stderr).toContain('needs Envoy Gateway v1.6 or later');
    const https = helmTemplate('minimal.yaml', ['--set', 'gateway.listener.protocol=HTTPS']);
    expect(https.status).not.toBe(0);
    expect(https.stderr).toContain('an HTTPS listener needs at least one TLS Secret');
  });

  it('points every sidecar at one PostgreSQL request store and one session hash key, from Secrets only', () => {
    const secrets = [
      '--set',
      'extProc.requestStore.type=postgres',
      '--set',
      'extProc.requestStore.postgresSecret.name=agent-router-db',
      '--set',
      'extProc.requestStore.retentionDays=7',
      '--set',
      'extProc.sessionHashKeySecret.name=agent-router-session',
    ];
    const proxy = render('minimal.yaml', secrets).one('EnvoyProxy', `${RELEASE}-agent-router`);
    const sidecar = proxy.spec.provider.kubernetes.envoyDeployment.initContainers.find(
      (c: any) => c.name === 'agent-router-ext-proc',
    );
    expect(sidecar.args).toEqual(expect.arrayContaining(['--store=postgres', '--retention-days=7']));
    const env = Object.fromEntries(sidecar.env.map((e: any) => [e.name, e]));
    expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: 'agent-router-db', key: 'url' });
    expect(env.AGENT_ROUTER_SESSION_HASH_KEY.valueFrom.secretKeyRef).toEqual({
      name: 'agent-router-session',
      key: 'session-hash-key',
    });
    // No connection string or key in the rendered output itself: only references.
    expect(sidecar.args.join(' ')).not.toMatch(/postgres:\/\//);
    const noSecret = helmTemplate('minimal.yaml', ['--set', 'extProc.requestStore.type=postgres']);
    expect(noSecret.status).not.toBe(0);
    expect(noSecret.stderr).toContain('needs extProc.requestStore.postgresSecret.name');
    const noKey = helmTemplate('minimal.yaml', secrets.slice(0, 4));
    expect(noKey.stderr).toContain('needs extProc.sessionHashKeySecret.name');
    const none = render('minimal.yaml').one('EnvoyProxy', `${RELEASE}-agent-router`);
    const plain = none.spec.provider.kubernetes.envoyDeployment.initContainers[0];
    expect(plain.args.some((a: string) => a.startsWith('--store'))).toBe(false);
  });

  it('types and describes every value, and knows every key values.yaml sets', () => {
    const schema = JSON.parse(readFileSync(`${CHART}/values.schema.json`, 'utf8'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const missing: string[] = [];
    const walk = (node: any, where: string) => {
      if (!node.type) missing.push(`${where}: type`);
      if (!node.description) missing.push(`${where}: description`);
      for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, `${where}.${k}`);
      if (node.items) walk(node.items, `${where}[]`);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${where}.*`);
    };
    walk(schema, 'values');
    expect(missing).toEqual([]);
    const unknown: string[] = [];
    const cover = (value: any, node: any, where: string) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      for (const [k, v] of Object.entries(value)) {
        const child =
          node.properties?.[k] ??
          (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
        if (!child) unknown.push(`${where}.${k}`);
        else cover(v, child, `${where}.${k}`);
      }
    };
    cover(parse(readFileSync(`${CHART}/values.yaml`, 'utf8')), schema, 'values');
    expect(unknown).toEqual([]);
  });
});

describe('status leader election wiring', () => {
  it('tells ext-proc the name of the one Lease its RBAC lets it update', () => {
    const rendered = render();
    const lease = rendered
      .of('Role')
      .flatMap((r) => (r.rules ?? []) as { resources?: string[]; resourceNames?: string[] }[])
      .flatMap((rule) => (rule.resources?.includes('leases') ? (rule.resourceNames ?? []) : []))
      .find((n) => n.endsWith('ext-proc-leader'));
    expect(lease).toBeTruthy();
    expect(JSON.stringify(rendered.of('EnvoyProxy'))).toContain(
      `{"name":"AGENT_ROUTER_LEASE_NAME","value":"${lease}"}`,
    );
  });
});

describe('console', () => {
  const deploymentOf = (r: ReturnType<typeof render>) =>
    r.one('Deployment', `${RELEASE}-agent-router-console`);
  const writesOf = (r: ReturnType<typeof render>) =>
    [...r.of('Role'), ...r.of('ClusterRole')]
      .filter((role) => role.metadata.labels['app.kubernetes.io/component'] === 'console')
      .flatMap((role) => role.rules)
      .filter((rule: any) => rule.verbs.some((v: string) => !['get', 'list', 'watch'].includes(v)))
      .flatMap((rule: any) => rule.resources.map((res: string) => `${res}:${rule.verbs.join(',')}`))
      .sort();

  it("runs the console against the sidecars' PostgreSQL, with its admin token read live and its own Lease", () => {
    const rendered = render('console-postgres.yaml');
    const container = deploymentOf(rendered).spec.template.spec.containers[0];
    expect(container.args).toEqual(
      expect.arrayContaining([
        'console',
        '--config=kubernetes://',
        '--host=0.0.0.0',
        '--store=postgres',
        `--admin-token-secret=${NAMESPACE}/agent-router-console-admin`,
        '--admin-token-key=token',
      ]),
    );
    expect(container.args).not.toContain('--read-only');
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));
    expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: 'agent-router-db', key: 'url' });
    expect(env.AGENT_ROUTER_CONSOLE_TOKEN).toBeUndefined();
    const lease = rendered.one('Role', `${RELEASE}-agent-router-console-lease`);
    expect(lease.rules.find((r: any) => r.resourceNames)?.resourceNames).toEqual([
      env.AGENT_ROUTER_ROLLOUT_LEASE.value,
    ]);
    const service = rendered.one('Service', `${RELEASE}-agent-router-console`);
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports[0].port).toBe(8081);
    expect(writesOf(rendered)).toEqual(
      [
        'apikeys:create,patch',
        'events:create',
        'events:create',
        'leases:create',
        'leases:get,update,patch',
        'routeconfigs/status:get,patch',
        'routeconfigs/status:get,patch',
        'routeconfigs:patch',
        'routeconfigs:patch',
        'apikeys:create,patch',
        'secrets:create,patch',
        'secrets:create,patch',
      ].sort(),
    );
  });

  it('drops every configuration write when read-only, and is always read-only over a file source', () => {
    const readOnly = render('console-postgres.yaml', ['--set', 'console.readOnly=true']);
    expect(deploymentOf(readOnly).spec.template.spec.containers[0].args).toContain('--read-only');
    expect(writesOf(readOnly).filter((w) => /^(routeconfigs|apikeys|secrets):/.test(w))).toEqual([]);
    const file = render('file-source.yaml', [
      '--set',
      'console.enabled=true',
      '--set',
      'console.adminTokenSecret.name=admin',
      '--set',
      'console.databaseSecret.name=db',
    ]);
    const container = deploymentOf(file).spec.template.spec.containers[0];
    expect(container.args).toContain('--read-only');
    expect(container.args.some((a: string) => a.startsWith('--admin-token-secret'))).toBe(false);
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));
    expect(env.AGENT_ROUTER_CONSOLE_TOKEN.valueFrom.secretKeyRef).toEqual({ name: 'admin', key: 'token' });
    expect(writesOf(file)).toEqual([]);
  });

  it('refuses to render without an admin token or a request store, saying which', () => {
    const noToken = helmTemplate('minimal.yaml', ['--set', 'console.enabled=true']);
    expect(noToken.status).not.toBe(0);
    expect(noToken.stderr).toContain('console.enabled needs console.adminTokenSecret.name');
    const noStore = helmTemplate('minimal.yaml', [
      '--set',
      'console.enabled=true',
      '--set',
      'console.adminTokenSecret.name=admin',
    ]);
    expect(noStore.status).not.toBe(0);
    expect(noStore.stderr).toContain('console.enabled needs a request store');
  });
});
