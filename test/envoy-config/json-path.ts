/**
 * Reading generated Envoy configuration in tests: `at(value, 'a.b[0]["key.with.dots"].c')` and
 * `named(list, 'name')`, failing with the path when something is missing.
 */

export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const [token, quoted, index, plain] of path.matchAll(/\["([^"]+)"\]|\[(\d+)\]|([^.[\]]+)/g)) {
    const key = quoted ?? (index !== undefined ? Number(index) : plain!);
    if (current === null || typeof current !== 'object' || !(key in current))
      throw new Error(`no ${token} in ${path}`);
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The element of a list whose `name` is `name`. */
export function named(list: unknown, name: string): unknown {
  if (!Array.isArray(list)) throw new Error(`not a list looking for ${name}`);
  const found = list.find((item) => (item as { name?: unknown }).name === name);
  if (found === undefined)
    throw new Error(`no "${name}" among ${list.map((i) => (i as { name?: unknown }).name).join(', ')}`);
  return found;
}

export function names(list: unknown): string[] {
  if (!Array.isArray(list)) throw new Error('not a list');
  return list.map((item) => String((item as { name?: unknown }).name));
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}
