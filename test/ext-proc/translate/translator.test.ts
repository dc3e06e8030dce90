import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../config/credentials.ts';
import { SecretValue } from '../../../config/secret-value.ts';
import { bearerOf } from '../../../ext-proc/translate/translator.ts';

describe('the bearer value of an API-key credential', () => {
  it('is "Bearer <key>", made once per configured key', () => {
    const credential: Credential = { type: 'APIKey', apiKey: new SecretValue('sk-provider-0123456789') };
    const first = bearerOf(credential);
    expect(first).toBe('Bearer sk-provider-0123456789');
    expect(bearerOf(credential)).toBe(first);
    // A reloaded configuration holds a new SecretValue: its value is made afresh.
    const reloaded: Credential = { type: 'APIKey', apiKey: new SecretValue('sk-provider-rotated-99') };
    expect(bearerOf(reloaded)).toBe('Bearer sk-provider-rotated-99');
  });

  it('is absent for an empty key and for credentials of other types', () => {
    expect(bearerOf({ type: 'APIKey', apiKey: new SecretValue('') })).toBeUndefined();
    expect(
      bearerOf({ type: 'AWSAccessKey', accessKeyId: 'AKIA0000', secretAccessKey: new SecretValue('s3cr3t') }),
    ).toBeUndefined();
    expect(bearerOf(undefined)).toBeUndefined();
  });
});
