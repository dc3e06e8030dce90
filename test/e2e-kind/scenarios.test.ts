/**
 * Lockstep between the local acceptance tests and the kind suite: every scenario in e2e-kind/scenarios.ts
 * names a test that exists, with that exact title, in its local test file; and the kind suite runs every
 * scenario once.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../e2e-kind/scenarios.ts';

describe('acceptance scenarios shared by the local stack and the kind suite', () => {
  it.each(SCENARIOS.map((s) => [s.id, s]))('%s is a local test of the same title', (_id, scenario) => {
    const source = readFileSync(scenario.localFile, 'utf8');
    expect(source).toContain(`it('${scenario.title}'`);
  });

  it('has unique ids and titles, and covers the local-stack acceptance file', () => {
    expect(new Set(SCENARIOS.map((s) => s.id)).size).toBe(SCENARIOS.length);
    expect(new Set(SCENARIOS.map((s) => s.title)).size).toBe(SCENARIOS.length);
    const local = readFileSync('test/integration/local-stack.test.ts', 'utf8');
    const localTitles = [...local.matchAll(/\bit\('([^']+)'/g)].map((m) => m[1]);
    expect(localTitles.filter((t) => !SCENARIOS.some((s) => s.title === t))).toEqual([]);
  });

  it('runs every scenario exactly once in the kind suite, by id', () => {
    const suite = readFileSync('e2e-kind/acceptance.e2e.ts', 'utf8');
    const used = [...suite.matchAll(/\bit\(title\('([^']+)'\)/g)].map((m) => m[1]).sort();
    expect(used).toEqual(SCENARIOS.map((s) => s.id).sort());
  });
});
