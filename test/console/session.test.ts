/**
 * Log-in, sessions and the write checks of the console API, over real HTTP on loopback: the session
 * cookie's attributes, the CSRF token, the Origin and content-type checks, Bearer clients, the open
 * console on loopback, and --read-only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, bearer, call, startWriteHarness, type WriteHarness } from './write-harness.ts';

const enable = (enabled: boolean) => ({ json: { enabled } });

describe('console sessions and write checks', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const login = async () => {
    const answer = await call(`${h.url}/api/v1/session`, 'POST', { json: { token: ADMIN_TOKEN } });
    expect(answer.status, answer.text).toBe(200);
    const cookie = answer.headers.get('set-cookie')!;
    return {
      answer,
      cookie: cookie.split(';')[0]!,
      setCookie: cookie,
      csrf: answer.body.csrfToken as string,
    };
  };

  it('says who the caller is before log-in, without a CSRF token', async () => {
    const answer = await call(`${h.url}/api/v1/session`, 'GET');
    expect(answer.body).toEqual({
      authenticated: false,
      authRequired: true,
      readOnly: false,
      mode: 'file',
      csrfToken: '',
    });
  });

  it('logs in with the admin token: an HttpOnly, SameSite=Strict session cookie with a bounded lifetime', async () => {
    const { answer, setCookie, cookie } = await login();
    expect(setCookie).toMatch(/^agent_router_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toMatch(/Max-Age=28800/);
    expect(answer.body).toMatchObject({ authenticated: true, authRequired: true, mode: 'file' });
    expect(answer.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const state = await call(`${h.url}/api/v1/session`, 'GET', { headers: { cookie } });
    expect(state.body).toEqual(answer.body);
    // The cookie reads like the token does.
    expect((await call(`${h.url}/api/v1/requests`, 'GET', { headers: { cookie } })).status).toBe(200);
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    for (const token of ['wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(1)]) {
      const answer = await call(`${h.url}/api/v1/session`, 'POST', { json: { token } });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('invalid_admin_token');
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
  });

  it('accepts a cookie write only with the session’s CSRF token', async () => {
    const { cookie, csrf } = await login();
    const url = `${h.url}/api/v1/keys/team-b`;
    const none = await call(url, 'PATCH', { ...enable(true), headers: { cookie } });
    expect(none.status).toBe(403);
    expect(none.body.error.code).toBe('csrf_token_invalid');
    const wrong = await call(url, 'PATCH', {
      ...enable(true),
      headers: { cookie, 'x-csrf-token': `${csrf}x` },
    });
    expect(wrong.status).toBe(403);
    const other = await login();
    const crossed = await call(url, 'PATCH', {
      ...enable(true),
      headers: { cookie, 'x-csrf-token': other.csrf },
    });
    expect(crossed.status).toBe(403);
    const ok = await call(url, 'PATCH', { ...enable(true), headers: { cookie, 'x-csrf-token': csrf } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('refuses a write from another origin, or without a JSON content type, even with the token', async () => {
    const url = `${h.url}/api/v1/keys/team-b`;
    const foreign = await call(url, 'PATCH', {
      ...enable(true),
      headers: { ...bearer(), origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('origin_not_allowed');
    const form = await call(url, 'PATCH', {
      body: 'enabled=true',
      headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(403);
    expect(form.body.error.code).toBe('json_required');
    const own = await call(url, 'PATCH', { ...enable(true), headers: { ...bearer(), origin: h.url } });
    expect(own.status, own.text).toBe(200);
  });

  it('refuses a cookie-less, token-less write with 401', async () => {
    const before = h.text();
    const answer = await call(`${h.url}/api/v1/keys/team-b`, 'PATCH', enable(false));
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('missing_admin_token');
    expect(h.text()).toBe(before);
  });

  it('logs out: the session ends and its cookie no longer reads or writes', async () => {
    const { cookie, csrf } = await login();
    const out = await call(`${h.url}/api/v1/session`, 'DELETE', {
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect(out.body.authenticated).toBe(false);
    expect((await call(`${h.url}/api/v1/requests`, 'GET', { headers: { cookie } })).status).toBe(401);
    expect((await call(`${h.url}/api/v1/session`, 'GET', { headers: { cookie } })).body.authenticated).toBe(
      false,
    );
  });

  it('answers a wrong method with 405 and the methods the path takes', async () => {
    const answer = await call(`${h.url}/api/v1/routeconfigs`, 'DELETE', { headers: bearer() });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET, HEAD');
    expect(answer.body.error.code).toBe('method_not_allowed');
  });
});

describe('the open console (no admin token, loopback)', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness({ token: null });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('hands out a per-process CSRF token and takes writes only with it', async () => {
    const state = await call(`${h.url}/api/v1/session`, 'GET');
    expect(state.body).toMatchObject({ authenticated: true, authRequired: false });
    expect(state.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect((await call(`${h.url}/api/v1/session`, 'GET')).body.csrfToken).toBe(state.body.csrfToken);
    const url = `${h.url}/api/v1/keys/team-b`;
    expect((await call(url, 'PATCH', enable(false))).status).toBe(403);
    const ok = await call(url, 'PATCH', {
      ...enable(false),
      headers: { 'x-csrf-token': state.body.csrfToken },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.key.enabled).toBe(false);
  });

  it('answers only requests addressed to a loopback name (a rebound DNS name is refused)', async () => {
    const port = new URL(h.url).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch does not let a caller set Host; node:http does.
      import('node:http').then(({ request }) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/api/v1/session', headers: { host: `attacker.example:${port}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    });
    expect(rebound).toBe(403);
    expect((await call(`http://localhost:${port}/api/v1/session`, 'GET')).status).toBe(200);
  });
});

describe('the read-only console', () => {
  let h: WriteHarness;
  beforeAll(async () => {
    h = await startWriteHarness({ readOnly: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses every write with 403 read_only, leaves the file alone, and still previews', async () => {
    const before = h.text();
    const rc = await call(`${h.url}/api/v1/routeconfigs/default`, 'GET', { headers: bearer() });
    const writes: [string, string, unknown][] = [
      ['/api/v1/keys', 'POST', { name: 'new-key', routeConfig: 'default' }],
      ['/api/v1/keys/team-a', 'PATCH', { enabled: false }],
      ['/api/v1/routeconfigs/default', 'PUT', { spec: rc.body.spec, version: rc.body.version }],
      [
        '/api/v1/routeconfigs/default/canary',
        'POST',
        { logicalModel: 'summarize-model', stage: 20, version: rc.body.version },
      ],
      [
        '/api/v1/routeconfigs/default/remove-old',
        'POST',
        { logicalModel: 'summarize-model', version: rc.body.version },
      ],
    ];
    for (const [p, method, json] of writes) {
      const answer = await call(`${h.url}${p}`, method, { json, headers: bearer() });
      expect(answer.status, p).toBe(403);
      expect(answer.body.error.code).toBe('read_only');
    }
    expect(h.text()).toBe(before);
    const preview = await call(`${h.url}/api/v1/routeconfigs/default/preview`, 'POST', {
      json: { spec: rc.body.spec },
      headers: bearer(),
    });
    expect(preview.body).toMatchObject({ valid: true, diff: '' });
    expect((await call(`${h.url}/api/v1/session`, 'GET')).body.readOnly).toBe(true);
  });
});
