import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../config/secret-value.ts';
import { type AWSAccessKeyCredential, signAwsRequest } from '../../../ext-proc/credentials/aws-sigv4.ts';
import { AgentRouterError } from '../../../ext-proc/errors.ts';

/**
 * The example credentials and request of AWS's published SigV4 example "GET Object" (Amazon S3 API
 * Reference, "Signature Calculations for the Authorization Header: Transferring Payload in a Single
 * Chunk", docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): the first 10 bytes
 * of examplebucket/test.txt on 2013-05-24T00:00:00Z, with x-amz-content-sha256 signed.
 */
const S3_EXAMPLE_CREDENTIAL: AWSAccessKeyCredential = {
  type: 'AWSAccessKey',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: new SecretValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
};
const S3_EXAMPLE_DATE = new Date('2013-05-24T00:00:00Z');

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN';
const credential = (sessionToken?: string): AWSAccessKeyCredential => ({
  type: 'AWSAccessKey',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: new SecretValue(SECRET),
  ...(sessionToken ? { sessionToken: new SecretValue(sessionToken) } : {}),
});

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('SigV4 signing', () => {
  it('reproduces AWS’s published GET Object example signature', async () => {
    const headers = await signAwsRequest({
      method: 'GET',
      origin: 'https://examplebucket.s3.amazonaws.com',
      path: '/test.txt',
      headers: { range: 'bytes=0-9' },
      body: '',
      region: 'us-east-1',
      service: 's3',
      credential: S3_EXAMPLE_CREDENTIAL,
      date: S3_EXAMPLE_DATE,
    });
    expect(headers).toEqual([
      [
        'authorization',
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
          'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
          'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      ],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ]);
  });

  it('signs a Bedrock path with its encoded model id encoded once more, and the host with its port', async () => {
    const body = '{"messages":[{"role":"user","content":[{"text":"hi"}]}]}';
    const path = '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse';
    const date = new Date('2024-08-01T12:30:00Z');
    const headers = Object.fromEntries(
      await signAwsRequest({
        method: 'POST',
        origin: 'http://127.0.0.1:8443',
        path,
        headers: { 'content-type': 'application/json' },
        body,
        region: 'us-east-1',
        service: 'bedrock',
        credential: credential(),
        date,
      }),
    );
    // The canonical request and signature built by hand from the SigV4 documentation
    // (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html): each path
    // segment URI-encoded twice for services other than S3.
    const canonical = [
      'POST',
      '/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse',
      '',
      'content-type:application/json',
      'host:127.0.0.1:8443',
      `x-amz-content-sha256:${hex(body)}`,
      'x-amz-date:20240801T123000Z',
      '',
      'content-type;host;x-amz-content-sha256;x-amz-date',
      hex(body),
    ].join('\n');
    const scope = '20240801/us-east-1/bedrock/aws4_request';
    const stringToSign = ['AWS4-HMAC-SHA256', '20240801T123000Z', scope, hex(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, '20240801'), 'us-east-1'), 'bedrock'), 'aws4_request');
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    expect(headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${scope}, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
    );
    expect(headers['x-amz-content-sha256']).toBe(hex(body));
  });

  it('adds and signs x-amz-security-token for temporary credentials', async () => {
    const headers = Object.fromEntries(
      await signAwsRequest({
        method: 'POST',
        origin: 'https://bedrock-runtime.eu-west-1.amazonaws.com',
        path: '/model/m/converse',
        body: '{}',
        region: 'eu-west-1',
        service: 'bedrock',
        credential: credential(SESSION),
        date: new Date('2024-08-01T00:00:00Z'),
      }),
    );
    expect(headers['x-amz-security-token']).toBe(SESSION);
    expect(headers.authorization).toContain('/20240801/eu-west-1/bedrock/aws4_request');
    expect(headers.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token',
    );
  });

  it('fails with a typed error that names neither the secret key nor the session token', async () => {
    const error = await signAwsRequest({
      method: 'POST',
      origin: 'https://bedrock-runtime.us-east-1.amazonaws.com',
      path: '/model/m/converse',
      body: '{}',
      region: 'us-east-1',
      service: 'bedrock',
      credential: credential(SESSION),
      date: new Date(Number.NaN),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentRouterError);
    const seen = [
      String(error),
      (error as Error).stack ?? '',
      JSON.stringify(error),
      JSON.stringify((error as AgentRouterError).toBody()),
      inspect(error, { depth: 5 }),
    ].join('\n');
    expect(seen).toContain('bedrock');
    expect(seen).not.toContain(SECRET);
    expect(seen).not.toContain(SESSION);
  });
});
