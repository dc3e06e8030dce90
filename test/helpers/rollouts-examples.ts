/**
 * The rollout examples under examples/rollouts/ as a rollout tool would read them: the Argo Rollouts
 * AnalysisTemplate's web metrics with their `{{args.*}}` filled in, their jsonPath evaluated the way
 * Argo's web provider does (Kubernetes JSONPath in braces; one match is printed as the value itself),
 * and the console URL in the Flagger webhook's command.
 */
import { readFileSync } from 'node:fs';
import { JSONPath } from 'jsonpath-plus';
import { parse } from 'yaml';

export const ARGO_TEMPLATE = 'examples/rollouts/argo-analysis-template.yaml';
export const FLAGGER_CANARY = 'examples/rollouts/flagger-canary.yaml';

export interface ArgoArg {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** The parts of an AnalysisTemplate (argoproj.io/v1alpha1) the examples use. */
export interface AnalysisTemplate {
  apiVersion: string;
  kind: string;
  spec: {
    args: ArgoArg[];
    metrics: {
      name: string;
      successCondition: string;
      provider: Record<string, unknown> & {
        web: { url: string; jsonPath: string; headers?: { key: string; value: string }[] };
      };
    }[];
  };
}

/** The parts of a Canary (flagger.app/v1beta1) the examples use. */
export interface Canary {
  apiVersion: string;
  kind: string;
  spec: { analysis: { webhooks: { type: string; metadata: { cmd: string } }[] } };
}

export interface ArgoWebMetric {
  name: string;
  successCondition: string;
  url: string;
  headers: { key: string; value: string }[];
  jsonPath: string;
}

export function argoTemplate(): AnalysisTemplate {
  return parse(readFileSync(ARGO_TEMPLATE, 'utf8')) as AnalysisTemplate;
}

/** The web metrics with every `{{args.name}}` replaced: `args` first, then the template's own values. */
export function argoWebMetrics(args: Record<string, string> = {}): ArgoWebMetric[] {
  const template = argoTemplate();
  const values: Record<string, string> = {};
  for (const a of template.spec.args) if (a.value !== undefined) values[a.name] = a.value;
  Object.assign(values, args);
  const fill = (text: string) =>
    text.replace(/\{\{\s*args\.([\w-]+)\s*\}\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`no value for args.${name}`);
      return value;
    });
  return template.spec.metrics.map((m) => ({
    name: m.name,
    successCondition: m.successCondition,
    url: fill(m.provider.web.url),
    headers: (m.provider.web.headers ?? []).map((h: { key: string; value: string }) => ({
      key: h.key,
      value: fill(h.value),
    })),
    jsonPath: fill(m.provider.web.jsonPath),
  }));
}

/** Argo's `result` for a Kubernetes JSONPath (`{$.a.b}`) over an answer. */
export function argoResult(jsonPath: string, answer: unknown): unknown {
  const match = /^\{(.*)\}$/s.exec(jsonPath);
  if (match === null) throw new Error(`not a Kubernetes JSONPath template: ${jsonPath}`);
  const found = JSONPath({ path: match[1]!, json: answer as object, wrap: true }) as unknown[];
  return found.length === 1 ? found[0] : found;
}

/** Argo's successCondition, for the one form the examples use: `result != "<value>"`. */
export function argoSucceeds(condition: string, result: unknown): boolean {
  const match = /^result != "([^"]*)"$/.exec(condition.trim());
  if (match === null) throw new Error(`condition not understood by this test: ${condition}`);
  return result !== match[1];
}

export function flaggerCanary(): Canary {
  return parse(readFileSync(FLAGGER_CANARY, 'utf8')) as Canary;
}

/** The webhook's bash command and the console URL it calls (path and query). */
export function flaggerGate(): { cmd: string; url: URL } {
  const hook = flaggerCanary().spec.analysis.webhooks.find((w) => w.type === 'rollout');
  if (hook === undefined) throw new Error(`no rollout webhook in ${FLAGGER_CANARY}`);
  const cmd = String(hook.metadata.cmd);
  const found = /"(http:\/\/[^"]+\/gate\?[^"]+)"/.exec(cmd);
  if (found === null) throw new Error(`no gate URL in ${cmd}`);
  return { cmd, url: new URL(found[1]!) };
}
