/**
 * The audit log: every write attempt on the console API — accepted or refused, by any caller — is one
 * `console_write` line naming the actor (never by a token or cookie value), the action, the target and
 * the outcome. Read from the real logger's output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, bearer, call, startWriteHarness, type WriteHarness } from './write-harness.ts';

describe('console audit log', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const auditLines = () => h.logs.records().filter((r) => r.event === 'console_write');
  /** The audit lines the requests in `run` wrote (they are written before the answer is sent). */
  const during = async (run: () => Promise<unknown>) => {
    const start = auditLines().length;
    await run();
    return auditLines().slice(start);
  };

  it('writes one line per accepted write, with the action, target and what changed', async () => {
    const rc = (await call(`${h.url}/api/v1/routeconfigs/default`, 'GET', { headers: bearer() })).body;
    const lines = await during(async () => {
      await call(`${h.url}/api/v1/routeconfigs/default/canary`, 'POST', {
        json: { logicalModel: 'summarize-model', stage: 20, version: rc.version },
        headers: bearer(),
      });
      await call(`${h.url}/api/v1/keys/team-b`, 'PATCH', { json: { enabled: false }, headers: bearer() });
    });
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'console_write',
        actor: 'admin-token',
        action: 'routeconfig.canary',
        target: 'RouteConfig/default',
        outcome: 'accepted',
        status: 200,
        detail: 'summarize-model: summarize-stable 80 / summarize-canary 20',
      }),
      expect.objectContaining({
        actor: 'admin-token',
        action: 'key.update',
        target: 'APIKey/team-b',
        outcome: 'accepted',
        detail: 'disabled',
      }),
    ]);
  });

  it('writes one line per refused write too: no credentials, a bad CSRF token, a stale version, an invalid spec', async () => {
    const rc = (await call(`${h.url}/api/v1/routeconfigs/default`, 'GET', { headers: bearer() })).body;
    const login = await call(`${h.url}/api/v1/session`, 'POST', { json: { token: ADMIN_TOKEN } });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const badSpec = structuredClone(rc.spec);
    badSpec.routes[0].model = '';
    const lines = await during(async () => {
      await call(`${h.url}/api/v1/keys`, 'POST', { json: { name: 'x', routeConfig: 'default' } });
      await call(`${h.url}/api/v1/keys/team-a`, 'PATCH', { json: { enabled: false }, headers: { cookie } });
      await call(`${h.url}/api/v1/routeconfigs/default`, 'PUT', {
        json: { spec: rc.spec, version: 'stale' },
        headers: { cookie, 'x-csrf-token': login.body.csrfToken },
      });
      await call(`${h.url}/api/v1/routeconfigs/default`, 'PUT', {
        json: { spec: badSpec, version: rc.version },
        headers: bearer(),
      });
      await call(`${h.url}/api/v1/session`, 'POST', { json: { token: 'guess' } });
    });
    const sessionActor = auditLines().find(
      (l) => l.action === 'session.open' && l.outcome === 'accepted',
    )?.actor;
    expect(sessionActor).toMatch(/^session:[0-9a-f]{8}$/);
    expect(lines.map((l) => [l.actor, l.action, l.outcome, l.status, l.code])).toEqual([
      ['anonymous', 'POST /api/v1/keys', 'refused', 401, 'missing_admin_token'],
      [sessionActor, 'PATCH /api/v1/keys/team-a', 'refused', 403, 'csrf_token_invalid'],
      [sessionActor, 'routeconfig.update', 'refused', 409, 'version_conflict'],
      ['admin-token', 'routeconfig.update', 'refused', 422, 'invalid_config'],
      ['anonymous', 'session.open', 'refused', 401, 'invalid_admin_token'],
    ]);
  });

  it('writes no line for reads', async () => {
    const lines = await during(async () => {
      await call(`${h.url}/api/v1/keys`, 'GET', { headers: bearer() });
      await call(`${h.url}/api/v1/session`, 'GET');
      await call(`${h.url}/api/v1/routeconfigs/default`, 'GET', { headers: bearer() });
    });
    expect(lines).toEqual([]);
  });
});
