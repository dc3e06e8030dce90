/**
 * Finds the credential an attempt injected wherever a provider echoes it, and replaces it with
 * "[redacted]" (the marker SecretValue and the logger print). Providers and OpenAI-compatible servers
 * quote what they were sent when they refuse it: OpenAI's `Incorrect API key provided: …`, proxies that
 * print the whole `Authorization: Bearer <key>`, AWS errors that name the access key id.
 *
 * A matcher is a handful of byte needles searched with Buffer#indexOf (memmem-like, no regex). The
 * needles of a credential's own material are built once per Credential object, that is once per
 * compiled configuration, on the first error that needs them; per-request material (a minted access
 * token, a SigV4 signature) is added to a copy, on the error path only.
 *
 * Partly masked echoes (OpenAI's `sk-proj-****abcd`, the last four characters) are the provider's own
 * masking and pass on: four characters of a 40+ character key cannot be used or guessed from, and they
 * are the one clue that tells an operator which key to rotate.
 */
import type { Credential } from '../../config/credentials.ts';

export const REDACTED = '[redacted]';
const REDACTED_BYTES = Buffer.from(REDACTED);

/**
 * Shorter values are placeholders, not secrets (vLLM's "EMPTY", "none"): redacting them would mangle
 * every message that contains the word. Real provider keys are 32 characters and more; an AWS access
 * key id, the shortest material we hold, has 20.
 */
const MIN_SECRET_LENGTH = 8;

export class SecretMatcher {
  /** Longest first, so a whole `AWS4-HMAC-SHA256 …` header is one marker rather than several. */
  readonly #needles: readonly Buffer[];
  readonly #texts: readonly string[];
  readonly #secrets: readonly string[];

  constructor(secrets: Iterable<string>) {
    const kept = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH);
    const texts = new Set<string>();
    for (const s of kept) for (const spelling of spellings(s)) texts.add(spelling);
    this.#secrets = kept;
    this.#texts = [...texts].sort((a, b) => b.length - a.length);
    this.#needles = this.#texts.map((t) => Buffer.from(t));
  }

  get empty(): boolean {
    return this.#needles.length === 0;
  }

  /** A matcher for these secrets and `more`. */
  with(more: readonly string[]): SecretMatcher {
    return new SecretMatcher([...this.#secrets, ...more]);
  }

  /** The bytes with every occurrence replaced; the same Buffer when there is none. */
  redact(bytes: Buffer): Buffer {
    let out = bytes;
    for (const needle of this.#needles) {
      let at = out.indexOf(needle);
      if (at < 0) continue;
      const parts: Buffer[] = [];
      let from = 0;
      while (at >= 0) {
        parts.push(out.subarray(from, at), REDACTED_BYTES);
        from = at + needle.length;
        at = out.indexOf(needle, from);
      }
      parts.push(out.subarray(from));
      out = Buffer.concat(parts);
    }
    return out;
  }

  /** The text with every occurrence replaced; the same string when there is none. */
  redactText(text: string): string {
    let out = text;
    for (const t of this.#texts) if (out.includes(t)) out = out.replaceAll(t, REDACTED);
    return out;
  }
}

/**
 * How a value can appear in a provider's answer: as sent, inside a JSON string (quotes, backslashes,
 * control characters escaped; some encoders also write "/" as "\/"), or percent-encoded in a URL or a
 * form body (AWS secret keys and session tokens hold "/", "+" and "=").
 */
function spellings(secret: string): string[] {
  const out = [secret];
  const json = JSON.stringify(secret).slice(1, -1);
  if (json !== secret) out.push(json);
  if (json.includes('/')) out.push(json.replaceAll('/', '\\/'));
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) out.push(encoded);
  return out;
}

/** Where a provider's own bytes may report a failure (an SSE error event, an error object). */
const ERROR_MARKER = Buffer.from('error');

/**
 * A provider's chunk with the credential redacted, for chunks that carry an error at all (a 200
 * stream's error event may quote what the provider was sent); undefined when the chunk passes as it is.
 * The matcher is asked for only then, so a stream without errors never builds one.
 */
export function redactErrorChunk(chunk: Buffer, matcher: () => SecretMatcher): Buffer | undefined {
  if (chunk.indexOf(ERROR_MARKER) < 0) return undefined;
  const redacted = matcher().redact(chunk);
  return redacted === chunk ? undefined : redacted;
}

const NONE = new SecretMatcher([]);
const byCredential = new WeakMap<Credential, SecretMatcher>();

/** The material of a credential that can travel to a provider, or be quoted back by it. */
function credentialSecrets(credential: Credential): string[] {
  switch (credential.type) {
    case 'APIKey':
      return [credential.apiKey.reveal()];
    case 'AWSAccessKey': {
      // The secret key never leaves the process (it signs), but nothing is lost by looking for it.
      const secrets = [credential.accessKeyId, credential.secretAccessKey.reveal()];
      if (credential.sessionToken) secrets.push(credential.sessionToken.reveal());
      return secrets;
    }
    case 'GCPServiceAccount':
      // Only minted access tokens are sent (the per-request material); the private key never is.
      return [];
  }
}

/**
 * The matcher for one attempt: its credential's material (cached per Credential object, so per
 * compiled configuration) plus what the translator minted for this request (UpstreamRequest.secrets).
 */
export function attemptSecrets(
  credential: Credential | undefined,
  minted: readonly string[] | undefined,
): SecretMatcher {
  let base = NONE;
  if (credential) {
    const cached = byCredential.get(credential);
    base = cached ?? new SecretMatcher(credentialSecrets(credential));
    if (!cached) byCredential.set(credential, base);
  }
  return minted?.length ? base.with(minted) : base;
}
