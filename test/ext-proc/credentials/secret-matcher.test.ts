import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import { attemptSecrets, REDACTED, SecretMatcher } from '../../../ext-proc/credentials/secret-matcher.ts';

const KEY = 'sk-proj-Z3xQ9vLm2Rt7Wp4Ks8Nd1Hy6Fb0Jc5Ga';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('SecretMatcher', () => {
  it('replaces every occurrence, the bare key and a whole bearer header alike', () => {
    const m = new SecretMatcher([KEY]);
    const body = Buffer.from(
      `{"error":{"message":"Incorrect API key provided: ${KEY}; Authorization: Bearer ${KEY}"}}`,
    );
    expect(m.redact(body).toString()).toBe(
      `{"error":{"message":"Incorrect API key provided: ${REDACTED}; Authorization: Bearer ${REDACTED}"}}`,
    );
  });

  it('answers the same buffer and string when nothing matches', () => {
    const m = new SecretMatcher([KEY]);
    const body = Buffer.from('{"error":{"message":"Overloaded"}}');
    expect(m.redact(body)).toBe(body);
    expect(m.redactText('Overloaded')).toBe('Overloaded');
  });

  it('finds a key as a JSON encoder or a URL would spell it', () => {
    const m = new SecretMatcher([AWS_SECRET]);
    const spelled = [
      AWS_SECRET.replaceAll('/', '\\/'),
      encodeURIComponent(AWS_SECRET),
      JSON.stringify({ k: AWS_SECRET }),
    ].join(' ');
    expect(m.redactText(spelled)).not.toContain('K7MDENG');
  });

  it('replaces a whole signed header with one marker, not piece by piece', () => {
    const signature = 'a'.repeat(64);
    const header = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=${signature}`;
    const m = new SecretMatcher(['AKIDEXAMPLE', signature, header]);
    expect(m.redactText(`sent: ${header}`)).toBe(`sent: ${REDACTED}`);
    expect(m.redactText(`Signature=${signature}`)).toBe(`Signature=${REDACTED}`);
  });

  it('passes the provider’s own masking on (the last four characters)', () => {
    const m = new SecretMatcher([KEY]);
    const masked = `Incorrect API key provided: sk-proj-****${KEY.slice(-4)}.`;
    expect(m.redactText(masked)).toBe(masked);
  });

  it('ignores placeholders too short to be secrets', () => {
    const m = new SecretMatcher(['EMPTY', 'none']);
    expect(m.empty).toBe(true);
    expect(m.redactText('none of the keys is EMPTY')).toBe('none of the keys is EMPTY');
  });
});

describe('attemptSecrets', () => {
  it('builds a credential’s matcher once and adds what was minted for the request', () => {
    const credential = { type: 'APIKey' as const, apiKey: new SecretValue(KEY) };
    expect(attemptSecrets(credential, undefined)).toBe(attemptSecrets(credential, undefined));
    const withToken = attemptSecrets(credential, ['ya29.minted-token']);
    expect(withToken.redactText(`${KEY} ya29.minted-token`)).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('covers every part of an AWS access key', () => {
    const credential = {
      type: 'AWSAccessKey' as const,
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: new SecretValue(AWS_SECRET),
      sessionToken: new SecretValue('IQoJb3JpZ2luX2VjEXAMPLETOKEN/+='),
    };
    const text = attemptSecrets(credential, undefined).redactText(
      `AKIDEXAMPLE ${AWS_SECRET} IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=`,
    );
    expect(text).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });
});
