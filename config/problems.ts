import type { ManifestOrigin } from './manifests.ts';

/** One thing wrong with the configuration, located precisely enough for a person to fix it. */
export interface ConfigProblem {
  source: string;
  document: number;
  object: string;
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.document > 0 ? `${p.source} (document ${p.document})` : p.source;
  return `${where} ${p.object}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n  ${problems.map(formatProblem).join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function problemAt(
  origin: ManifestOrigin,
  object: string,
  path: string,
  message: string,
): ConfigProblem {
  return { source: origin.source, document: origin.document, object, path, message };
}
