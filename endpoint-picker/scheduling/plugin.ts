/**
 * What a plugin file exports to the registry: its kind, its type name (the `type` used in config), its
 * parameter schema, and a factory from resolved parameters. Each plugin file also exports a typed factory
 * for code that builds plugins directly (tests, benchmarks).
 */
import type { Resolved, Schema } from './params.ts';
import type { Filter, Picker, Scorer } from './types.ts';

export type PluginKind = 'filter' | 'scorer' | 'picker';

export type PluginOf<K extends PluginKind> = K extends 'filter'
  ? Filter
  : K extends 'scorer'
    ? Scorer
    : Picker;

export interface PluginDefinition<K extends PluginKind = PluginKind, S extends Schema = Schema> {
  readonly kind: K;
  readonly type: string;
  readonly params: S;
  /** Called once per profile at configuration time; the instance may keep state (counters, indexes). */
  create(params: Resolved<S>): PluginOf<K>;
}
