import { describe, expect, it } from 'vitest';
import type { AnyManifest } from '../../../config/manifests.ts';
import type { Snapshot } from '../../../config/snapshot.ts';
import { authenticate, presentedKey, sameDigest } from '../../../ext-proc/auth/authenticate.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import {
  apiKey,
  backend,
  compileValid,
  entry,
  routeConfig,
  secret,
} from '../../fixtures/config/manifests.ts';

const TEAM_A = 'sk-ar-team-a-4f9c2e1b';
const RETIRED = 'sk-ar-retired-77aa01';
const FROZEN = 'sk-ar-frozen-team-3c3c';
const UNKNOWN = 'sk-ar-never-issued-0000';

function snapshot(options: { keyless?: 'active' | 'inactive' | 'none' } = {}): Snapshot {
  const keyless = options.keyless ?? 'none';
  const manifests: AnyManifest[] = [
    secret('gateway-keys', { stringData: { 'team-a': TEAM_A, retired: RETIRED, frozen: FROZEN } }),
    backend('vllm'),
    routeConfig('chat', [entry('a', 'chat-model', 'vllm')]),
    routeConfig('frozen', [entry('a', 'chat-model', 'vllm')], { active: false }),
    apiKey('team-a', {
      secretRef: { name: 'gateway-keys', key: 'team-a' },
      routeConfigRef: { name: 'chat' },
      attributes: { tenant: 'team-a', residency: 'eu' },
    }),
    apiKey('retired', {
      secretRef: { name: 'gateway-keys', key: 'retired' },
      routeConfigRef: { name: 'chat' },
      disabled: true,
    }),
    apiKey('frozen', {
      secretRef: { name: 'gateway-keys', key: 'frozen' },
      routeConfigRef: { name: 'frozen' },
    }),
  ];
  if (keyless !== 'none') {
    manifests.push(
      routeConfig('public', [entry('p', 'chat-model', 'vllm')], {
        defaultForKeyless: true,
        active: keyless === 'active',
      }),
    );
  }
  return compileValid(manifests);
}

function thrown(fn: () => unknown): AgentRouterError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AgentRouterError) return error;
    throw error;
  }
  throw new Error('expected an AgentRouterError');
}

describe('presentedKey', () => {
  it('reads the key from Authorization: Bearer, whatever the scheme’s case', () => {
    expect(presentedKey(`Bearer ${TEAM_A}`, undefined)).toBe(TEAM_A);
    expect(presentedKey(`bearer ${TEAM_A}`, undefined)).toBe(TEAM_A);
    expect(presentedKey(`BEARER ${TEAM_A}`, undefined)).toBe(TEAM_A);
    expect(presentedKey(`  Bearer    ${TEAM_A}  `, undefined)).toBe(TEAM_A);
  });

  it('reads the key from x-api-key, as the Anthropic SDK sends it', () => {
    expect(presentedKey(undefined, TEAM_A)).toBe(TEAM_A);
    expect(presentedKey(undefined, ` ${TEAM_A} `)).toBe(TEAM_A);
  });

  it('prefers the bearer token when both are sent', () => {
    expect(presentedKey(`Bearer ${TEAM_A}`, RETIRED)).toBe(TEAM_A);
  });

  it('falls back to x-api-key when Authorization uses another scheme', () => {
    expect(presentedKey('Basic dXNlcjpwYXNz', TEAM_A)).toBe(TEAM_A);
  });

  it('finds no key in empty or missing headers', () => {
    expect(presentedKey(undefined, undefined)).toBeUndefined();
    expect(presentedKey('Bearer ', '')).toBeUndefined();
    expect(presentedKey('Bearer', '   ')).toBeUndefined();
  });
});

describe('authenticate', () => {
  it('identifies the caller of a known key with its route config and attributes', () => {
    const snap = snapshot();
    const caller = authenticate(snap, TEAM_A);
    expect(caller.keyId).toBe('default/team-a');
    expect(caller.routeConfig).toBe(snap.routeConfigs.get('default/chat'));
    expect(caller.attributes).toEqual({ tenant: 'team-a', residency: 'eu' });
  });

  it('rejects an unknown key with 401 invalid_api_key', () => {
    expect(thrown(() => authenticate(snapshot(), UNKNOWN))).toMatchObject({
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
  });

  it('answers a disabled key exactly as an unknown one', () => {
    const snap = snapshot();
    const disabled = thrown(() => authenticate(snap, RETIRED));
    const unknown = thrown(() => authenticate(snap, UNKNOWN));
    expect(disabled.toBody()).toEqual(unknown.toBody());
    expect(disabled.status).toBe(401);
    expect(disabled.code).toBe('invalid_api_key');
  });

  it('serves a keyless request as "anonymous" from the defaultForKeyless route config', () => {
    const snap = snapshot({ keyless: 'active' });
    const caller = authenticate(snap, undefined);
    expect(caller.keyId).toBe('anonymous');
    expect(caller.routeConfig).toBe(snap.routeConfigs.get('default/public'));
    expect(caller.attributes).toEqual({});
  });

  it('rejects a keyless request with 401 missing_api_key when no route config serves keyless requests', () => {
    expect(thrown(() => authenticate(snapshot(), undefined))).toMatchObject({
      status: 401,
      type: 'authentication_error',
      code: 'missing_api_key',
    });
  });

  it('does not serve keyless requests from an inactive defaultForKeyless route config', () => {
    expect(thrown(() => authenticate(snapshot({ keyless: 'inactive' }), undefined)).code).toBe(
      'missing_api_key',
    );
  });

  it('still checks a presented key when keyless requests are allowed', () => {
    expect(thrown(() => authenticate(snapshot({ keyless: 'active' }), UNKNOWN)).code).toBe('invalid_api_key');
  });

  it('rejects a key whose route config is inactive with 403 route_config_inactive', () => {
    const error = thrown(() => authenticate(snapshot(), FROZEN));
    expect(error).toMatchObject({ status: 403, type: 'permission_error', code: 'route_config_inactive' });
    expect(error.message).toContain('default/frozen');
  });

  it('never puts the presented key in an error message', () => {
    const snap = snapshot();
    for (const key of [UNKNOWN, RETIRED, FROZEN]) {
      const error = thrown(() => authenticate(snap, key));
      expect(error.message).not.toContain(key);
      expect(JSON.stringify(error.toBody())).not.toContain(key);
    }
  });
});

describe('sameDigest', () => {
  const digest = 'a'.repeat(63) + 'b';
  it('holds for equal digests only, wherever they differ', () => {
    expect(sameDigest(digest, `${digest}`)).toBe(true);
    expect(sameDigest(digest, `c${digest.slice(1)}`)).toBe(false);
    expect(sameDigest(digest, `${digest.slice(0, 63)}c`)).toBe(false);
    expect(sameDigest(digest, digest.slice(1))).toBe(false);
    expect(sameDigest('', '')).toBe(true);
  });

  it('is what the compiled key is compared with: its hex digest of the key material', () => {
    const key = snapshot().keysById.get('default/team-a')!;
    expect(key.hashHex).toBe(key.hash.toString('hex'));
    expect(snapshot().keysByHash.get(key.hashHex)).toBeDefined();
  });
});

describe('presentedKey with another authorization scheme', () => {
  it('refuses a Basic credential instead of treating the request as keyless', async () => {
    const { presentedKey } = await import('../../../ext-proc/auth/authenticate.ts');
    expect(() => presentedKey('Basic dXNlcjpwYXNz', undefined)).toThrow(
      expect.objectContaining({ status: 401, code: 'unsupported_authorization' }),
    );
    expect(presentedKey('Basic dXNlcjpwYXNz', 'sk-from-x-api-key')).toBe('sk-from-x-api-key');
  });
});
