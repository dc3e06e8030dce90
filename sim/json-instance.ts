/**
 * A JSON value that validates against a JSON Schema, for the simulator's tool-call arguments and
 * structured outputs: the model "answers" with the smallest instance the schema allows, built from the
 * keywords OpenAI's structured outputs and function parameters use (platform.openai.com/docs/guides/
 * structured-outputs, "Supported schemas": type (one or a list), properties and required, items,
 * enum, const, anyOf, $defs with local $ref; and the numeric, string-length and array-length bounds).
 * Strings are words from the simulator's answer, so they differ by prompt like its text does. A schema
 * it cannot satisfy gets `null`, which a validator will then refuse — a demo server, not a solver.
 */

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MAX_DEPTH = 32;

export function jsonInstance(schema: unknown, words: readonly string[]): unknown {
  const root = isObject(schema) ? schema : {};
  let word = 0;
  const nextWord = () => (words.length === 0 ? 'sim' : words[word++ % words.length]!.trim() || 'sim');

  const resolve = (s: Schema): Schema => {
    const ref = s.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return s;
    let at: unknown = root;
    for (const part of ref.slice(2).split('/'))
      at = isObject(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    return isObject(at) ? at : {};
  };

  const build = (raw: unknown, depth: number): unknown => {
    if (!isObject(raw) || depth > MAX_DEPTH) return null;
    const s = resolve(raw);
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
    const alternatives = (s.anyOf ?? s.oneOf) as unknown;
    if (Array.isArray(alternatives) && alternatives.length > 0) return build(alternatives[0], depth + 1);
    if (Array.isArray(s.allOf) && s.allOf.length > 0)
      return build(Object.assign({}, ...s.allOf.filter(isObject).map(resolve)), depth + 1);
    const types = Array.isArray(s.type) ? (s.type as unknown[]) : [s.type];
    const type = types.find((t) => t !== 'null') ?? types[0];
    switch (type) {
      case 'object':
      case undefined: {
        const properties = isObject(s.properties) ? s.properties : {};
        if (type === undefined && Object.keys(properties).length === 0 && s.items !== undefined)
          return build({ ...s, type: 'array' }, depth);
        const out: Record<string, unknown> = {};
        // Every property, not only the required ones: strict schemas require them all anyway.
        for (const [name, property] of Object.entries(properties)) out[name] = build(property, depth + 1);
        return out;
      }
      case 'array': {
        const min = typeof s.minItems === 'number' ? s.minItems : 1;
        const max = typeof s.maxItems === 'number' ? s.maxItems : Math.max(min, 1);
        const count = Math.min(Math.max(min, 1), max);
        return Array.from({ length: count }, () => build(s.items ?? {}, depth + 1));
      }
      case 'string': {
        let text = nextWord();
        const min = typeof s.minLength === 'number' ? s.minLength : 0;
        while (text.length < min) text += ` ${nextWord()}`;
        if (typeof s.maxLength === 'number') text = text.slice(0, s.maxLength);
        return text;
      }
      case 'integer':
      case 'number': {
        const low =
          typeof s.minimum === 'number'
            ? s.minimum
            : typeof s.exclusiveMinimum === 'number'
              ? s.exclusiveMinimum + 1
              : 0;
        const value = type === 'integer' ? Math.ceil(low) : low;
        return typeof s.maximum === 'number' && value > s.maximum ? s.maximum : value;
      }
      case 'boolean':
        return true;
      case 'null':
        return null;
      default:
        return null;
    }
  };

  return build(root, 0);
}
