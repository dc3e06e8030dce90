/**
 * Ready-made scheduler configurations. Plain config values, not instances: build a Scheduler from one
 * (each Scheduler owns its plugins' state), optionally with a seed.
 */
import type { SchedulerConfig } from './config.ts';

/**
 * GIE's default scheduling profile as upstream ships it: queue-scorer weight 2, kv-cache-utilization-scorer
 * weight 2, prefix-cache-scorer weight 3, and the max-score picker (one endpoint) that the config loader
 * adds to a profile without a picker — pkg/epp/config/loader/defaults.go (loadDefaultConfig,
 * ensureSchedulingLayer) and the Helm chart's default-plugins.yaml
 * (config/charts/inferencepool/templates/epp-config.yaml). No filters: upstream's default profile has none
 * (only the subset hint, which every profile here applies).
 */
const gieDefault: SchedulerConfig = {
  profiles: [
    {
      name: 'default',
      scorers: [
        { type: 'queue', weight: 2 },
        { type: 'kv-cache-utilization', weight: 2 },
        { type: 'prefix-cache', weight: 3 },
      ],
      picker: { type: 'max-score' },
    },
  ],
};

/**
 * Ours: GIE's scorer mix plus what a production pool needs around it — stale or unscraped pods out (failing
 * open when all are), sheddable requests shed at saturation (GIE's thresholds), LoRA affinity, a session kept
 * on its pod across picker restarts and replicas (weight 1: it decides when the other signals are close, and
 * cannot hold a session on a pod that the queue and KV signals say is clearly worse), and two fallback
 * endpoints for the gateway to retry. Weights are reasoned, not yet fitted against the simulator.
 */
const ours: SchedulerConfig = {
  profiles: [
    {
      name: 'default',
      // Saturation before LoRA affinity: whether to shed is a pool-wide question (as GIE's admission
      // check), not one about the few pods that happen to hold the adapter.
      filters: [{ type: 'healthy' }, { type: 'saturation' }, { type: 'lora-affinity' }],
      scorers: [
        { type: 'prefix-cache', weight: 3 },
        { type: 'queue', weight: 2 },
        { type: 'kv-cache-utilization', weight: 2 },
        { type: 'session-affinity', weight: 1 },
      ],
      picker: { type: 'max-score', params: { maxNumOfEndpoints: 3 } },
    },
  ],
};

/** Baseline: pods in turn, blind to load (what a plain Service would do). */
const roundRobin: SchedulerConfig = {
  profiles: [{ name: 'default', picker: { type: 'round-robin' } }],
};

/** Baseline: a uniformly random pod. */
const random: SchedulerConfig = {
  profiles: [{ name: 'default', picker: { type: 'random' } }],
};

/** Baseline: the shortest waiting queue, ties at random (load-aware but cache-blind). */
const leastQueue: SchedulerConfig = {
  profiles: [{ name: 'default', scorers: [{ type: 'queue', weight: 1 }], picker: { type: 'max-score' } }],
};

export const PRESETS = {
  ours,
  'gie-default': gieDefault,
  'round-robin': roundRobin,
  random,
  'least-queue': leastQueue,
} as const satisfies Readonly<Record<string, SchedulerConfig>>;

export type PresetName = keyof typeof PRESETS;
