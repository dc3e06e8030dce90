/**
 * Closed-loop load: `concurrency` workers, each sending its next request as soon as the last one is
 * answered. It can be drained (every worker idle, nothing in flight) for a measurement and resumed, and
 * keeps O(1) state however long it runs: counters, a fixed histogram and a capped tally of failure kinds.
 */
import { LatencyHistogram } from './latency-histogram.ts';
import type { Outcome } from './traffic.ts';

/** Distinct failure kinds kept with their counts; any further kind is counted under "other". */
const MAX_FAILURE_KINDS = 20;

export class Load {
  readonly latency = new LatencyHistogram();
  readonly failures = new Map<string, number>();
  requests = 0;
  errors = 0;
  readonly #send: () => Promise<Outcome>;
  readonly #concurrency: number;
  readonly #workers: Promise<void>[] = [];
  #stopping = false;
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;
  #idle = 0;
  #onIdle: (() => void) | undefined;

  constructor(send: () => Promise<Outcome>, concurrency: number) {
    this.#send = send;
    this.#concurrency = concurrency;
    for (let i = 0; i < concurrency; i++) this.#workers.push(this.#work());
  }

  /** Resolves once every worker has finished its request and waits; nothing is in flight. */
  drain(): Promise<void> {
    if (this.#stopping) return Promise.all(this.#workers).then(() => undefined);
    if (this.#gate === undefined) this.#gate = new Promise((resolve) => (this.#openGate = resolve));
    return this.#whenIdle();
  }

  resume(): void {
    const open = this.#openGate;
    this.#gate = undefined;
    this.#openGate = undefined;
    open?.();
  }

  /** Lets every request in flight finish, sends no more, and resolves when all workers are done. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.resume();
    await Promise.all(this.#workers);
  }

  async #work(): Promise<void> {
    while (!this.#stopping) {
      while (this.#gate !== undefined) {
        this.#idle++;
        if (this.#idle === this.#concurrency) this.#onIdle?.();
        await this.#gate;
        this.#idle--;
      }
      if (this.#stopping) return;
      this.#record(await this.#send());
    }
  }

  #whenIdle(): Promise<void> {
    if (this.#idle === this.#concurrency) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onIdle = () => {
        this.#onIdle = undefined;
        resolve();
      };
    });
  }

  #record(outcome: Outcome): void {
    this.requests++;
    if (outcome.ok) {
      this.latency.record(outcome.ms);
      return;
    }
    this.errors++;
    const kind =
      this.failures.has(outcome.kind) || this.failures.size < MAX_FAILURE_KINDS ? outcome.kind : 'other';
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }
}
