/**
 * Provider credentials, compiled from Secrets once at load: the material a translator needs to
 * authenticate one attempt, held in SecretValues so it never prints.
 */
import type { Provider, SecretManifest } from './manifests.ts';
import { SecretValue } from './secret-value.ts';
import { headerValueProblem, secretString } from './secrets.ts';

export const CREDENTIAL_TYPES = ['APIKey', 'AWSAccessKey', 'GCPServiceAccount'] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

export type Credential =
  | { type: 'APIKey'; apiKey: SecretValue }
  | { type: 'AWSAccessKey'; accessKeyId: string; secretAccessKey: SecretValue; sessionToken?: SecretValue }
  | {
      type: 'GCPServiceAccount';
      clientEmail: string;
      privateKey: SecretValue;
      tokenUri: string;
      projectId?: string;
    };

/** What each provider authenticates with unless the backend says otherwise. */
export function defaultCredentialType(provider: Provider): CredentialType {
  if (provider === 'Bedrock') return 'AWSAccessKey';
  if (provider === 'VertexAI' || provider === 'VertexAnthropic') return 'GCPServiceAccount';
  return 'APIKey';
}

/** Secret keys read per type; `key` in a secretRef overrides the first (single-key) one. */
export const SECRET_KEYS = {
  APIKey: 'api-key',
  AWSAccessKey: { id: 'aws-access-key-id', secret: 'aws-secret-access-key', session: 'aws-session-token' },
  GCPServiceAccount: 'service-account.json',
} as const;

/** A credential sent in a header must fit one: said here, at load, rather than as a 503 per request. */
export function headerProblem(secretName: string, key: string, value: string): string | undefined {
  const problem = headerValueProblem(value);
  return problem && `Secret "${secretName}" key "${key}" ${problem}`;
}

/** Google's documented token endpoint, used when the service-account JSON names none. */
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export function compileCredential(
  type: CredentialType,
  secret: SecretManifest,
  key: string | undefined,
): { credential?: Credential; problem?: string } {
  const name = secret.metadata.name;
  switch (type) {
    case 'APIKey': {
      const k = key ?? SECRET_KEYS.APIKey;
      const value = secretString(secret, k);
      if (value === undefined) return { problem: `Secret "${name}" has no key "${k}"` };
      const unsendable = headerProblem(name, k, value);
      return unsendable ? { problem: unsendable } : { credential: { type, apiKey: new SecretValue(value) } };
    }
    case 'AWSAccessKey': {
      const keys = SECRET_KEYS.AWSAccessKey;
      const id = secretString(secret, keys.id);
      const secretKey = secretString(secret, keys.secret);
      if (!id || !secretKey)
        return { problem: `Secret "${name}" must hold "${keys.id}" and "${keys.secret}"` };
      const session = secretString(secret, keys.session);
      // The key id and session token travel in headers; the secret key signs them, so the same holds.
      const unsendable =
        headerProblem(name, keys.id, id) ??
        headerProblem(name, keys.secret, secretKey) ??
        (session ? headerProblem(name, keys.session, session) : undefined);
      if (unsendable) return { problem: unsendable };
      const credential: Credential = { type, accessKeyId: id, secretAccessKey: new SecretValue(secretKey) };
      if (session) credential.sessionToken = new SecretValue(session);
      return { credential };
    }
    case 'GCPServiceAccount': {
      const k = key ?? SECRET_KEYS.GCPServiceAccount;
      const text = secretString(secret, k);
      if (text === undefined) return { problem: `Secret "${name}" has no key "${k}"` };
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return { problem: `Secret "${name}" key "${k}" is not a service-account JSON document` };
      }
      if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
        return {
          problem: `Secret "${name}" key "${k}" lacks client_email or private_key (is it a service-account key file?)`,
        };
      }
      const credential: Credential = {
        type,
        clientEmail: parsed.client_email,
        privateKey: new SecretValue(parsed.private_key),
        tokenUri: typeof parsed.token_uri === 'string' ? parsed.token_uri : GOOGLE_TOKEN_URI,
      };
      if (typeof parsed.project_id === 'string') credential.projectId = parsed.project_id;
      return { credential };
    }
  }
}
