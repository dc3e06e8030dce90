import { describe, expect, it } from 'vitest';
import {
  compileSchedulerConfig,
  parseSchedulerConfigYaml,
} from '../../../endpoint-picker/scheduling/config.ts';
import { SchedulingConfigError } from '../../../endpoint-picker/scheduling/params.ts';
import { PRESETS } from '../../../endpoint-picker/scheduling/presets.ts';
import { Scheduler } from '../../../endpoint-picker/scheduling/scheduler.ts';
import { prefixCacheScorer } from '../../../endpoint-picker/scheduling/scorers/prefix-cache.ts';
import { pod, request } from './fixtures.ts';

/** The problems a config is rejected with, as `path: message` lines. */
function problems(config: unknown): string[] {
  try {
    compileSchedulerConfig(config);
  } catch (error) {
    if (!(error instanceof SchedulingConfigError)) throw error;
    expect(error.code).toBe('invalid_scheduling_config');
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('config was accepted');
}

const profile = (fields: Record<string, unknown>) => ({ profiles: [{ name: 'p', ...fields }] });

describe('scheduler config validation', () => {
  it('names the field of an unknown plugin type and lists the known ones', () => {
    const [problem] = problems(profile({ scorers: [{ type: 'queue' }, { type: 'gpu-temperature' }] }));
    expect(problem).toMatch(
      /^profiles\[0\]\.scorers\[1\]\.type: unknown scorer "gpu-temperature" \(known: .*queue/,
    );
  });

  it('names a plugin used as the wrong kind', () => {
    expect(problems(profile({ filters: [{ type: 'queue' }] }))[0]).toMatch(
      /^profiles\[0\]\.filters\[0\]\.type: unknown filter/,
    );
  });

  it('names a bad weight', () => {
    expect(problems(profile({ scorers: [{ type: 'queue', weight: -1 }] }))).toEqual([
      'profiles[0].scorers[0].weight: must be a finite number >= 0, got -1',
    ]);
    expect(problems(profile({ scorers: [{ type: 'queue', weight: '2' }] }))[0]).toMatch(
      /^profiles\[0\]\.scorers\[0\]\.weight:/,
    );
  });

  it('names bad and unknown parameters', () => {
    const found = problems(
      profile({
        scorers: [{ type: 'prefix-cache', params: { blockSize: 0, blokSize: 64 } }],
        picker: { type: 'max-score', params: { maxNumOfEndpoints: 1.5 } },
      }),
    );
    expect(found).toEqual([
      'profiles[0].scorers[0].params.blockSize: must be an integer >= 1, got 0',
      'profiles[0].scorers[0].params.blokSize: unknown parameter (known: blockSize, maxPrefixBlocksToMatch, lruCapacityPerServer)',
      'profiles[0].picker.params.maxNumOfEndpoints: must be an integer >= 1, got 1.5',
    ]);
  });

  it('names a parameter given to a plugin that takes none', () => {
    expect(problems(profile({ scorers: [{ type: 'queue', params: { x: 1 } }] }))).toEqual([
      'profiles[0].scorers[0].params.x: unknown parameter (this plugin takes none)',
    ]);
  });

  it('names missing and misspelled structure', () => {
    expect(problems({})).toEqual(['profiles: is required']);
    expect(problems({ profiles: [] })).toEqual(['profiles: must list at least one profile']);
    expect(problems({ profiles: [{ scorers: [] }] })).toEqual([
      'profiles[0].name: is required (a non-empty string)',
    ]);
    expect(problems({ profiles: [{ name: 'p', scorer: [] }] })[0]).toMatch(
      /^profiles\[0\]\.scorer: unknown field/,
    );
    expect(problems({ profiles: [{ name: 'p', filters: { type: 'healthy' } }] })).toEqual([
      'profiles[0].filters: must be a list',
    ]);
    expect(problems({ profile: [] })).toContain('profile: unknown field (known: profiles, defaultProfile)');
  });

  it('names the default profile when it is missing or names no profile', () => {
    const two = [{ name: 'a' }, { name: 'b' }];
    expect(problems({ profiles: two })).toEqual([
      'defaultProfile: is required when there is more than one profile',
    ]);
    expect(problems({ profiles: two, defaultProfile: 'c' })).toEqual([
      'defaultProfile: no profile named "c" (profiles: a, b)',
    ]);
  });

  it('names duplicate profiles and duplicate scorer names', () => {
    expect(problems({ profiles: [{ name: 'a' }, { name: 'a' }], defaultProfile: 'a' })).toEqual([
      'profiles[1].name: duplicate profile name "a"',
    ]);
    expect(problems(profile({ scorers: [{ type: 'queue' }, { type: 'queue', weight: 2 }] }))[0]).toMatch(
      /^profiles\[0\]\.scorers\[1\]\.name: "queue" is already a scorer of this profile/,
    );
  });

  it('reports every problem at once', () => {
    const found = problems(
      profile({
        filters: [{ type: 'nope' }],
        scorers: [{ type: 'queue', weight: -3 }],
        picker: { type: 'nope' },
      }),
    );
    expect(found).toHaveLength(3);
  });

  it('accepts two scorers of one type under distinct names', () => {
    const config = profile({
      scorers: [{ type: 'load-aware' }, { type: 'load-aware', name: 'load-steep', params: { threshold: 8 } }],
    });
    expect(compileSchedulerConfig(config).profiles.get('p')!.scorerNames).toEqual([
      'load-aware',
      'load-steep',
    ]);
  });

  it('checks typed factory parameters with the same schema', () => {
    expect(() => prefixCacheScorer({ lruCapacityPerServer: -1 })).toThrow(
      /lruCapacityPerServer: must be an integer >= 1/,
    );
  });
});

describe('scheduler config compilation', () => {
  it('defaults a missing picker to max-score and a missing weight to 1', () => {
    const compiled = compileSchedulerConfig(profile({ scorers: [{ type: 'queue' }] }));
    const p = compiled.profiles.get('p')!;
    expect(p.picker.name).toBe('max-score');
    expect(p.weights).toEqual([1]);
    expect(compiled.defaultProfile).toBe('p');
  });

  it('always applies the subset hint first, whether or not the profile lists it', () => {
    expect(compileSchedulerConfig(profile({})).profiles.get('p')!.filterNames).toEqual(['subset']);
    const listed = profile({ filters: [{ type: 'healthy' }, { type: 'subset' }] });
    expect(compileSchedulerConfig(listed).profiles.get('p')!.filterNames).toEqual(['subset', 'healthy']);
  });

  it("accepts the upstream project's plugin type names", () => {
    const config = profile({
      scorers: [
        { type: 'queue-scorer' },
        { type: 'kv-cache-utilization-scorer' },
        { type: 'prefix-cache-scorer' },
      ],
      picker: { type: 'max-score-picker' },
    });
    const p = compileSchedulerConfig(config).profiles.get('p')!;
    expect(p.scorerNames).toEqual(['queue', 'kv-cache-utilization', 'prefix-cache']);
  });

  it('parses the same config from YAML', () => {
    const yaml = `
defaultProfile: interactive
profiles:
  - name: interactive
    filters:
      - type: healthy
      - type: saturation
        params: { queueDepthThreshold: 8 }
    scorers:
      - type: prefix-cache
        weight: 3
        params:
          blockSize: 32
      - type: queue
        weight: 2
    picker:
      type: max-score
      params: { maxNumOfEndpoints: 2 }
  - name: batch
    picker: { type: round-robin }
`;
    const scheduler = Scheduler.fromYaml(yaml, { seed: 1 });
    expect(scheduler.profileNames()).toEqual(['interactive', 'batch']);
    expect(scheduler.defaultProfile).toBe('interactive');
    const p = scheduler.profile();
    expect(p.filterNames).toEqual(['subset', 'healthy', 'saturation']);
    expect(p.scorerNames).toEqual(['prefix-cache', 'queue']);
    expect(p.weights).toEqual([3, 2]);
    const result = scheduler.schedule(request(), [pod('a1'), pod('b2'), pod('c3')]);
    expect(result.kind === 'picked' && result.endpoints).toHaveLength(2);
  });

  it('rejects YAML that does not parse, and names fields of YAML that does', () => {
    expect(() => parseSchedulerConfigYaml('profiles: [unclosed')).toThrow(SchedulingConfigError);
    expect(() => Scheduler.fromYaml('profiles:\n  - name: p\n    picker: { type: fastest }\n')).toThrow(
      /profiles\[0\]\.picker\.type: unknown picker "fastest"/,
    );
  });
});

describe('presets', () => {
  it('all compile', () => {
    for (const config of Object.values(PRESETS)) expect(() => new Scheduler(config)).not.toThrow();
  });

  it("gie-default is upstream's documented mix: queue 2, kv-cache-utilization 2, prefix-cache 3, max-score", () => {
    const p = new Scheduler(PRESETS['gie-default']).profile();
    expect(Object.fromEntries(p.scorerNames.map((n, i) => [n, p.weights[i]]))).toEqual({
      queue: 2,
      'kv-cache-utilization': 2,
      'prefix-cache': 3,
    });
    expect(p.picker.name).toBe('max-score');
    expect(p.filterNames).toEqual(['subset']);
  });

  it('baselines ignore load or use only the queue', () => {
    expect(new Scheduler(PRESETS['round-robin']).profile().picker.name).toBe('round-robin');
    expect(new Scheduler(PRESETS.random).profile().picker.name).toBe('random');
    expect(new Scheduler(PRESETS['least-queue']).profile().scorerNames).toEqual(['queue']);
  });
});
