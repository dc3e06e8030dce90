/**
 * Minting Google access tokens against a token endpoint on loopback that does what Google's does: checks
 * the grant type, verifies the assertion's RS256 signature with the service account's public key and
 * its claims, and answers {access_token, expires_in, token_type}.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import {
  CLOUD_PLATFORM_SCOPE,
  GcpAccessTokens,
  type ServiceAccount,
} from '../../../ext-proc/credentials/gcp-access-token.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { serviceAccountKeys, startTokenServer, type TokenServer } from '../../helpers/google-token-server.ts';
import { refusedPort } from '../../helpers/stack.ts';

const keys = serviceAccountKeys();
let server: TokenServer;
let now: number;
const clock = () => now;

function account(
  clientEmail = 'router@demo-project.iam.gserviceaccount.com',
  tokenUri = server.url,
): ServiceAccount {
  return { type: 'GCPServiceAccount', clientEmail, privateKey: new SecretValue(keys.privatePem), tokenUri };
}

beforeAll(async () => {
  server = await startTokenServer(keys.publicKey);
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.claims.length = 0;
  server.fail(undefined);
  now = Date.UTC(2025, 6, 1, 9, 0, 0);
});

/** The key's base64 body, in slices: none may appear in an error. */
function keyFragments(): string[] {
  const body = keys.privatePem.replace(/-----[A-Z ]+-----|\s/g, '');
  return [body.slice(0, 24), body.slice(400, 424), body.slice(-24)];
}

describe('Google access tokens for a service account', () => {
  it('mints a token with an RS256 JWT assertion whose signature and claims the endpoint verifies', async () => {
    const tokens = new GcpAccessTokens({ clock });
    await expect(tokens.token(account())).resolves.toBe('ya29.token-1');
    const iat = Math.floor(now / 1000);
    expect(server.claims).toEqual([
      {
        iss: 'router@demo-project.iam.gserviceaccount.com',
        scope: CLOUD_PLATFORM_SCOPE,
        aud: server.url,
        iat,
        exp: iat + 3600,
      },
    ]);
  });

  it('reuses the cached token until shortly before it expires, then mints a new one', async () => {
    const tokens = new GcpAccessTokens({ clock });
    expect(await tokens.token(account())).toBe('ya29.token-1');
    const minted = now;
    // 3599 s lifetime, refreshed 5 minutes early: still cached one second before that.
    now = minted + (3599 - 300 - 1) * 1000;
    expect(await tokens.token(account())).toBe('ya29.token-1');
    expect(server.claims).toHaveLength(1);
    now = minted + (3599 - 300) * 1000;
    expect(await tokens.token(account())).toBe('ya29.token-2');
    expect(server.claims).toHaveLength(2);
    expect(server.claims[1]!.iat).toBe(Math.floor(now / 1000));
  });

  it('lets concurrent callers share one fetch', async () => {
    const tokens = new GcpAccessTokens({ clock });
    const release = server.hold();
    const waiting = Array.from({ length: 5 }, () => tokens.token(account()));
    await expect.poll(() => server.claims.length).toBe(1);
    release();
    expect(await Promise.all(waiting)).toEqual(Array(5).fill('ya29.token-1'));
    expect(server.claims).toHaveLength(1);
  });

  it('caches per service account', async () => {
    const tokens = new GcpAccessTokens({ clock });
    const [a, b] = await Promise.all([
      tokens.token(account('a@demo-project.iam.gserviceaccount.com')),
      tokens.token(account('b@demo-project.iam.gserviceaccount.com')),
    ]);
    expect(a).not.toBe(b);
    expect(server.claims.map((c) => c.iss).sort()).toEqual([
      'a@demo-project.iam.gserviceaccount.com',
      'b@demo-project.iam.gserviceaccount.com',
    ]);
  });

  it('reports a refused assertion as a 502 that names the account and never the key', async () => {
    const tokens = new GcpAccessTokens({ clock });
    server.fail(400);
    const error = (await tokens.token(account()).catch((e: unknown) => e)) as AgentRouterError;
    expect(error).toBeInstanceOf(AgentRouterError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('gcp_token_rejected');
    expect(error.message).toContain('router@demo-project.iam.gserviceaccount.com');
    expect(error.message).toContain('invalid_grant: Account disabled.');
    for (const fragment of keyFragments()) expect(error.message).not.toContain(fragment);
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('never passes on the signed assertion when a token endpoint quotes it back', async () => {
    let assertion = '';
    const tokens = new GcpAccessTokens({
      clock,
      fetch: async (_url, init) => {
        assertion = new URLSearchParams(String(init?.body)).get('assertion') ?? '';
        const description = `assertion ${assertion} is not valid`;
        return new Response(JSON.stringify({ error: 'invalid_grant', error_description: description }), {
          status: 400,
        });
      },
    });
    const error = (await tokens.token(account()).catch((e: unknown) => e)) as AgentRouterError;
    expect(error.code).toBe('gcp_token_rejected');
    expect(assertion.length).toBeGreaterThan(100);
    expect(error.message).toContain('invalid_grant: assertion [redacted] is not valid');
    expect(error.message).not.toContain(assertion.split('.')[2]!);
  });

  it('does not cache a failure: the next call asks again', async () => {
    const tokens = new GcpAccessTokens({ clock });
    server.fail(503);
    const error = (await tokens.token(account()).catch((e: unknown) => e)) as AgentRouterError;
    expect(error.status).toBe(503);
    server.fail(undefined);
    expect(await tokens.token(account())).toBe('ya29.token-2');
  });

  it('reports an unreachable token endpoint as a 503', async () => {
    const tokens = new GcpAccessTokens({ clock });
    const port = await refusedPort();
    const error = (await tokens
      .token(account(undefined, `http://127.0.0.1:${port}/token`))
      .catch((e: unknown) => e)) as AgentRouterError;
    expect(error).toBeInstanceOf(AgentRouterError);
    expect(error.status).toBe(503);
    expect(error.code).toBe('gcp_token_unavailable');
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('reports a private key that cannot sign without echoing it', async () => {
    const tokens = new GcpAccessTokens({ clock });
    const broken: ServiceAccount = {
      ...account(),
      privateKey: new SecretValue(
        '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
      ),
    };
    const error = (await tokens.token(broken).catch((e: unknown) => e)) as AgentRouterError;
    expect(error).toBeInstanceOf(AgentRouterError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('gcp_credentials_invalid');
    expect(error.message).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    expect(server.claims).toHaveLength(0);
  });
});
