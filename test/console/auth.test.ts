import { describe, expect, it } from 'vitest';
import { checkBearer, fixedToken } from '../../console/auth.ts';

const token = fixedToken('s3cret-token\n', 'test');

describe('console admin token', () => {
  it('accepts exactly the token as a Bearer credential (the file’s trailing newline trimmed)', () => {
    expect(checkBearer('Bearer s3cret-token', token)).toBeUndefined();
    expect(checkBearer('bearer   s3cret-token ', token)).toBeUndefined();
  });

  it('refuses a missing, malformed, wrong, shorter or longer credential with a 401', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Basic czNjcmV0LXRva2Vu',
      's3cret-token',
      'Bearer s3cret-toke',
      'Bearer s3cret-token2',
      'Bearer s3cret-token extra',
    ]) {
      const error = checkBearer(header, token);
      expect(error?.status, String(header)).toBe(401);
      expect(error?.message).not.toContain('s3cret');
    }
  });

  it('refuses everything while the source has no token, naming the source and not a value', () => {
    const error = checkBearer('Bearer anything', {
      read: () => undefined,
      source: 'Secret ns/console key token',
    });
    expect(error?.code).toBe('admin_token_unavailable');
    expect(error?.message).toContain('Secret ns/console key token');
  });

  it('refuses an empty token at start', () => {
    expect(() => fixedToken(' \n', 'file /tmp/t')).toThrow(/empty/);
  });
});
