/** The CRDs under crds/ (what the Helm chart installs), loaded once per test file. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CustomResourceDefinition,
  CustomResourceValidator,
  readCRD,
  readDocuments,
} from './crd-validator.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CRD_DIR = `${REPO}crds/`;

/** Our kinds, written by hand and described field by field. */
export const OUR_CRD_FILES = [
  'agentrouter.dev_routeconfigs.yaml',
  'agentrouter.dev_providerbackends.yaml',
  'agentrouter.dev_apikeys.yaml',
  'agentrouter.dev_mcpservers.yaml',
] as const;
/** Reproduced from an upstream release; checked for validity, not for our conventions. */
export const UPSTREAM_CRD_FILES = ['inference.networking.k8s.io_inferencepools.yaml'] as const;

export function loadCRD(file: string): CustomResourceDefinition {
  return readCRD(`${CRD_DIR}${file}`);
}

const validators = new Map<string, CustomResourceValidator>();
for (const file of [...OUR_CRD_FILES, ...UPSTREAM_CRD_FILES]) {
  const validator = new CustomResourceValidator(loadCRD(file));
  validators.set(`${validator.apiVersion}/${validator.kind}`, validator);
}

/** The validator for a document's apiVersion and kind, or undefined when no CRD of ours serves it. */
export function validatorFor(doc: unknown): CustomResourceValidator | undefined {
  const { apiVersion, kind } = (doc ?? {}) as { apiVersion?: unknown; kind?: unknown };
  return validators.get(`${String(apiVersion)}/${String(kind)}`);
}

/** Paths (repo-relative) of the YAML files in a folder of the repo, sorted. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(`${REPO}${dir}`)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);
}

export function documents(file: string): unknown[] {
  return readDocuments(`${REPO}${file}`);
}
