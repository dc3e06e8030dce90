/**
 * Attempts of a request, as the per-attempt phase saw them, for the router-level phase's record. Envoy
 * retries inside its router, so the router-level filter sees only the last attempt's response; the
 * per-attempt filter sees each one. In the sidecar deployment both filters' streams reach this one
 * process, so the per-attempt phase notes each attempt here under the request id the router-level phase
 * set (x-request-id), and the router-level phase takes them when it finishes.
 *
 * Bounded: a request whose router-level stream never finishes here (another replica, a gateway without
 * that filter) must not keep its attempts forever, so the oldest entries go first past `maxRequests`, and
 * entries older than `ttlMs` go whenever a new request is noted.
 */
import type { AttemptRecord } from '../analytics/record.ts';

interface Entry {
  at: number;
  attempts: AttemptRecord[];
}

export class AttemptLedger {
  readonly #byRequest = new Map<string, Entry>();

  constructor(
    private readonly maxRequests = 10_000,
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes an attempt; the object stays the phase's to fill in (status, error) until it is taken. */
  note(requestId: string, attempt: AttemptRecord): void {
    const now = this.now();
    let entry = this.#byRequest.get(requestId);
    if (!entry) {
      this.#expire(now);
      entry = { at: now, attempts: [] };
      this.#byRequest.set(requestId, entry);
      if (this.#byRequest.size > this.maxRequests)
        this.#byRequest.delete(this.#byRequest.keys().next().value as string);
    }
    entry.attempts.push(attempt);
  }

  /** The request's attempts in the order they were made (copies), and forgets them. */
  take(requestId: string): AttemptRecord[] | undefined {
    const entry = this.#byRequest.get(requestId);
    if (!entry) return undefined;
    this.#byRequest.delete(requestId);
    return entry.attempts.map((a) => ({ ...a }));
  }

  get size(): number {
    return this.#byRequest.size;
  }

  #expire(now: number): void {
    // Insertion order is age order, so expired entries are at the front.
    for (const [id, entry] of this.#byRequest) {
      if (now - entry.at < this.ttlMs) break;
      this.#byRequest.delete(id);
    }
  }
}
