/**
 * Sessions this instance has ended (DELETE), so it refuses their ids at once with 404, as Streamable
 * HTTP § Session Management asks of a terminated session ("MUST respond to requests containing that
 * session ID with HTTP 404 Not Found"). The id is stateless and still decodes after the DELETE, and a
 * fan-out such as tools/list would otherwise answer 200 with every server left out; a call to one
 * server learns of the end only from that server's own 404.
 *
 * In process and bounded: once full, the oldest ended session is forgotten (and falls back to the
 * servers' 404s). The ids carry no expiry of their own (session-id.ts keeps `issuedAt` but sets no
 * lifetime), so there is nothing to expire entries by. Other replicas never see this set: they rely
 * on the servers' 404, which the README says.
 *
 * Keys are a SHA-256 digest of the id cut to 128 bits, never the id itself.
 */
import { hash } from 'node:crypto';

export const DEFAULT_ENDED_SESSIONS = 50_000;

export class EndedSessions {
  /** Insertion-ordered, so the first key is the oldest. */
  private readonly ended = new Set<string>();

  constructor(private readonly capacity = DEFAULT_ENDED_SESSIONS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity ${capacity}: not ≥ 1`);
  }

  get size(): number {
    return this.ended.size;
  }

  add(sessionId: string): void {
    const key = digest(sessionId);
    this.ended.delete(key);
    this.ended.add(key);
    if (this.ended.size > this.capacity) this.ended.delete(this.ended.values().next().value!);
  }

  has(sessionId: string): boolean {
    return this.ended.size > 0 && this.ended.has(digest(sessionId));
  }
}

function digest(sessionId: string): string {
  return hash('sha256', sessionId, 'base64url').slice(0, 22);
}
