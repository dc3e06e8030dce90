import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  codecFromEnv,
  type GatewaySession,
  MAX_SESSION_ID_CHARS,
  SESSION_KEY_ENV,
  SESSION_KEY_PREVIOUS_ENV,
  SESSION_KEY_VERSION_ENV,
  type SessionBinding,
  SessionIdCodec,
  SessionIdTooLargeError,
} from '../../../ext-proc/mcp/session-id.ts';

const SECRET_A = 'a-key-secret-of-at-least-32-bytes-000001';
const SECRET_B = 'another-key-secret-at-least-32-bytes-0002';
const keyHash = (key: string) => createHash('sha256').update(key).digest();

const ALICE: SessionBinding = { routeConfigId: 'team-a/tools', keyHash: keyHash('sk-alice') };
const session: GatewaySession = {
  protocolVersion: '2025-11-25',
  issuedAt: 1_764_000_000,
  upstreams: [
    {
      server: 'weather-server',
      sessionId: 'upstream-session-7f3e9a',
      protocolVersion: '2025-11-25',
      capabilities: { tools: { listChanged: true } },
    },
    { server: 'calendar-server', protocolVersion: '2025-06-18', capabilities: { prompts: {} } },
  ],
};

describe('SessionIdCodec', () => {
  it('round-trips every upstream session id, protocol version and capability set', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const id = codec.encode(session, ALICE);
    expect(codec.decode(id, ALICE)).toEqual({ ok: true, session });
  });

  it('is opaque: no server name or upstream id in the id or in its base64url-decoded bytes', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const id = codec.encode(session, ALICE);
    const bytes = Buffer.from(id, 'base64url').toString('latin1');
    for (const secret of [
      'weather-server',
      'calendar-server',
      'upstream-session-7f3e9a',
      'tools',
      'team-a',
    ]) {
      expect(id).not.toContain(secret);
      expect(bytes).not.toContain(secret);
    }
    // Visible ASCII only (MCP Streamable HTTP: session ids are 0x21–0x7E).
    expect(id).toMatch(/^[\x21-\x7e]+$/);
    // A fresh nonce per id: the same session encodes differently each time.
    expect(codec.encode(session, ALICE)).not.toBe(id);
  });

  it('refuses the id under another gateway key, with no key, and on another RouteConfig', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const id = codec.encode(session, ALICE);
    expect(codec.decode(id, { ...ALICE, keyHash: keyHash('sk-mallory') })).toEqual({
      ok: false,
      reason: 'not-authentic',
    });
    expect(codec.decode(id, { ...ALICE, keyHash: undefined })).toEqual({
      ok: false,
      reason: 'not-authentic',
    });
    expect(codec.decode(id, { ...ALICE, routeConfigId: 'team-b/tools' })).toEqual({
      ok: false,
      reason: 'not-authentic',
    });
  });

  it('binds a keyless session to keyless callers only', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const keyless = { routeConfigId: 'team-a/tools', keyHash: undefined };
    const id = codec.encode(session, keyless);
    expect(codec.decode(id, keyless).ok).toBe(true);
    expect(codec.decode(id, ALICE)).toEqual({ ok: false, reason: 'not-authentic' });
  });

  it('refuses every single-bit change of the id', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const bytes = Buffer.from(codec.encode(session, ALICE), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i]! ^= 0x01;
      const result = codec.decode(tampered.toString('base64url'), ALICE);
      expect(result.ok, `byte ${i}`).toBe(false);
    }
  });

  it('refuses malformed and oversized ids as values, without throwing', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    expect(codec.decode('', ALICE)).toEqual({ ok: false, reason: 'malformed' });
    expect(codec.decode('not base64url!', ALICE)).toEqual({ ok: false, reason: 'malformed' });
    expect(codec.decode('AQE', ALICE)).toEqual({ ok: false, reason: 'malformed' });
    expect(codec.decode('A'.repeat(MAX_SESSION_ID_CHARS + 1), ALICE)).toEqual({
      ok: false,
      reason: 'too-large',
    });
  });

  it('will not issue an id above the size bound', () => {
    const codec = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const huge: GatewaySession = {
      ...session,
      upstreams: Array.from({ length: 100 }, (_, i) => ({
        server: `server-${i}`,
        sessionId: 'x'.repeat(40),
        protocolVersion: '2025-11-25',
        capabilities: { tools: { listChanged: true } },
      })),
    };
    expect(() => codec.encode(huge, ALICE)).toThrow(SessionIdTooLargeError);
  });

  it('decodes ids of the previous key after a rotation, and new ids use the new key only', () => {
    const before = new SessionIdCodec({ version: 1, secret: SECRET_A });
    const old = before.encode(session, ALICE);
    const after = new SessionIdCodec({ version: 2, secret: SECRET_B }, { version: 1, secret: SECRET_A });
    expect(after.decode(old, ALICE)).toEqual({ ok: true, session });
    const fresh = after.encode(session, ALICE);
    expect(Buffer.from(fresh, 'base64url')[1]).toBe(2);
    expect(before.decode(fresh, ALICE)).toEqual({ ok: false, reason: 'unknown-key-version' });
    // Two rotations later the first key is gone.
    const later = new SessionIdCodec(
      { version: 3, secret: SECRET_A + 'x' },
      { version: 2, secret: SECRET_B },
    );
    expect(later.decode(old, ALICE)).toEqual({ ok: false, reason: 'unknown-key-version' });
  });

  it('decodes in a second instance built from the same secret, and not from another secret', () => {
    const id = new SessionIdCodec({ version: 4, secret: SECRET_A }).encode(session, ALICE);
    expect(new SessionIdCodec({ version: 4, secret: SECRET_A }).decode(id, ALICE)).toEqual({
      ok: true,
      session,
    });
    expect(new SessionIdCodec({ version: 4, secret: SECRET_B }).decode(id, ALICE)).toEqual({
      ok: false,
      reason: 'not-authentic',
    });
  });

  it('rejects short secrets and out-of-range versions when built', () => {
    expect(() => new SessionIdCodec({ version: 1, secret: 'short' })).toThrow(/at least 32 bytes/);
    expect(() => new SessionIdCodec({ version: 256, secret: SECRET_A })).toThrow(/0\.\.255/);
    expect(
      () => new SessionIdCodec({ version: 1, secret: SECRET_A }, { version: 1, secret: SECRET_B }),
    ).toThrow(/must differ/);
  });
});

describe('codecFromEnv', () => {
  it('shares ids between processes given the same environment, previous key = version − 1', () => {
    const env = {
      [SESSION_KEY_ENV]: SECRET_B,
      [SESSION_KEY_VERSION_ENV]: '2',
      [SESSION_KEY_PREVIOUS_ENV]: SECRET_A,
    };
    const old = new SessionIdCodec({ version: 1, secret: SECRET_A }).encode(session, ALICE);
    const a = codecFromEnv(env);
    expect(a.ephemeral).toBe(false);
    expect(a.codec.decode(old, ALICE).ok).toBe(true);
    expect(codecFromEnv(env).codec.decode(a.codec.encode(session, ALICE), ALICE).ok).toBe(true);
  });

  it('draws a random key per process when no secret is set', () => {
    const a = codecFromEnv({});
    expect(a.ephemeral).toBe(true);
    expect(codecFromEnv({}).codec.decode(a.codec.encode(session, ALICE), ALICE)).toEqual({
      ok: false,
      reason: 'not-authentic',
    });
  });
});
