/**
 * Every plugin by its config `type`, one line each. A new filter, scorer or picker is a new file plus one
 * line here; the scheduler never names a plugin. GIE's type names (`queue-scorer`, `max-score-picker`, …)
 * are accepted as aliases so an upstream EndpointPickerConfig's vocabulary reads the same here.
 */
import { healthyPlugin } from './filters/healthy.ts';
import { loraAffinityPlugin } from './filters/lora-affinity.ts';
import { saturationPlugin } from './filters/saturation.ts';
import { subsetPlugin } from './filters/subset.ts';
import { maxScorePlugin } from './pickers/max-score.ts';
import { randomPickerPlugin } from './pickers/random.ts';
import { roundRobinPlugin } from './pickers/round-robin.ts';
import type { PluginDefinition, PluginKind } from './plugin.ts';
import { kvCacheUtilizationPlugin } from './scorers/kv-cache-utilization.ts';
import { loadAwarePlugin } from './scorers/load-aware.ts';
import { prefixCachePlugin } from './scorers/prefix-cache.ts';
import { queuePlugin } from './scorers/queue.ts';
import { sessionAffinityPlugin } from './scorers/session-affinity.ts';

const PLUGINS: readonly PluginDefinition[] = [
  subsetPlugin,
  healthyPlugin,
  loraAffinityPlugin,
  saturationPlugin,
  queuePlugin,
  kvCacheUtilizationPlugin,
  prefixCachePlugin,
  sessionAffinityPlugin,
  loadAwarePlugin,
  maxScorePlugin,
  randomPickerPlugin,
  roundRobinPlugin,
];

/** Upstream type name → ours (GIE pkg/epp/scheduling/framework/plugins, llm-d pkg/plugins/scorer). */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['queue-scorer', 'queue'],
  ['kv-cache-utilization-scorer', 'kv-cache-utilization'],
  ['prefix-cache-scorer', 'prefix-cache'],
  ['session-affinity-scorer', 'session-affinity'],
  ['load-aware-scorer', 'load-aware'],
  ['max-score-picker', 'max-score'],
  ['random-picker', 'random'],
]);

export const registry: ReadonlyMap<string, PluginDefinition> = new Map(PLUGINS.map((p) => [p.type, p]));

/** The definition for a config `type` of the given kind, or undefined. */
export function lookupPlugin(kind: PluginKind, type: string): PluginDefinition | undefined {
  const definition = registry.get(ALIASES.get(type) ?? type);
  return definition?.kind === kind ? definition : undefined;
}

export function pluginTypes(kind: PluginKind): string[] {
  return PLUGINS.filter((p) => p.kind === kind).map((p) => p.type);
}
