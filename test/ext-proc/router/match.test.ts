import { describe, expect, it } from 'vitest';
import type { RouteMatch } from '../../../config/manifests.ts';
import type { CompiledMatch } from '../../../config/snapshot.ts';
import { type MatchInput, matches } from '../../../ext-proc/router/match.ts';
import { backend, compileValid, entry, routeConfig, routeConfigOf } from '../../fixtures/config/manifests.ts';

/** Compiles one policy entry with this condition through compile() and returns its compiled match. */
function compiledMatch(match: RouteMatch): CompiledMatch {
  const snapshot = compileValid([
    backend('vllm'),
    routeConfig('policy', [entry('p', 'chat-model', 'vllm', { match })]),
  ]);
  return routeConfigOf(snapshot, 'policy').models.get('chat-model')!.policy[0]!.match!;
}

/** Request attributes as the router presents them: header lookups by lower-cased name. */
function input(headers: Record<string, string>, attributes: Record<string, string> = {}): MatchInput {
  return { header: (name) => headers[name], attributes };
}

describe('matches', () => {
  it('holds for an Exact header condition on the exact value only', () => {
    const m = compiledMatch({ headers: [{ name: 'x-data-class', value: 'regulated' }] });
    expect(matches(m, input({ 'x-data-class': 'regulated' }))).toBe(true);
    expect(matches(m, input({ 'x-data-class': 'Regulated' }))).toBe(false);
    expect(matches(m, input({ 'x-data-class': 'regulated-eu' }))).toBe(false);
    expect(matches(m, input({}))).toBe(false);
  });

  it('compares header names case-insensitively, as HTTP does', () => {
    const m = compiledMatch({ headers: [{ name: 'X-Data-Class', type: 'Exact', value: 'regulated' }] });
    expect(matches(m, input({ 'x-data-class': 'regulated' }))).toBe(true);
  });

  it('matches a RegularExpression against the whole header value', () => {
    const m = compiledMatch({
      headers: [{ name: 'x-tier', type: 'RegularExpression', value: 'gold|platinum' }],
    });
    expect(matches(m, input({ 'x-tier': 'gold' }))).toBe(true);
    expect(matches(m, input({ 'x-tier': 'platinum' }))).toBe(true);
    expect(matches(m, input({ 'x-tier': 'golden' }))).toBe(false);
    expect(matches(m, input({ 'x-tier': 'not-platinum' }))).toBe(false);
    const prefix = compiledMatch({
      headers: [{ name: 'x-model-family', type: 'RegularExpression', value: 'llama-.*' }],
    });
    expect(matches(prefix, input({ 'x-model-family': 'llama-3.1' }))).toBe(true);
    expect(matches(prefix, input({ 'x-model-family': 'codellama-7b' }))).toBe(false);
  });

  it('matches the calling key’s attributes, by exact name and value', () => {
    const m = compiledMatch({ attributes: [{ name: 'residency', value: 'eu' }] });
    expect(matches(m, input({}, { residency: 'eu' }))).toBe(true);
    expect(matches(m, input({}, { residency: 'us' }))).toBe(false);
    expect(matches(m, input({}, { Residency: 'eu' }))).toBe(false);
    expect(matches(m, input({ residency: 'eu' }, {}))).toBe(false);
  });

  it('matches attributes by RegularExpression, whole value', () => {
    const m = compiledMatch({
      attributes: [{ name: 'tenant', type: 'RegularExpression', value: 'team-[a-c]' }],
    });
    expect(matches(m, input({}, { tenant: 'team-b' }))).toBe(true);
    expect(matches(m, input({}, { tenant: 'team-bb' }))).toBe(false);
  });

  it('does not take properties inherited from Object.prototype for key attributes', () => {
    const m = compiledMatch({
      attributes: [{ name: 'constructor', type: 'RegularExpression', value: 'function.*' }],
    });
    expect(matches(m, input({}, {}))).toBe(false);
    expect(matches(m, input({}, Object.freeze({ tenant: 'team-a' })))).toBe(false);
  });

  it('requires every condition to hold (conditions are ANDed)', () => {
    const m = compiledMatch({
      headers: [
        { name: 'x-data-class', value: 'regulated' },
        { name: 'x-region', type: 'RegularExpression', value: 'eu-.+' },
      ],
      attributes: [{ name: 'tier', value: 'enterprise' }],
    });
    const headers = { 'x-data-class': 'regulated', 'x-region': 'eu-west-1' };
    expect(matches(m, input(headers, { tier: 'enterprise' }))).toBe(true);
    expect(matches(m, input(headers, { tier: 'free' }))).toBe(false);
    expect(matches(m, input({ ...headers, 'x-region': 'us-east-1' }, { tier: 'enterprise' }))).toBe(false);
    expect(matches(m, input({ 'x-region': 'eu-west-1' }, { tier: 'enterprise' }))).toBe(false);
  });

  it('gives the same answer on repeated calls (no regex state carried between requests)', () => {
    const m = compiledMatch({ headers: [{ name: 'x-tier', type: 'RegularExpression', value: 'gold' }] });
    for (let i = 0; i < 5; i++) expect(matches(m, input({ 'x-tier': 'gold' }))).toBe(true);
  });
});
