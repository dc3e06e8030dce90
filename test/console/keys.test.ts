/**
 * The console's API keys over real HTTP, in file mode on a temporary copy of examples/local.yaml: the
 * list and detail never carry a secret; a new key's secret is generated, written to the file as a
 * Secret, returned once, and authenticates once the hot reload applied it; enable/disable edits the
 * APIKey in place.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, call, startWriteHarness, type WriteHarness } from './write-harness.ts';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

describe('console API keys (file mode)', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  const api = (p: string, method = 'GET', json?: unknown) =>
    call(`${h.url}/api/v1${p}`, method, { headers: bearer(), ...(json !== undefined ? { json } : {}) });

  it('lists the keys with attributes, RouteConfig and state, and no secret', async () => {
    const answer = await api('/keys');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      {
        name: 'retired',
        namespace: 'default',
        enabled: false,
        attributes: {},
        routeConfig: 'default',
        backends: [],
      },
      {
        name: 'team-a',
        namespace: 'default',
        enabled: true,
        attributes: { tenant: 'team-a', residency: 'eu' },
        routeConfig: 'default',
        backends: [],
      },
      {
        name: 'team-b',
        namespace: 'default',
        enabled: true,
        attributes: { tenant: 'team-b', residency: 'us' },
        routeConfig: 'default',
        backends: [],
      },
    ]);
    expect(answer.text).not.toMatch(/sk-agent-router|gateway-keys|secretRef/);
    const one = await api('/keys/team-a');
    expect(one.body).toEqual({ key: answer.body.data[1] });
    expect((await api('/keys/nobody')).status).toBe(404);
  });

  it('creates a key: the secret is returned once, stored as a Secret in the file, and works after the reload', async () => {
    const before = h.text();
    const created = await api('/keys', 'POST', {
      name: 'team-c',
      routeConfig: 'default',
      attributes: { tenant: 'team-c' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.key).toEqual({
      name: 'team-c',
      namespace: 'default',
      enabled: true,
      attributes: { tenant: 'team-c' },
      routeConfig: 'default',
      backends: [],
    });
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^sk-ar-[A-Za-z0-9_-]{32}$/);
    const text = h.text();
    expect(text.startsWith(before)).toBe(true);
    expect(text.slice(before.length)).toContain('kind: Secret');
    expect(text.slice(before.length)).toContain(secret);
    await h.applied((s) => s.keysByHash.has(sha256Hex(secret)));
    const key = h.config.current.keysByHash.get(sha256Hex(secret))!;
    expect(key.id).toBe('default/team-c');
    expect(key.attributes).toEqual({ tenant: 'team-c' });
    // Never again: not in the list, not in the detail.
    for (const p of ['/keys', '/keys/team-c']) expect((await api(p)).text).not.toContain(secret);
    // Two creations never share a secret.
    const other = await api('/keys', 'POST', { name: 'team-d', routeConfig: 'default' });
    expect(other.body.secret).not.toBe(secret);
  });

  it('refuses a name in use, an unknown RouteConfig and a bad name, writing nothing', async () => {
    const before = h.text();
    const taken = await api('/keys', 'POST', { name: 'team-a', routeConfig: 'default' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('already_exists');
    const unknown = await api('/keys', 'POST', { name: 'team-x', routeConfig: 'nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('routeconfig_not_found');
    const bad = await api('/keys', 'POST', { name: 'Team X', routeConfig: 'default' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('name');
    const extra = await api('/keys', 'POST', { name: 'team-y', routeConfig: 'default', secret: 'mine' });
    expect(extra.status).toBe(400);
    expect(h.text()).toBe(before);
  });

  it('disables and enables a key in place, and the running configuration follows', async () => {
    const before = h.text();
    const off = await api('/keys/team-b', 'PATCH', { enabled: false });
    expect(off.status, off.text).toBe(200);
    expect(off.body.key).toMatchObject({ name: 'team-b', enabled: false });
    await h.applied((s) => s.keysById.get('default/team-b')?.disabled === true);
    const lines = h.text().split('\n');
    const at = lines.indexOf('metadata: { name: team-b }');
    expect(lines.slice(at, at + 6)).toEqual([
      'metadata: { name: team-b }',
      'spec:',
      '  secretRef: { name: gateway-keys, key: team-b }',
      '  routeConfigRef: { name: default }',
      '  attributes: { tenant: team-b, residency: us }',
      '  disabled: true',
    ]);
    const on = await api('/keys/team-b', 'PATCH', { enabled: true });
    expect(on.body.key.enabled).toBe(true);
    await h.applied((s) => s.keysById.get('default/team-b')?.disabled === false);
    expect(h.text()).toBe(before);
    expect((await api('/keys/team-b', 'PATCH', { enabled: 'yes' })).status).toBe(400);
  });
});
