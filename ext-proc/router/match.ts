import type { CompiledMatch, CompiledStringMatch } from '../../config/snapshot.ts';

/** Request attributes a policy can match on: headers (lower-cased names) and the calling key's attributes. */
export interface MatchInput {
  header(name: string): string | undefined;
  attributes: Readonly<Record<string, string>>;
}

function holds(condition: CompiledStringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return condition.regex ? condition.regex.test(value) : condition.exact === value;
}

/** True when every condition holds (Gateway API semantics: conditions within a match are ANDed). */
export function matches(match: CompiledMatch, input: MatchInput): boolean {
  for (const h of match.headers) if (!holds(h, input.header(h.name))) return false;
  for (const a of match.attributes) {
    // Own properties only: an attribute named "constructor" must not match Object.prototype's.
    const value = Object.hasOwn(input.attributes, a.name) ? input.attributes[a.name] : undefined;
    if (!holds(a, value)) return false;
  }
  return true;
}
