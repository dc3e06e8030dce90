/**
 * The scheduler composes a compiled profile and knows no plugin by name: filters in order (stopping with a
 * 503 or, for a shedding filter, a 429 when one empties the candidates), then every scorer writes its row
 * of the decision's score matrix, clamped to [0, 1] and added with its weight into the totals, then the
 * picker orders the primary and fallbacks, and stateful plugins hear which pod was picked.
 */
import {
  type CompiledConfig,
  type CompiledProfile,
  compileSchedulerConfig,
  parseSchedulerConfigYaml,
  type SchedulerOptions,
} from './config.ts';
import type { Picked, PickResult, PodState, Rejected, SchedulingRequest } from './types.ts';

export class Scheduler {
  readonly defaultProfile: string;
  private readonly profiles: ReadonlyMap<string, CompiledProfile>;

  /** Validates and compiles `config` (throws SchedulingConfigError naming each bad field). */
  constructor(config: unknown, options: SchedulerOptions = {}) {
    const compiled: CompiledConfig = compileSchedulerConfig(config, options);
    this.profiles = compiled.profiles;
    this.defaultProfile = compiled.defaultProfile;
  }

  static fromYaml(text: string, options: SchedulerOptions = {}): Scheduler {
    return new Scheduler(parseSchedulerConfigYaml(text), options);
  }

  profileNames(): string[] {
    return [...this.profiles.keys()];
  }

  profile(name: string = this.defaultProfile): CompiledProfile {
    const profile = this.profiles.get(name);
    if (profile === undefined) {
      throw new RangeError(`no scheduling profile "${name}" (profiles: ${this.profileNames().join(', ')})`);
    }
    return profile;
  }

  schedule(request: SchedulingRequest, pods: readonly PodState[], profileName?: string): PickResult {
    const profile = this.profile(profileName);
    if (pods.length === 0)
      return rejected(profile.name, false, 'pool', 'the inference pool has no endpoints');

    let candidates = pods;
    const { filters } = profile;
    for (let f = 0; f < filters.length; f++) {
      const filter = filters[f]!;
      candidates = filter.filter(request, candidates);
      if (candidates.length === 0) {
        const stage = profile.filterNames[f]!;
        return filter.shedWhenEmpty
          ? rejected(
              profile.name,
              true,
              stage,
              'the inference pool is saturated and this request is sheddable',
            )
          : rejected(profile.name, false, stage, noEligibleMessage(stage));
      }
    }

    const n = candidates.length;
    const { scorers, weights } = profile;
    // One allocation per decision: the scorer rows, then the totals.
    const table = new Float64Array(n * (scorers.length + 1));
    const matrix = table.subarray(0, n * scorers.length);
    const totals = table.subarray(n * scorers.length);
    for (let s = 0; s < scorers.length; s++) {
      const row = matrix.subarray(s * n, s * n + n);
      scorers[s]!.score(request, candidates, row);
      const weight = weights[s]!;
      for (let i = 0; i < n; i++) {
        let v = row[i]!;
        // NaN fails both comparisons and becomes 0: a broken scorer cannot poison the totals.
        v = v >= 0 ? Math.min(v, 1) : 0;
        row[i] = v;
        totals[i] = totals[i]! + weight * v;
      }
    }

    const picked = profile.picker.pick(request, candidates, totals);
    const primary = picked[0];
    if (primary === undefined) return rejected(profile.name, false, 'picker', 'no endpoint was picked');
    for (const observer of profile.observers) observer.onPicked(request, primary);

    const endpoints: string[] = new Array(picked.length);
    for (let j = 0; j < picked.length; j++) endpoints[j] = picked[j]!.address;
    const result: Picked = {
      kind: 'picked',
      profile: profile.name,
      endpoints,
      primary: primary.name,
      scores: { scorers: profile.scorerNames, weights: profile.weights, pods: candidates, matrix, totals },
    };
    return result;
  }

  /** Drops per-pod state (the prefix index) of a pod that left the pool, in every profile. */
  forgetPod(podName: string): void {
    for (const profile of this.profiles.values()) for (const f of profile.forgetters) f.forgetPod(podName);
  }
}

function noEligibleMessage(stage: string): string {
  return stage === 'subset'
    ? 'none of the endpoints in the gateway subset hint is in the inference pool'
    : `no endpoint of the inference pool is eligible for this request (${stage} filter)`;
}

function rejected(profile: string, shed: boolean, stage: string, message: string): Rejected {
  return shed
    ? { kind: 'shed', status: 429, profile, stage, message }
    : { kind: 'no-capacity', status: 503, profile, stage, message };
}
