/**
 * The kind suite cannot run here (no Docker), so this checks everything about it that can be checked
 * without a cluster: its TypeScript type-checks under the project's compiler options, run.sh parses
 * (bash -n) and does its steps in the right order with the right versions, the GitHub workflow that runs
 * it, its manifests parse and the sample CRs validate against the CRDs the chart ships, the chart renders
 * with the suite's values, and the root Dockerfile builds the image the manifests expect. What run.sh's
 * waits and diagnostics do is tested by running them (run-sh.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parseDocument, stringify } from 'yaml';
import { chartRoutes, routeChains } from '../helpers/route-chains.ts';
import { runTool } from '../helpers/tools.ts';

const DIR = 'e2e-kind';
const MANIFESTS = `${DIR}/manifests`;
const WORKFLOW = '.github/workflows/e2e-kind.yml';
const script = () => readFileSync(`${DIR}/run.sh`, 'utf8');
/** run.sh without its comment lines, for what it runs rather than what it says. */
const commands = () =>
  script()
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
/** The default run.sh gives the environment variable NAME (`VAR="${NAME:-default}"`). */
const defaultOf = (name: string) =>
  new RegExp(`^[A-Z_]+="\\$\\{${name}:-([^}]+)\\}"$`, 'm').exec(script())?.[1];
const docs = (file: string) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return d.toJS();
  });

describe('e2e-kind, statically', () => {
  it('type-checks every TypeScript file under the project compiler options', () => {
    const config = ts.readConfigFile('tsconfig.json', ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, process.cwd());
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(DIR, f));
    expect(files).toEqual(expect.arrayContaining([`${DIR}/acceptance.e2e.ts`, `${DIR}/scenarios.ts`]));
    const program = ts.createProgram(files, { ...options, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  }, 60_000);

  it('has a run.sh that bash parses, that is executable, and that runs the suite with its own vitest config', () => {
    execFileSync('bash', ['-n', `${DIR}/run.sh`]);
    const script = readFileSync(`${DIR}/run.sh`, 'utf8');
    expect(script.startsWith('#!/usr/bin/env bash')).toBe(true);
    expect(script).toContain('set -euo pipefail');
    expect(script).toContain('npx vitest run --config e2e-kind/vitest.config.ts');
    expect(execFileSync('bash', ['-c', `test -x ${DIR}/run.sh && echo yes`], { encoding: 'utf8' })).toBe(
      'yes\n',
    );
  });

  it('keeps the kind suite out of npm test', () => {
    const root = readFileSync('vitest.config.ts', 'utf8');
    expect(root).toContain("include: ['test/**/*.test.ts']");
    expect(readdirSync(DIR).filter((f) => f.endsWith('.test.ts'))).toEqual([]);
  });

  it('parses every manifest, and the sample CRs validate against the CRDs the chart ships', () => {
    const crds = readdirSync('charts/agent-router/crds')
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => docs(`charts/agent-router/crds/${f}`));
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
    const validators = new Map<string, ReturnType<typeof ajv.compile>>();
    for (const crd of crds) {
      for (const version of crd.spec.versions) {
        validators.set(
          `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
          ajv.compile(version.schema.openAPIV3Schema),
        );
      }
    }
    for (const file of readdirSync(MANIFESTS).filter((f) => f.endsWith('.yaml')))
      docs(`${MANIFESTS}/${file}`);
    const samples = docs(`${MANIFESTS}/sample-crs.yaml`).filter((m) =>
      m.apiVersion.startsWith('agentrouter.dev/'),
    );
    expect(samples.length).toBeGreaterThan(5);
    for (const m of samples) {
      const validate = validators.get(`${m.apiVersion}/${m.kind}`);
      expect(validate, `a CRD for ${m.apiVersion} ${m.kind}`).toBeTruthy();
      expect(validate!(m) ? [] : validate!.errors, `${m.kind} ${m.metadata.name}`).toEqual([]);
    }
  });

  it('routes every RouteConfig entry of the sample CRs through the chart values, and renders', () => {
    const values = docs(`${MANIFESTS}/values-e2e.yaml`)[0];
    const routeConfig = docs(`${MANIFESTS}/sample-crs.yaml`).find((m) => m.kind === 'RouteConfig');
    const targets = routeConfig.spec.routes.map(
      (r: { name: string }) => `agent-router-e2e/default/${r.name}`,
    );
    expect(values.routes.map((r: { target: string }) => r.target).sort()).toEqual(targets.sort());
    const result = runTool('helm', [
      'template',
      'agent-router',
      'charts/agent-router',
      '--namespace',
      'agent-router-e2e',
      '--values',
      `${MANIFESTS}/values-e2e.yaml`,
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // Envoy sends attempt N to the route's Nth backend; ext-proc translates it for the chain's Nth
    // entry, so the values must follow the chains the RouteConfig compiles to (its pools are the chart's).
    const pools = parseAllDocuments(result.stdout)
      .map((d) => d.toJS())
      .filter((m) => m?.kind === 'InferencePool')
      .map((m) => ({ ...m, metadata: { name: m.metadata.name } }));
    const dir = mkdtempSync(path.join(tmpdir(), 'e2e-pools-'));
    writeFileSync(path.join(dir, 'pools.yaml'), pools.map((p) => stringify(p)).join('---\n'));
    expect(chartRoutes(values.routes)).toEqual(
      routeChains([`${MANIFESTS}/sample-crs.yaml`, path.join(dir, 'pools.yaml')], 'agent-router-e2e'),
    );
  });

  it('builds the image the manifests run from the root Dockerfile, with the sim script and a non-root user', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24/m);
    expect(dockerfile).toContain('USER 65532:65532');
    // The sims run `node e2e-kind/sim-pod.mjs` in this image.
    expect(dockerfile).toContain('COPY e2e-kind/sim-pod.mjs');
    const sims = docs(`${MANIFESTS}/sims.yaml`).filter((m) => m.kind === 'Deployment');
    for (const d of sims) {
      expect(d.spec.template.spec.containers[0].image).toBe('agent-router:e2e');
      expect(d.spec.template.spec.containers[0].command).toEqual(['node', 'e2e-kind/sim-pod.mjs']);
    }
    const values = docs(`${MANIFESTS}/values-e2e.yaml`)[0];
    expect(`${values.image.repository}:${values.image.tag}`).toBe('agent-router:e2e');
    const build = /^\s*docker build (.+)$/m.exec(commands())?.[1];
    expect(build, 'run.sh builds the image').toBe('-t "$IMAGE" .');
    expect(script()).toMatch(/^IMAGE=agent-router:e2e$/m);
  });

  it('turns on the Envoy Gateway extension APIs the chart relies on: Backend and EnvoyPatchPolicy', () => {
    const values = docs(`${MANIFESTS}/envoy-gateway-values.yaml`)[0];
    expect(values.config.envoyGateway.extensionApis).toEqual({
      enableBackend: true,
      enableEnvoyPatchPolicy: true,
    });
  });
});

describe('e2e-kind/run.sh', () => {
  it('installs Envoy Gateway v1.9, the supported line, by default', () => {
    expect(defaultOf('EG_VERSION')).toMatch(/^v1\.9\.\d+$/);
    expect(commands()).toContain('oci://docker.io/envoyproxy/gateway-helm --version "$EG_VERSION"');
  });

  it('creates the cluster on a pinned node image of a Kubernetes release Envoy Gateway v1.9 supports', () => {
    // EG's compatibility matrix: v1.9 supports Kubernetes v1.33, v1.34, v1.35 and v1.36.
    expect(defaultOf('KIND_NODE_IMAGE')).toMatch(/^kindest\/node:v1\.3[3-6]\.\d+@sha256:[0-9a-f]{64}$/);
    expect(commands()).toMatch(/kind create cluster --name "\$CLUSTER" --image "\$KIND_NODE_IMAGE"/);
  });

  it("never waits for a condition in .status.conditions of Envoy Gateway's policies, where EG writes none", () => {
    expect(commands()).not.toMatch(
      /--for=condition=\w+[^\n]*(envoypatchpolic|envoyextensionpolic|backendtrafficpolic)/i,
    );
    expect(commands()).not.toMatch(
      /(envoypatchpolic|envoyextensionpolic|backendtrafficpolic)[^\n]*--for=condition=/i,
    );
  });

  it("waits on the policies' ancestors (Accepted, and Programmed for the EnvoyPatchPolicy) and on every Backend", () => {
    const text = commands();
    expect(text).toContain(`'{.status.ancestors[%d].conditions[?(@.type=="%s")].status}'`);
    expect(text).toContain('wait_policy envoypatchpolicy.gateway.envoyproxy.io Accepted Programmed');
    expect(text).toContain('wait_policy envoyextensionpolicy.gateway.envoyproxy.io Accepted');
    expect(text).toContain('wait_policy backendtrafficpolicy.gateway.envoyproxy.io Accepted');
    expect(text).toMatch(/^\s*wait_backends$/m);
    expect(text).toContain('kubectl get backend.gateway.envoyproxy.io');
  });

  it("checks Envoy's listener through its admin config_dump after the status waits and before the scenarios", () => {
    const text = commands();
    const waits = text.search(/^\s*wait_envoy_gateway$/m);
    const listener = text.indexOf('npx tsx e2e-kind/envoy-admin.ts check');
    const scenarios = text.indexOf('npx vitest run --config e2e-kind/vitest.config.ts');
    expect(waits).toBeGreaterThan(-1);
    expect(listener).toBeGreaterThan(waits);
    expect(scenarios).toBeGreaterThan(listener);
    const admin = readFileSync(`${DIR}/envoy-admin.ts`, 'utf8');
    expect(admin).toContain("get(admin, '/config_dump')");
    // Envoy Gateway's bootstrap: admin on 127.0.0.1:19000 in the proxy pod.
    expect(admin).toContain('const ADMIN_PORT = 19000;');
  });

  it('checks every tool it calls before it calls any', () => {
    const tools = /^TOOLS=\(([^)]*)\)$/m.exec(script())?.[1]?.split(/\s+/);
    expect(tools, 'run.sh lists its tools in TOOLS=(...)').toBeDefined();
    expect(commands()).toMatch(/for tool in "\$\{TOOLS\[@\]\}"; do\n\s*command -v "\$tool"/);
    const candidates = [
      'docker',
      'kind',
      'kubectl',
      'helm',
      'node',
      'npx',
      'npm',
      'curl',
      'jq',
      'yq',
      'python3',
      'git',
      'envsubst',
    ];
    const called = candidates.filter((tool) =>
      new RegExp(`(^|[\\s;&|(]|\\$\\()${tool} `, 'm').test(commands()),
    );
    expect(called.filter((tool) => !tools!.includes(tool))).toEqual([]);
    expect(commands().indexOf('check_tools\n')).toBeLessThan(commands().indexOf('kind create cluster'));
  });

  it('leaves diagnostics in E2E_ARTIFACTS from its exit trap, including the proxy config_dump', () => {
    const text = commands();
    expect(defaultOf('E2E_ARTIFACTS')).toBe('e2e-kind/artifacts');
    expect(text).toContain('trap on_exit EXIT');
    expect(text).toMatch(/trap '[^']+' ERR/);
    expect(text).toMatch(/on_exit\(\) \{[\s\S]*?collect_diagnostics[\s\S]*?cleanup[\s\S]*?\n\}/);
    for (const kind of [
      'gateways',
      'httproutes',
      'envoypatchpolicies',
      'envoyextensionpolicies',
      'backendtrafficpolicies',
      'backends',
      'inferencepools',
      'pods',
      'events',
    ]) {
      expect(text).toMatch(new RegExp(`\\b${kind}\\b`));
    }
    expect(text).toContain('npx tsx e2e-kind/envoy-admin.ts dump');
  });
});

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number | boolean>;
}
interface Job {
  'runs-on': string;
  'timeout-minutes': number;
  env?: Record<string, string>;
  steps: Step[];
}

describe('.github/workflows/e2e-kind.yml', () => {
  const workflow = () => {
    const document = parseDocument(readFileSync(WORKFLOW, 'utf8'));
    expect(document.errors).toEqual([]);
    return document.toJS();
  };
  const job = (): Job => {
    const jobs = Object.values(workflow().jobs as Record<string, Job>);
    expect(jobs).toHaveLength(1);
    return jobs[0]!;
  };
  const step = (uses: string) => job().steps.find((s) => s.uses?.startsWith(`${uses}@`));

  it('parses as YAML and runs on pushes and pull requests to main and by hand', () => {
    const on = workflow().on;
    expect(on.push.branches).toEqual(['main']);
    expect(on.pull_request.branches).toEqual(['main']);
    expect(on).toHaveProperty('workflow_dispatch');
  });

  it('runs on ubuntu-24.04 with Node 24 and the npm cache, under a time limit', () => {
    expect(job()['runs-on']).toBe('ubuntu-24.04');
    expect(job()['timeout-minutes']).toBeGreaterThan(0);
    expect(step('actions/setup-node')?.with).toMatchObject({ 'node-version': 24, cache: 'npm' });
  });

  it('pins every action to at least a major version, and kind, kubectl and helm to releases', () => {
    for (const s of job().steps.filter((s) => s.uses))
      expect(s.uses).toMatch(/@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    const kind = step('helm/kind-action')?.with ?? {};
    expect(kind).toMatchObject({ install_only: true });
    expect(String(kind.version)).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(String(kind.kubectl_version)).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(String(step('azure/setup-helm')?.with?.version)).toMatch(/^v\d+\.\d+\.\d+$/);
    // Kubernetes' version skew policy: kubectl within one minor of the cluster run.sh creates.
    const node = Number(/^kindest\/node:v1\.(\d+)\./.exec(defaultOf('KIND_NODE_IMAGE') ?? '')?.[1]);
    const kubectl = Number(/^v1\.(\d+)\./.exec(String(kind.kubectl_version))?.[1]);
    expect(Math.abs(node - kubectl)).toBeLessThanOrEqual(1);
  });

  it('runs e2e-kind/run.sh after npm ci', () => {
    const runs = job().steps.map((s) => String(s.run ?? ''));
    const ci = runs.findIndex((r) => /^npm ci\b/m.test(r));
    const suite = runs.findIndex((r) => /^e2e-kind\/run\.sh$/m.test(r));
    expect(ci).toBeGreaterThan(-1);
    expect(suite).toBeGreaterThan(ci);
  });

  it("uploads run.sh's diagnostics directory when the job fails", () => {
    const upload = step('actions/upload-artifact');
    expect(upload?.uses).toBe('actions/upload-artifact@v4');
    expect(upload?.if).toBe('failure()');
    const artifacts = job().env?.E2E_ARTIFACTS ?? defaultOf('E2E_ARTIFACTS');
    expect(String(upload?.with?.path).replace(/\/$/, '')).toBe(artifacts);
  });
});
