/**
 * The kind suite cannot run here (no Docker), so this checks everything about it that can be checked
 * without a cluster: its TypeScript type-checks under the project's compiler options, run.sh parses
 * (bash -n), its manifests parse and the sample CRs validate against the CRDs the chart ships, the chart
 * renders with the suite's values, and the Dockerfile builds the image the manifests expect.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runTool } from '../helpers/tools.ts';

const DIR = 'e2e-kind';
const MANIFESTS = `${DIR}/manifests`;
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
  });

  it('builds the image the manifests run, from this repository, as a non-root user', () => {
    const dockerfile = readFileSync(`${DIR}/Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/agent-router.mjs"]');
    expect(dockerfile).toContain('USER 65532:65532');
    expect(dockerfile).toContain('COPY e2e-kind/sim-pod.mjs');
    const sims = docs(`${MANIFESTS}/sims.yaml`).filter((m) => m.kind === 'Deployment');
    for (const d of sims) expect(d.spec.template.spec.containers[0].image).toBe('agent-router:e2e');
    const values = docs(`${MANIFESTS}/values-e2e.yaml`)[0];
    expect(`${values.image.repository}:${values.image.tag}`).toBe('agent-router:e2e');
  });
});
