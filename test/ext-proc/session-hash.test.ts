import { describe, expect, it } from 'vitest';
import { sessionHasher } from '../../ext-proc/session-hash.ts';

describe('sessionHasher', () => {
  it('is HMAC-SHA256 truncated to 128 bits (RFC 4231 test case 2)', () => {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    const expected = '5bdcc146bf60754e6a042426089575c7';
    expect(sessionHasher('Jefe')('what do ya want for nothing?')).toBe(expected);
    expect(sessionHasher(Buffer.from('Jefe'))('what do ya want for nothing?')).toBe(expected);
  });

  it('gives replicas with one key the same hash, and another key another', () => {
    const a = sessionHasher('shared-key');
    const b = sessionHasher('shared-key');
    expect(a('user-42')).toBe(b('user-42'));
    expect(a('user-42')).toBe(a('user-42'));
    expect(sessionHasher('other-key')('user-42')).not.toBe(a('user-42'));
    expect(a('user-43')).not.toBe(a('user-42'));
  });

  it('draws a random key per hasher when none is set, so guessable ids cannot be hashed by anyone else', () => {
    expect(sessionHasher('')('user-42')).not.toBe(sessionHasher('')('user-42'));
    expect(sessionHasher('')('user-42')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives every id its own hash through the memory of recent ones, beyond its bound and for long ids', () => {
    const remembering = sessionHasher('shared-key');
    const ids = [
      ...Array.from({ length: 10_000 }, (_, i) => `conversation-${i % 5000}`),
      'x'.repeat(300),
      'x'.repeat(300),
    ];
    for (const id of ids) {
      // A hasher that has seen nothing yet computes it afresh.
      expect(remembering(id)).toBe(sessionHasher('shared-key')(id));
    }
  });
});
