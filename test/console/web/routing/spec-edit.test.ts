import { describe, expect, it } from 'vitest';
import type { RouteConfigSpec } from '../../../../console/web/src/api/types.ts';
import {
  describeMatch,
  EMPTY_ENTRY,
  entryToForm,
  formToEntry,
  isActive,
  withActive,
  withEntry,
  withoutEntry,
} from '../../../../console/web/src/routing/spec-edit.ts';

const spec: RouteConfigSpec = {
  sessionHeader: 'x-session-id',
  routes: [
    { name: 'a', model: 'm', backendRef: { name: 'b1' }, weight: 95, baseline: true },
    { name: 'b', model: 'm', backendRef: { name: 'b2' }, weight: 5 },
  ],
};

describe('editing a RouteConfig spec', () => {
  it('round-trips an entry through the form, keeping the fields the form does not show', () => {
    const form = entryToForm(spec.routes[0]!);
    expect(form).toMatchObject({ name: 'a', weight: '95', priority: '', match: '' });
    const result = formToEntry({ ...form, weight: '80' }, spec.routes[0], 'spec.routes[0]');
    expect(result).toEqual({
      entry: { name: 'a', model: 'm', backendRef: { name: 'b1' }, weight: 80, baseline: true },
    });
  });

  it('reports a weight that is not a number and a match that is not JSON by field path', () => {
    const result = formToEntry(
      { ...EMPTY_ENTRY, name: 'c', model: 'm', backend: 'b', weight: 'lots', match: '{headers' },
      undefined,
      'spec.routes[2]',
    );
    expect('problems' in result && result.problems.map((p) => p.path)).toEqual([
      'spec.routes[2].weight',
      'spec.routes[2].match',
    ]);
  });

  it('clears an emptied field instead of writing an empty value', () => {
    const result = formToEntry(
      { ...entryToForm(spec.routes[1]!), weight: '', modelNameOverride: '' },
      spec.routes[1],
      'p',
    );
    expect(result).toEqual({ entry: { name: 'b', model: 'm', backendRef: { name: 'b2' } } });
  });

  it('adds past the end, replaces in place and removes, leaving the original spec untouched', () => {
    const added = withEntry(spec, 2, { name: 'c', model: 'm', backendRef: { name: 'b3' } });
    expect(added.routes.map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect(withEntry(spec, 1, { ...spec.routes[1]!, weight: 20 }).routes[1]!.weight).toBe(20);
    expect(withoutEntry(spec, 0).routes.map((r) => r.name)).toEqual(['b']);
    expect(spec.routes.map((r) => r.name)).toEqual(['a', 'b']);
    expect(added.sessionHeader).toBe('x-session-id');
  });

  it('reads an unset active as active, and the toggle writes it', () => {
    expect(isActive(spec)).toBe(true);
    expect(isActive(withActive(spec, false))).toBe(false);
    expect(withActive(spec, false).active).toBe(false);
  });

  it('describes header and key-attribute conditions in one line', () => {
    expect(
      describeMatch({
        headers: [{ name: 'x-data-class', value: 'regulated' }],
        attributes: [{ name: 'tier', type: 'RegularExpression', value: 'gold|platinum' }],
      }),
    ).toBe('header x-data-class = regulated and key attribute tier ~ gold|platinum');
    expect(describeMatch(undefined)).toBe('—');
  });
});
