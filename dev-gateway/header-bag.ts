/**
 * Request or response headers as the gateway holds them between filters: lower-case names, pseudo
 * headers included, and Envoy's rules for what an ext_proc mutation may touch.
 */
import type { HeaderMap, HeaderMutation } from '../protos/ext-proc-messages.ts';

/** Envoy ignores ext_proc attempts to set these (external_processor.proto, HeaderMutation.set_headers). */
const IMMUTABLE = new Set([':method', ':authority', ':scheme', 'host']);

/** Connection-level headers a proxy never forwards (RFC 9110 §7.6.1). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

export class HeaderBag {
  readonly values = new Map<string, string[]>();

  static from(entries: Iterable<readonly [string, string | string[] | undefined]>): HeaderBag {
    const bag = new HeaderBag();
    for (const [name, value] of entries) {
      if (value === undefined) continue;
      bag.values.set(name.toLowerCase(), Array.isArray(value) ? [...value] : [value]);
    }
    return bag;
  }

  get(name: string): string | undefined {
    return this.values.get(name)?.join(', ');
  }

  set(name: string, value: string): void {
    this.values.set(name, [value]);
  }

  delete(name: string): void {
    this.values.delete(name);
  }

  clone(): HeaderBag {
    const copy = new HeaderBag();
    for (const [k, v] of this.values) copy.values.set(k, [...v]);
    return copy;
  }

  /** As Envoy sends them to ext_proc: one entry per value, value in `raw_value`. */
  toHeaderMap(): HeaderMap {
    const headers = [];
    for (const [key, values] of this.values)
      for (const v of values) headers.push({ key, raw_value: Buffer.from(v) });
    return { headers };
  }

  /** Plain headers for node:http, without pseudo headers and hop-by-hop headers. */
  toHttp(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, v] of this.values) if (!k.startsWith(':') && !HOP_BY_HOP.has(k)) out[k] = v;
    return out;
  }

  /**
   * Applies an ext_proc HeaderMutation with Envoy's semantics: removals first, then sets
   * (source/extensions/filters/http/ext_proc/mutation_utils.cc, applyHeaderMutations).
   */
  apply(mutation: HeaderMutation | undefined): void {
    if (!mutation) return;
    for (const name of mutation.remove_headers ?? []) {
      const key = name.toLowerCase();
      if (key.startsWith(':') || key === 'host') continue;
      this.values.delete(key);
    }
    for (const option of mutation.set_headers ?? []) {
      const key = option.header.key.toLowerCase();
      if (IMMUTABLE.has(key) || key.startsWith('x-envoy-')) continue;
      const value = option.header.raw_value?.length
        ? option.header.raw_value.toString('utf8')
        : (option.header.value ?? '');
      const existing = this.values.get(key);
      // HeaderValueOption.append_action (envoy/config/core/v3/base.proto); unset means APPEND_IF_EXISTS_OR_ADD.
      switch (option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD') {
        case 'APPEND_IF_EXISTS_OR_ADD':
          if (existing) existing.push(value);
          else this.values.set(key, [value]);
          break;
        case 'ADD_IF_ABSENT':
          if (!existing) this.values.set(key, [value]);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          this.values.set(key, [value]);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (existing) this.values.set(key, [value]);
          break;
      }
    }
  }
}
