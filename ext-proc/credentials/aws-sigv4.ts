/**
 * AWS Signature Version 4 for one request, with the maintained signer (@smithy/signature-v4, the one
 * the AWS SDK for JavaScript uses): the caller gives the final method, path, body and the headers it
 * wants signed; it gets back the headers to set. Header names follow the SigV4 documentation
 * (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html): `authorization`,
 * `x-amz-date`, `x-amz-content-sha256` (the hex SHA-256 of the body, signed as the SDK signs it) and
 * `x-amz-security-token` for temporary credentials.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential } from '../../config/credentials.ts';
import { AgentRouterError } from '../errors.ts';

export type AWSAccessKeyCredential = Extract<Credential, { type: 'AWSAccessKey' }>;

export interface SigV4Request {
  method: string;
  /** Scheme, host and port the request goes to, e.g. "https://bedrock-runtime.us-east-1.amazonaws.com". */
  origin: string;
  /**
   * The path exactly as sent, percent-encoded, without a query string. The signer encodes each segment
   * once more for the canonical request, as SigV4 requires for every service but S3.
   */
  path: string;
  /** Further headers to sign (lower-case names), e.g. content-type. */
  headers?: Readonly<Record<string, string>>;
  body: Uint8Array | string;
  region: string;
  /** Signing name of the service, e.g. "bedrock" for Bedrock Runtime. */
  service: string;
  credential: AWSAccessKeyCredential;
  /** Signing time; now when absent. */
  date?: Date;
}

/** The headers that authenticate the request, lower-case, in a stable order. */
export async function signAwsRequest(request: SigV4Request): Promise<[string, string][]> {
  const { credential } = request;
  const url = new URL(request.origin);
  const signer = new SignatureV4({
    service: request.service,
    region: request.region,
    // Node's native SHA-256 (via the AWS SDK's own node hash): a pure-JS hash costs ~16 ms per MB of body.
    sha256: Hash.bind(null, 'sha256') as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
    credentials: {
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey.reveal(),
      sessionToken: credential.sessionToken?.reveal(),
    },
  });
  let signed: { headers: Record<string, string> };
  try {
    signed = await signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: request.path,
        query: {},
        // `host` carries the port when it is not the scheme's default, as the HTTP client sends it.
        headers: { ...request.headers, host: url.host },
        body: request.body,
      },
      { signingDate: request.date ?? new Date() },
    );
  } catch (error) {
    // The signer's own message never names key material, but nothing from it is passed on either:
    // this error reaches logs and the client.
    throw new AgentRouterError(
      500,
      'api_error',
      'request_signing_failed',
      `Could not sign the request for AWS service "${request.service}" in region "${request.region}" (${(error as Error).name}).`,
    );
  }
  const h = signed.headers;
  const out: [string, string][] = [
    ['authorization', h.authorization!],
    ['x-amz-date', h['x-amz-date']!],
    ['x-amz-content-sha256', h['x-amz-content-sha256']!],
  ];
  if (h['x-amz-security-token'] !== undefined) out.push(['x-amz-security-token', h['x-amz-security-token']]);
  return out;
}

/**
 * What of a signed request a provider could quote back beyond the credential itself: the whole
 * `authorization` value and its `Signature=` (valid for this request for 15 minutes, so replayable).
 */
export function signatureSecrets(headers: readonly (readonly [string, string])[]): string[] {
  const authorization = headers.find(([name]) => name === 'authorization')?.[1];
  if (authorization === undefined) return [];
  const signature = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
  return signature === undefined ? [authorization] : [authorization, signature];
}
