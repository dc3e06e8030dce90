/**
 * A stand-in for Google's OAuth 2.0 token endpoint on loopback (developers.google.com/identity/protocols/oauth2/service-account#httprest):
 * it checks the grant type, verifies the assertion's RS256 signature with the service account's public
 * key and its audience, records the claims, and answers {access_token, expires_in, token_type}.
 */
import { generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenServer {
  url: string;
  /** Claims of every assertion received, after its signature verified. */
  claims: Record<string, unknown>[];
  /** Holds answers until released (for the in-flight test). */
  hold(): () => void;
  /** The next answers: an OAuth error with this status, or tokens. */
  fail(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startTokenServer(publicKey: KeyObject): Promise<TokenServer> {
  const claims: Record<string, unknown>[] = [];
  let gate: Promise<void> | undefined;
  let failStatus: number | undefined;
  let url = '';
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
      return answer(400, { error: 'invalid_request', error_description: 'form body expected' });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return answer(400, { error: 'unsupported_grant_type' });
    const [header, payload, signature] = (form.get('assertion') ?? '').split('.');
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      publicKey,
      Buffer.from(signature ?? '', 'base64url'),
    );
    if (!signed) return answer(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    const jose = JSON.parse(Buffer.from(header!, 'base64url').toString()) as Record<string, unknown>;
    if (jose.alg !== 'RS256' || jose.typ !== 'JWT')
      return answer(400, { error: 'invalid_grant', error_description: 'Bad JWT header.' });
    const claim = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    if (claim.aud !== url)
      return answer(400, { error: 'invalid_grant', error_description: 'Invalid JWT audience.' });
    claims.push(claim);
    await gate;
    if (failStatus !== undefined)
      return answer(failStatus, { error: 'invalid_grant', error_description: 'Account disabled.' });
    answer(200, { access_token: `ya29.token-${claims.length}`, expires_in: 3599, token_type: 'Bearer' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    url,
    claims,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
    fail(status) {
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function serviceAccountKeys(): { privatePem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}
