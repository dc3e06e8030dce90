// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are open-ended JSON that the assertions narrow.
/**
 * Renders charts/agent-router with the real helm binary and parses the output, so chart tests assert on
 * the objects Kubernetes would receive.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runTool } from '../helpers/tools.ts';

export const CHART = 'charts/agent-router';
export const RELEASE = 'ar';
export const NAMESPACE = 'ai';
export const VALUES_DIR = 'test/charts/values';

/** The realistic values files under test/charts/values, by file name. */
export const valuesFiles = (): string[] =>
  readdirSync(VALUES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} & any;

export interface Rendered {
  objects: K8sObject[];
  of(kind: string): K8sObject[];
  one(kind: string, name: string): K8sObject;
}

export function helmTemplate(
  valuesFile: string | undefined,
  extra: readonly string[] = [],
): { status: number; stdout: string; stderr: string } {
  const args = ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...extra];
  if (valuesFile) args.push('--values', path.join(VALUES_DIR, valuesFile));
  return runTool('helm', args);
}

export function render(valuesFile?: string, extra: readonly string[] = []): Rendered {
  const result = helmTemplate(valuesFile, extra);
  if (result.status !== 0)
    throw new Error(`helm template failed (${valuesFile ?? 'defaults'}):\n${result.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) throw new Error(`unparsable output: ${doc.errors[0]!.message}`);
    const value = doc.toJS();
    if (value) objects.push(value);
  }
  return {
    objects,
    of: (kind) => objects.filter((o) => o.kind === kind),
    one(kind, name) {
      const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (!found)
        throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`)}`);
      return found;
    },
  };
}
