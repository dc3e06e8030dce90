/**
 * The session a request belongs to, as the request record may keep it: an HMAC-SHA256 of the session
 * key, truncated to 128 bits. Keyed, because session ids are often guessable ("user-42"), and a plain
 * hash of a guessable id is the id. Every ext-proc replica that writes to one store must hash with the
 * same key for sessions to count once across replicas: AGENT_ROUTER_SESSION_HASH_KEY sets it (the chart
 * takes it from a Secret); without it each process draws its own, which is right for one process only.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';

export const SESSION_HASH_KEY_ENV = 'AGENT_ROUTER_SESSION_HASH_KEY';

const MAX_REMEMBERED = 4096;
const MAX_REMEMBERED_KEY_LENGTH = 256;

export type SessionHasher = (sessionKey: string) => string;

export function sessionHasher(
  key: string | Buffer | undefined = process.env[SESSION_HASH_KEY_ENV],
): SessionHasher {
  // A KeyObject made once: given raw key bytes, createHmac builds one per call, which costs about six
  // times the HMAC itself (11.6 µs against 1.8 µs per session id on this machine).
  const secret =
    key === undefined || key.length === 0
      ? createSecretKey(randomBytes(32))
      : typeof key === 'string'
        ? createSecretKey(key, 'utf8')
        : createSecretKey(key);
  // A conversation sends its session id with every turn: remember recent hashes instead of computing
  // the HMAC again (about 2 µs against a Map lookup). Bounded, and cleared whole when full, which costs
  // one HMAC per id afterwards and no bookkeeping per hit; long ids are not kept.
  const recent = new Map<string, string>();
  return (sessionKey) => {
    const known = recent.get(sessionKey);
    if (known !== undefined) return known;
    const hash = createHmac('sha256', secret).update(sessionKey).digest('hex').slice(0, 32);
    if (sessionKey.length <= MAX_REMEMBERED_KEY_LENGTH) {
      if (recent.size >= MAX_REMEMBERED) recent.clear();
      recent.set(sessionKey, hash);
    }
    return hash;
  };
}
