/**
 * Admission to the continuous batch: at most `maxConcurrency` requests decode at once (vLLM's
 * `--max-num-seqs`); the rest wait in FIFO order, as in vLLM's scheduler waiting queue.
 */
export interface BatchSlots {
  readonly running: number;
  readonly waiting: number;
  /** Resolves once the request holds a slot; rejects with the signal's reason if it is aborted while waiting. */
  acquire(signal: AbortSignal): Promise<void>;
  /** Gives the slot to the oldest waiting request, or frees it. Call exactly once per successful acquire. */
  release(): void;
}

interface Waiter {
  readonly admit: () => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

export function createBatchSlots(maxConcurrency: number): BatchSlots {
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new RangeError(`maxConcurrency must be a positive integer, got ${maxConcurrency}`);
  }
  let running = 0;
  const queue: Waiter[] = [];

  return {
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
    acquire(signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (running < maxConcurrency && queue.length === 0) {
        running++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          admit: resolve,
          signal,
          onAbort: () => {
            const index = queue.indexOf(waiter);
            if (index !== -1) queue.splice(index, 1);
            reject(signal.reason);
          },
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
        queue.push(waiter);
      });
    },
    release() {
      const next = queue.shift();
      if (next === undefined) {
        running--;
        return;
      }
      // The slot passes straight to the next request, so `running` is unchanged.
      next.signal.removeEventListener('abort', next.onAbort);
      next.admit();
    },
  };
}
