/**
 * Exponential backoff with jitter for reconnecting to the API server, so a fleet of gateways restarting
 * together does not hammer it in step (client-go's reflector: 800ms doubling to 30s, jittered).
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000 };

export class Backoff {
  #attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** The next delay: initial × 2^attempt, capped, then jittered into [d/2, d]. */
  next(): number {
    const d = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return d / 2 + Math.random() * (d / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
