/**
 * MCP session ids: what the gateway hands the client in `Mcp-Session-Id` (MCP spec 2025-11-25, Basic
 * › Transports › Streamable HTTP › Session Management) so that one client session maps to one upstream
 * session per MCP server. Stateless — the id carries every server's upstream session id and the
 * protocol version and capabilities it negotiated — so any replica holding the same key secret decodes
 * it, and a restart loses nothing.
 *
 * Opaque and bound:
 * - AES-256-GCM, a random 96-bit nonce per id (NIST SP 800-38D §8.2.2), so neither server names nor
 *   upstream ids are visible, and any change to the bytes fails the tag.
 * - The additional authenticated data names the RouteConfig and a SHA-256 of the gateway key that
 *   opened the session (never the key itself). An id presented with another key, with none, or on
 *   another RouteConfig fails to decrypt: it is an unknown session, which the spec answers with
 *   HTTP 404 ("The server MAY terminate the session at any time, after which it MUST respond to
 *   requests containing that session ID with HTTP 404 Not Found").
 * - The key is derived once per key version with HKDF-SHA256 (RFC 5869) when the keyring is built,
 *   never per request (unlike a PBKDF2 per id, which costs tens of ms), and the key version travels in
 *   the id: the current key encrypts, the current and the previous decrypt, so a key rotates without
 *   ending live sessions.
 *
 * Wire format, base64url (RFC 4648 §5, no padding — visible ASCII as the spec requires of session ids):
 *   [format 0x01][key version 0..255][nonce 12][ciphertext …][GCM tag 16]
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

const FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2 + NONCE_BYTES;
/**
 * Longest id accepted or issued. Ids travel in a header on every request; Envoy's default header limit
 * is 60 KiB for all headers together (`max_request_headers_kb`), so one id stays far below it.
 */
export const MAX_SESSION_ID_CHARS = 4096;
const MAX_ID_BYTES = Math.floor((MAX_SESSION_ID_CHARS * 3) / 4);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const HKDF_SALT = Buffer.from('agent-router/mcp-session-id', 'utf8');

/** What one MCP server agreed to in `initialize`, and the session it opened (if it uses sessions). */
export interface UpstreamSession {
  /** The server's name in the RouteConfig's MCP set. */
  server: string;
  /** The server's `Mcp-Session-Id`; absent when the server runs without sessions. */
  sessionId?: string;
  /** `protocolVersion` of the server's InitializeResult, sent back as `MCP-Protocol-Version`. */
  protocolVersion: string;
  /** `capabilities` of the server's InitializeResult. */
  capabilities: Record<string, unknown>;
}

export interface GatewaySession {
  /** The protocol version negotiated with the client. */
  protocolVersion: string;
  /** Servers that initialised; a server that failed `initialize` is absent and its tools with it. */
  upstreams: readonly UpstreamSession[];
  /** Seconds since the epoch when the session opened. */
  issuedAt: number;
}

/** Who may use an id: the RouteConfig it was opened on and the key that opened it. */
export interface SessionBinding {
  routeConfigId: string;
  /** SHA-256 of the gateway key (CompiledKey.hash), or undefined for a keyless caller. */
  keyHash: Buffer | undefined;
}

export type SessionIdRejection = 'malformed' | 'too-large' | 'unknown-key-version' | 'not-authentic';

export type DecodeResult = { ok: true; session: GatewaySession } | { ok: false; reason: SessionIdRejection };

export class SessionIdTooLargeError extends Error {
  readonly code = 'mcp_session_id_too_large';
  constructor(bytes: number) {
    super(
      `The MCP session would need a ${bytes}-byte id, above the ${MAX_SESSION_ID_CHARS}-character limit; expose fewer MCP servers on this route.`,
    );
    this.name = 'SessionIdTooLargeError';
  }
}

export interface KeySecret {
  /** 0..255; carried in every id. */
  version: number;
  /** The secret the AES key is derived from (a Secret's value); at least 32 bytes. */
  secret: string | Buffer;
}

interface DerivedKey {
  version: number;
  /**
   * A KeyObject made once: given raw key bytes, createDecipheriv imports the key on every call, which
   * costs about three times the decryption itself (34 µs against 10 µs per id on this machine).
   */
  key: KeyObject;
  /** HMAC key for synthetic nonces of deterministic tokens (see sealBytes). */
  nonceKey: KeyObject;
}

/** The AES key for one version: HKDF-SHA256, the version in `info` so versions never share a key. */
function deriveKey(secret: KeySecret): DerivedKey {
  if (!Number.isInteger(secret.version) || secret.version < 0 || secret.version > 255)
    throw new RangeError(`MCP session key version must be an integer 0..255, got ${secret.version}`);
  const material = typeof secret.secret === 'string' ? Buffer.from(secret.secret, 'utf8') : secret.secret;
  if (material.length < 32)
    throw new RangeError(
      `MCP session key secret (version ${secret.version}) must be at least 32 bytes, got ${material.length}`,
    );
  const info = Buffer.from(`aes-256-gcm v${secret.version}`, 'utf8');
  return {
    version: secret.version,
    key: createSecretKey(Buffer.from(hkdfSync('sha256', material, HKDF_SALT, info, 32))),
    nonceKey: createSecretKey(
      Buffer.from(hkdfSync('sha256', material, HKDF_SALT, `synthetic nonce v${secret.version}`, 32)),
    ),
  };
}

const ANONYMOUS = Buffer.from('anonymous', 'utf8');

function additionalData(binding: SessionBinding): Buffer {
  // Length-prefixed fields, so no choice of names makes two bindings encode alike.
  const route = Buffer.from(binding.routeConfigId, 'utf8');
  const key = binding.keyHash ?? ANONYMOUS;
  const out = Buffer.allocUnsafe(2 + route.length + 2 + key.length);
  out.writeUInt16BE(route.length, 0);
  route.copy(out, 2);
  out.writeUInt16BE(key.length, 2 + route.length);
  key.copy(out, 4 + route.length);
  return out;
}

/** Compact JSON: short keys, since the id rides on every request. */
interface WirePayload {
  v: string;
  t: number;
  u: { n: string; s?: string; p: string; c: Record<string, unknown> }[];
}

function toWire(session: GatewaySession): WirePayload {
  return {
    v: session.protocolVersion,
    t: session.issuedAt,
    u: session.upstreams.map((u) =>
      u.sessionId === undefined
        ? { n: u.server, p: u.protocolVersion, c: u.capabilities }
        : { n: u.server, s: u.sessionId, p: u.protocolVersion, c: u.capabilities },
    ),
  };
}

function fromWire(value: unknown): GatewaySession | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const wire = value as Partial<WirePayload>;
  if (typeof wire.v !== 'string' || typeof wire.t !== 'number' || !Array.isArray(wire.u)) return undefined;
  const upstreams: UpstreamSession[] = [];
  for (const u of wire.u) {
    if (typeof u?.n !== 'string' || typeof u.p !== 'string' || typeof u.c !== 'object' || u.c === null)
      return undefined;
    if (u.s !== undefined && typeof u.s !== 'string') return undefined;
    upstreams.push(
      u.s === undefined
        ? { server: u.n, protocolVersion: u.p, capabilities: u.c }
        : { server: u.n, sessionId: u.s, protocolVersion: u.p, capabilities: u.c },
    );
  }
  return { protocolVersion: wire.v, issuedAt: wire.t, upstreams };
}

/**
 * Encrypts and decrypts session ids. Built once per configuration load from the key secrets; holds the
 * derived keys only.
 */
export class SessionIdCodec {
  private readonly current: DerivedKey;
  private readonly byVersion: ReadonlyMap<number, DerivedKey>;

  constructor(current: KeySecret, previous?: KeySecret) {
    this.current = deriveKey(current);
    const byVersion = new Map<number, DerivedKey>([[this.current.version, this.current]]);
    if (previous) {
      if (previous.version === current.version)
        throw new RangeError(`MCP session key versions must differ, both are ${current.version}`);
      byVersion.set(previous.version, deriveKey(previous));
    }
    this.byVersion = byVersion;
  }

  get currentVersion(): number {
    return this.current.version;
  }

  encode(session: GatewaySession, binding: SessionBinding): string {
    return this.sealBytes(Buffer.from(JSON.stringify(toWire(session)), 'utf8'), additionalData(binding));
  }

  decode(id: string, binding: SessionBinding): DecodeResult {
    const plain = this.openBytes(id, additionalData(binding));
    if (typeof plain === 'string') return { ok: false, reason: plain };
    let parsed: unknown;
    try {
      parsed = JSON.parse(plain.toString('utf8'));
    } catch {
      // Authentic but unreadable: only a codec bug produces it, still an unknown session to the client.
      return { ok: false, reason: 'malformed' };
    }
    const session = fromWire(parsed);
    return session ? { ok: true, session } : { ok: false, reason: 'malformed' };
  }

  /**
   * AES-256-GCM under the current key; `[format][version][nonce][ciphertext][tag]`, base64url.
   * `deterministic`: the nonce is an HMAC of the data instead of random (the SIV idea, RFC 5297 §1.3),
   * so equal inputs seal to equal tokens — needed where the gateway must produce the same token twice
   * without keeping state (a server request id, then the server's cancellation naming it). It reveals
   * only that two tokens are equal; distinct inputs never share a nonce.
   */
  sealBytes(plain: Buffer, aad: Buffer, deterministic = false): string {
    const total = HEADER_BYTES + plain.length + TAG_BYTES;
    if (total > MAX_ID_BYTES) throw new SessionIdTooLargeError(total);
    const out = Buffer.allocUnsafe(total);
    out[0] = FORMAT;
    out[1] = this.current.version;
    const nonce = deterministic
      ? createHmac('sha256', this.current.nonceKey)
          .update(aad)
          .update(plain)
          .digest()
          .subarray(0, NONCE_BYTES)
      : randomBytes(NONCE_BYTES);
    nonce.copy(out, 2);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const written = cipher.update(plain).copy(out, HEADER_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER_BYTES + written);
    return out.toString('base64url');
  }

  /** The plaintext, or why the token was refused. */
  openBytes(token: string, aad: Buffer): Buffer | SessionIdRejection {
    if (token.length > MAX_SESSION_ID_CHARS) return 'too-large';
    if (!BASE64URL.test(token)) return 'malformed';
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length < HEADER_BYTES + TAG_BYTES + 1 || bytes[0] !== FORMAT) return 'malformed';
    const key = this.byVersion.get(bytes[1]!);
    if (!key) return 'unknown-key-version';
    const nonce = bytes.subarray(2, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return 'not-authentic';
    }
  }
}

/**
 * What a sealed token is for. The purpose is authenticated data, so a token made for one use (a
 * rewritten server→client request id) never passes for another (a list cursor, an event id).
 */
export type TokenPurpose = 'request-id' | 'cursor' | 'event-id';
const PURPOSE_BYTE: Record<TokenPurpose, number> = { 'request-id': 1, cursor: 2, 'event-id': 3 };

/**
 * Tokens the gateway hands the client inside one session — rewritten server→client request ids,
 * pagination cursors, SSE event ids — sealed like the session id, under the same keys, and bound to
 * that session: the authenticated data is the purpose and a digest of the session id, which is itself
 * bound to the RouteConfig and the gateway key. A client can neither read a token (which server, which
 * upstream id) nor forge or move one to another session.
 */
export class SessionTokens {
  private readonly aad: Record<TokenPurpose, Buffer>;

  constructor(
    private readonly codec: SessionIdCodec,
    sessionId: string,
  ) {
    const digest = createHash('sha256').update(sessionId).digest();
    const make = (purpose: TokenPurpose) => Buffer.concat([Buffer.of(PURPOSE_BYTE[purpose]), digest]);
    this.aad = { 'request-id': make('request-id'), cursor: make('cursor'), 'event-id': make('event-id') };
  }

  /** Request ids seal deterministically (see SessionIdCodec.sealBytes); cursors and event ids do not. */
  seal(purpose: TokenPurpose, value: unknown): string {
    return this.codec.sealBytes(
      Buffer.from(JSON.stringify(value), 'utf8'),
      this.aad[purpose],
      purpose === 'request-id',
    );
  }

  /** The value sealed for this purpose and session, or undefined for anything else. */
  open(purpose: TokenPurpose, token: string): unknown {
    const plain = this.codec.openBytes(token, this.aad[purpose]);
    if (!plain) return undefined;
    try {
      return JSON.parse(plain.toString('utf8'));
    } catch {
      return undefined;
    }
  }
}

/** Environment variables that hold the key secrets (the chart fills them from a Secret). */
export const SESSION_KEY_ENV = 'AGENT_ROUTER_MCP_SESSION_KEY';
export const SESSION_KEY_VERSION_ENV = 'AGENT_ROUTER_MCP_SESSION_KEY_VERSION';
export const SESSION_KEY_PREVIOUS_ENV = 'AGENT_ROUTER_MCP_SESSION_KEY_PREVIOUS';

/**
 * The codec from the environment: the current secret and its version, and optionally the previous
 * secret (version − 1). Without a secret, a random one per process — never a fixed default — which is
 * right for one process only: ids then die with the process, and replicas do not share them.
 */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): {
  codec: SessionIdCodec;
  ephemeral: boolean;
} {
  const secret = env[SESSION_KEY_ENV];
  if (secret === undefined || secret === '')
    return { codec: new SessionIdCodec({ version: 0, secret: randomBytes(32) }), ephemeral: true };
  const versionText = env[SESSION_KEY_VERSION_ENV] ?? '1';
  const version = Number(versionText);
  if (!Number.isInteger(version) || version < 0 || version > 255)
    throw new RangeError(`${SESSION_KEY_VERSION_ENV} must be an integer 0..255, got ${versionText}`);
  const previous = env[SESSION_KEY_PREVIOUS_ENV];
  return {
    codec: new SessionIdCodec(
      { version, secret },
      previous ? { version: (version + 255) % 256, secret: previous } : undefined,
    ),
    ephemeral: false,
  };
}
