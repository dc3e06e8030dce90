/** The scheduling framework's public surface, for the EPP server, the simulator and benchmarks. */

export {
  type CompiledProfile,
  compileSchedulerConfig,
  type PluginConfig,
  type ProfileConfig,
  parseSchedulerConfigYaml,
  type SchedulerConfig,
  type SchedulerOptions,
  type ScorerConfig,
} from './config.ts';
export { type ExplainRecord, explain } from './explain.ts';
export { healthyFilter } from './filters/healthy.ts';
export { type LoraAffinityParams, loraAffinityFilter } from './filters/lora-affinity.ts';
export { type SaturationParams, saturationFilter } from './filters/saturation.ts';
export { subsetFilter } from './filters/subset.ts';
export { type ConfigProblem, SchedulingConfigError } from './params.ts';
export { type MaxScoreParams, maxScorePicker } from './pickers/max-score.ts';
export { type RandomPickerParams, randomPicker } from './pickers/random.ts';
export { type RoundRobinParams, roundRobinPicker } from './pickers/round-robin.ts';
export type { PluginDefinition, PluginKind } from './plugin.ts';
export { PRESETS, type PresetName } from './presets.ts';
export { lookupPlugin, pluginTypes, registry } from './registry.ts';
export { Scheduler } from './scheduler.ts';
export { kvCacheUtilizationScorer } from './scorers/kv-cache-utilization.ts';
export { type LoadAwareParams, loadAwareScorer } from './scorers/load-aware.ts';
export { type PrefixCacheParams, PrefixCacheScorer, prefixCacheScorer } from './scorers/prefix-cache.ts';
export { BlockLru, PrefixIndex, PromptHasher } from './scorers/prefix-index.ts';
export { queueScorer } from './scorers/queue.ts';
export {
  podNameFromSessionToken,
  SESSION_COOKIE_NAME,
  SESSION_TOKEN_HEADER,
  sessionAffinityScorer,
  sessionTokenFor,
  sessionTokenFromHeaders,
} from './scorers/session-affinity.ts';
export type * from './types.ts';
