/**
 * No secret reaches an answer, a header or a log line of the console: not the gateway keys or provider
 * keys in the configuration, not the admin token, not a session id. A new key's secret appears exactly
 * once, in the answer that created it. Drives every endpoint (successes and refusals) and greps
 * everything that came back and everything logged.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  bearer,
  type Call,
  call,
  EXAMPLE,
  startWriteHarness,
  type WriteHarness,
} from './write-harness.ts';

/** The secret values of examples/local.yaml's Secrets. */
const CONFIG_SECRETS = [
  'sk-agent-router-team-a',
  'sk-agent-router-team-b',
  'sk-agent-router-retired',
  'sim-provider-secret',
];

describe('console secrets', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows none, anywhere, but a new key’s secret once', async () => {
    for (const s of CONFIG_SECRETS) expect(readFileSync(EXAMPLE, 'utf8')).toContain(s);
    const seen: Call[] = [];
    const go = async (p: string, method = 'GET', options: Parameters<typeof call>[2] = {}) => {
      const answer = await call(`${h.url}${p}`, method, options);
      seen.push(answer);
      return answer;
    };
    const login = await go('/api/v1/session', 'POST', { json: { token: ADMIN_TOKEN } });
    const setCookie = login.headers.get('set-cookie')!;
    const sessionId = setCookie.split(';')[0]!.split('=')[1]!;
    const cookie = `agent_router_session=${sessionId}`;
    const asSession = { cookie, 'x-csrf-token': login.body.csrfToken as string };
    const created = await go('/api/v1/keys', 'POST', {
      json: { name: 'new-team', routeConfig: 'default' },
      headers: asSession,
    });
    const newSecret = created.body.secret as string;
    expect(newSecret).toMatch(/^sk-ar-/);
    const rc = (await go('/api/v1/routeconfigs/default', 'GET', { headers: { cookie } })).body;
    const badSpec = structuredClone(rc.spec);
    badSpec.routes[1].backendRef = { name: 'nowhere' };
    await go('/api/v1/keys', 'GET', { headers: { cookie } });
    await go('/api/v1/keys/new-team', 'GET', { headers: bearer() });
    await go('/api/v1/keys/team-a', 'GET', { headers: bearer() });
    await go('/api/v1/keys/team-a', 'PATCH', { json: { enabled: false }, headers: asSession });
    await go('/api/v1/keys', 'POST', {
      json: { name: 'new-team', routeConfig: 'default' },
      headers: asSession,
    });
    await go('/api/v1/routeconfigs', 'GET', { headers: { cookie } });
    await go('/api/v1/routeconfigs/default/preview', 'POST', { json: { spec: badSpec }, headers: asSession });
    await go('/api/v1/routeconfigs/default/preview', 'POST', { json: { spec: rc.spec }, headers: asSession });
    await go('/api/v1/routeconfigs/default', 'PUT', {
      json: { spec: badSpec, version: rc.version },
      headers: asSession,
    });
    await go('/api/v1/routeconfigs/default/canary', 'POST', {
      json: { logicalModel: 'summarize-model', stage: 50, version: rc.version },
      headers: asSession,
    });
    await go('/api/v1/keys', 'POST', { json: { name: 'other' }, headers: { cookie } });
    await go('/api/v1/session', 'POST', { json: { token: `${ADMIN_TOKEN}-wrong` } });
    await go('/api/v1/requests', 'GET', { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    await go('/api/v1/session', 'GET', { headers: { cookie } });
    await go('/api/v1/session', 'DELETE', { headers: asSession });
    expect(seen.filter((a) => a.status >= 400).length).toBeGreaterThan(4);

    const answers = seen.map((a) => `${[...a.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${a.text}`);
    const logs = h.logs.lines.join('\n');
    expect(h.logs.lines.filter((l) => l.includes('console_write')).length).toBe(11);
    for (const secret of [...CONFIG_SECRETS, ADMIN_TOKEN, sessionId]) {
      expect(logs, secret).not.toContain(secret);
      // The session id is in the one Set-Cookie that opened it, and nowhere else.
      const carrying = answers.filter((a) => a.includes(secret));
      expect(carrying.length, secret).toBe(secret === sessionId ? 1 : 0);
    }
    expect(logs).not.toContain(newSecret);
    expect(answers.filter((a) => a.includes(newSecret))).toEqual([expect.stringContaining('"secret"')]);
    // A session's CSRF token goes to its own page only, never to the log.
    expect(logs).not.toContain(login.body.csrfToken);
  });
});
