/**
 * The chart ships the CRDs from crds/ (the source of truth) in charts/agent-router/crds/, Helm's place for
 * CRDs: the two folders must hold the same files, byte for byte. Until crds/ exists both are empty and
 * the comparison holds trivially; from then on any drift fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART } from './render.ts';

const SOURCE = 'crds';
const SHIPPED = `${CHART}/crds`;
const yamlFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
    : [];

describe('CRDs shipped by the chart', () => {
  it('are byte-identical copies of crds/ (copy them with: cp crds/*.yaml charts/agent-router/crds/)', () => {
    const source = yamlFiles(SOURCE);
    expect(yamlFiles(SHIPPED)).toEqual(source);
    for (const f of source) {
      expect(readFileSync(`${SHIPPED}/${f}`).equals(readFileSync(`${SOURCE}/${f}`)), f).toBe(true);
    }
  });

  it('are CustomResourceDefinitions for agentrouter.dev and the InferencePool, and RBAC names their plurals', () => {
    const crds = yamlFiles(SHIPPED).flatMap((f) =>
      parseAllDocuments(readFileSync(`${SHIPPED}/${f}`, 'utf8')).map((d) => d.toJS()),
    );
    const rbac = readFileSync(`${CHART}/templates/ext-proc-rbac.yaml`, 'utf8');
    for (const crd of crds.filter(Boolean)) {
      expect(crd.kind).toBe('CustomResourceDefinition');
      expect(['agentrouter.dev', 'inference.networking.k8s.io']).toContain(crd.spec.group);
      // Every kind ext-proc reads must be granted by its exact plural, never by a wildcard.
      expect(rbac, `${crd.spec.names.plural} in ext-proc RBAC`).toContain(crd.spec.names.plural);
    }
  });
});
