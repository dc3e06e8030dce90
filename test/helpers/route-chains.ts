/**
 * What the chart's `routes` value must say for a set of manifests: per route entry (target
 * `<namespace>/<routeconfig>/<entry>`), the ProviderBackend names of its fallback chain as the RouteConfig
 * compiles it, at most two (Envoy Gateway's two priority levels). Envoy sends attempt N to the chart
 * route's Nth backend while ext-proc translates attempt N for the chain's Nth entry, so the two must agree.
 */
import { compile } from '../../config/compile.ts';
import { readManifests } from '../../config/file-source.ts';
import { ConfigError } from '../../config/problems.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';

/**
 * `files`: the manifests, together (e.g. the CRs and the InferencePools the chart renders); `namespace`:
 * where they are applied (they leave metadata.namespace open, which file mode reads as "default").
 */
export function routeChains(files: readonly string[], namespace: string): Record<string, string[]> {
  const read = files.map((f) => readManifests(f));
  const problems = read.flatMap((r) => r.problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const result = compile(
    read.flatMap((r) => r.manifests),
    { supportedProviders },
  );
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  const { snapshot } = result;
  const applied = (id: string) => id.replace(/^default\//, `${namespace}/`);
  const backendName = (id: string) => id.slice(id.indexOf('/') + 1);
  return Object.fromEntries(
    [...snapshot.entries.values()].map((e) => [
      applied(e.id),
      e.fallbackChain.slice(0, 2).map((f) => backendName(f.backend.id)),
    ]),
  );
}

/** The chart `routes` value as the same target → backends map. */
export const chartRoutes = (routes: readonly { target: string; backends: string[] }[]) =>
  Object.fromEntries(routes.map((r) => [r.target, r.backends]));
