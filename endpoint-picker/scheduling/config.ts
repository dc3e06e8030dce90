/**
 * The scheduler's configuration: named profiles, each a list of filters, weighted scorers and one picker,
 * referenced by registry `type` with parameters — the shape of GIE's EndpointPickerConfig scheduling
 * profiles, flattened so a profile reads top to bottom. Validated and compiled once into plugin instances;
 * every problem names its field (`profiles[0].scorers[1].weight: …`), and all problems are reported at once.
 */
import { parseDocument } from 'yaml';
import { type ConfigProblem, resolveParams, SchedulingConfigError } from './params.ts';
import type { PluginDefinition, PluginKind, PluginOf } from './plugin.ts';
import { lookupPlugin, pluginTypes } from './registry.ts';
import type { Filter, Picker, PickObserver, PodForgetter, Scorer } from './types.ts';

export interface PluginConfig {
  readonly type: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

export interface ScorerConfig extends PluginConfig {
  /** Multiplies the scorer's [0, 1] output in the total; default 1 (GIE's DefaultScorerWeight). */
  readonly weight?: number;
  /** Distinguishes two scorers of one type in a profile (and in the debug log); default the type. */
  readonly name?: string;
}

export interface ProfileConfig {
  readonly name: string;
  readonly filters?: readonly PluginConfig[];
  readonly scorers?: readonly ScorerConfig[];
  /** Default `max-score`, as GIE adds a max-score picker to a profile that names none. */
  readonly picker?: PluginConfig;
}

export interface SchedulerConfig {
  readonly profiles: readonly ProfileConfig[];
  /** Required when there is more than one profile. */
  readonly defaultProfile?: string;
}

export interface SchedulerOptions {
  /** Seed for every picker whose params set none, so a whole run replays exactly. */
  readonly seed?: number;
}

export interface CompiledProfile {
  readonly name: string;
  readonly filters: readonly Filter[];
  /** Config names of the filters, aligned with `filters` (reported as the stage that rejected a request). */
  readonly filterNames: readonly string[];
  readonly scorers: readonly Scorer[];
  readonly scorerNames: readonly string[];
  readonly weights: readonly number[];
  readonly picker: Picker;
  /** Plugins of this profile that learn from decisions. */
  readonly observers: readonly PickObserver[];
  readonly forgetters: readonly PodForgetter[];
}

export interface CompiledConfig {
  readonly profiles: ReadonlyMap<string, CompiledProfile>;
  readonly defaultProfile: string;
}

type Json = Record<string, unknown>;

const TOP_LEVEL_KEYS = new Set(['profiles', 'defaultProfile']);
const PROFILE_KEYS = new Set(['name', 'filters', 'scorers', 'picker']);
const PLUGIN_KEYS = new Set(['type', 'params']);
const SCORER_KEYS = new Set(['type', 'params', 'weight', 'name']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Compiler {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly options: SchedulerOptions) {}

  fail(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  unknownKeys(value: Json, allowed: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(value)) {
      if (!allowed.has(key)) {
        this.fail(path ? `${path}.${key}` : key, `unknown field (known: ${[...allowed].join(', ')})`);
      }
    }
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(path, 'must be a list');
      return [];
    }
    return value;
  }

  plugin<K extends PluginKind>(
    kind: K,
    value: unknown,
    path: string,
    allowedKeys: ReadonlySet<string>,
  ): { definition: PluginDefinition; instance: PluginOf<K> } | undefined {
    if (!isObject(value)) {
      this.fail(path, `must be a mapping with a "type" (one of: ${pluginTypes(kind).join(', ')})`);
      return undefined;
    }
    this.unknownKeys(value, allowedKeys, path);
    if (typeof value.type !== 'string' || value.type === '') {
      this.fail(`${path}.type`, `is required: one of ${pluginTypes(kind).join(', ')}`);
      return undefined;
    }
    const definition = lookupPlugin(kind, value.type);
    if (definition === undefined) {
      this.fail(`${path}.type`, `unknown ${kind} "${value.type}" (known: ${pluginTypes(kind).join(', ')})`);
      return undefined;
    }
    let raw = value.params;
    if (kind === 'picker' && this.options.seed !== undefined && 'seed' in definition.params) {
      if (raw === undefined || raw === null) raw = { seed: this.options.seed };
      else if (isObject(raw) && raw.seed === undefined) raw = { ...raw, seed: this.options.seed };
    }
    const before = this.problems.length;
    const params = resolveParams(definition.params, raw, `${path}.params`, this.problems);
    if (this.problems.length > before) return undefined;
    return { definition, instance: definition.create(params) as PluginOf<K> };
  }

  profile(value: unknown, path: string): CompiledProfile | undefined {
    if (!isObject(value)) {
      this.fail(path, 'must be a mapping with name, filters, scorers and picker');
      return undefined;
    }
    this.unknownKeys(value, PROFILE_KEYS, path);
    const name = value.name;
    if (typeof name !== 'string' || name === '')
      this.fail(`${path}.name`, 'is required (a non-empty string)');

    // The subset hint is a protocol obligation, not a policy: always first, whether or not it is listed.
    const subset = lookupPlugin('filter', 'subset')!;
    const filters: Filter[] = [subset.create({}) as Filter];
    const filterNames = ['subset'];
    this.list(value.filters, `${path}.filters`).forEach((entry, i) => {
      const built = this.plugin('filter', entry, `${path}.filters[${i}]`, PLUGIN_KEYS);
      if (built === undefined || built.definition === subset) return;
      filters.push(built.instance);
      filterNames.push(built.definition.type);
    });

    const scorers: Scorer[] = [];
    const scorerNames: string[] = [];
    const weights: number[] = [];
    this.list(value.scorers, `${path}.scorers`).forEach((entry, i) => {
      const at = `${path}.scorers[${i}]`;
      const built = this.plugin('scorer', entry, at, SCORER_KEYS);
      if (built === undefined) return;
      const config = entry as Json;
      const weight = config.weight ?? 1;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        this.fail(`${at}.weight`, `must be a finite number >= 0, got ${JSON.stringify(config.weight)}`);
        return;
      }
      const scorerName = config.name ?? built.definition.type;
      if (typeof scorerName !== 'string' || scorerName === '' || scorerName === 'total') {
        this.fail(`${at}.name`, 'must be a non-empty string other than "total"');
        return;
      }
      if (scorerNames.includes(scorerName)) {
        this.fail(
          `${at}.name`,
          `"${scorerName}" is already a scorer of this profile; give this one a distinct name`,
        );
        return;
      }
      scorers.push(built.instance);
      scorerNames.push(scorerName);
      weights.push(weight);
    });

    const pickerEntry = value.picker ?? { type: 'max-score' };
    const picker = this.plugin('picker', pickerEntry, `${path}.picker`, PLUGIN_KEYS)?.instance;

    if (typeof name !== 'string' || name === '' || picker === undefined) return undefined;
    const plugins: readonly object[] = [...filters, ...scorers, picker];
    return {
      name,
      filters,
      filterNames,
      scorers,
      scorerNames,
      weights,
      picker,
      observers: plugins.filter((p): p is PickObserver => typeof (p as PickObserver).onPicked === 'function'),
      forgetters: plugins.filter(
        (p): p is PodForgetter => typeof (p as PodForgetter).forgetPod === 'function',
      ),
    };
  }

  config(value: unknown): CompiledConfig | undefined {
    if (!isObject(value)) {
      this.fail('', 'the scheduling configuration must be a mapping with "profiles" (and "defaultProfile")');
      return undefined;
    }
    this.unknownKeys(value, TOP_LEVEL_KEYS, '');
    const entries = this.list(value.profiles, 'profiles');
    if (entries.length === 0 && Array.isArray(value.profiles))
      this.fail('profiles', 'must list at least one profile');
    if (value.profiles === undefined || value.profiles === null) this.fail('profiles', 'is required');

    const profiles = new Map<string, CompiledProfile>();
    entries.forEach((entry, i) => {
      const profile = this.profile(entry, `profiles[${i}]`);
      if (profile === undefined) return;
      if (profiles.has(profile.name))
        this.fail(`profiles[${i}].name`, `duplicate profile name "${profile.name}"`);
      else profiles.set(profile.name, profile);
    });

    let defaultProfile = value.defaultProfile;
    if (defaultProfile === undefined || defaultProfile === null) {
      if (entries.length > 1) this.fail('defaultProfile', 'is required when there is more than one profile');
      const only = entries[0];
      defaultProfile = isObject(only) ? only.name : undefined;
    } else if (typeof defaultProfile !== 'string') {
      this.fail('defaultProfile', 'must be a string naming one of the profiles');
    } else if (!entries.some((e) => isObject(e) && e.name === defaultProfile)) {
      const names = entries.map((e) => (isObject(e) ? String(e.name) : '?')).join(', ');
      this.fail('defaultProfile', `no profile named "${defaultProfile}" (profiles: ${names})`);
    }

    if (this.problems.length > 0 || typeof defaultProfile !== 'string') return undefined;
    return { profiles, defaultProfile };
  }
}

/** Validates `value` (a parsed config of any provenance) and builds its plugins, or throws every problem. */
export function compileSchedulerConfig(value: unknown, options: SchedulerOptions = {}): CompiledConfig {
  const compiler = new Compiler(options);
  const compiled = compiler.config(value);
  if (compiled === undefined || compiler.problems.length > 0)
    throw new SchedulingConfigError(compiler.problems);
  return compiled;
}

/** Parses YAML text into a config value (not yet validated: pass it to the Scheduler or the compiler). */
export function parseSchedulerConfigYaml(text: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true, merge: false });
  if (document.errors.length > 0) {
    throw new SchedulingConfigError(
      document.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })),
    );
  }
  return document.toJS({ maxAliasCount: 100 });
}
