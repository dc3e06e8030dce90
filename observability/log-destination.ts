/**
 * Where log lines go: a file descriptor (stdout by default) or a file, written asynchronously, the lines
 * of a short window (BATCH_MS) in one write(2). Written one by one, each line costs a write call and a
 * thread-pool round trip of its own: about 5% of ext-proc's CPU per request on the benchmark, where
 * requests finish one or two per event-loop turn, so batching by turn alone hardly helped. A line waits
 * at most BATCH_MS, nothing for a log pipeline; a byte threshold instead would hold a quiet process's
 * lines indefinitely.
 *
 * Bounded: beyond `maxBytes` not yet written (a stalled pipe to the container runtime), lines are
 * dropped and counted rather than growing the heap. A full non-blocking pipe (EAGAIN) is retried; a
 * closed one (EPIPE) ends logging. What is still pending when the process exits is written
 * synchronously; a write already handed to the thread pool is left to finish, as pino's own
 * destination does.
 */
import fs from 'node:fs';

const EAGAIN_RETRY_MS = 10;
/** How long a line may wait for others to share its write. */
export const BATCH_MS = 10;
const live = new Set<LineDestination>();
let exitHooked = false;

export class LineDestination {
  readonly #fd: number;
  readonly #maxBytes: number;
  #pending: string[] = [];
  /** Characters pending: a bound in UTF-16 units is close enough to bytes for a safety limit. */
  #pendingChars = 0;
  #inFlight = false;
  #scheduled = false;
  #broken = false;
  /** Lines dropped because `maxBytes` were already waiting. */
  dropped = 0;

  constructor(dest: number | string, maxBytes: number) {
    this.#fd = typeof dest === 'number' ? dest : fs.openSync(dest, 'a');
    this.#maxBytes = maxBytes;
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const destination of live) destination.flushSync();
      });
    }
  }

  /** pino's DestinationStream. */
  write(line: string): boolean {
    if (this.#broken) return true;
    if (this.#pendingChars + line.length > this.#maxBytes) {
      this.dropped++;
      return true;
    }
    this.#pending.push(line);
    this.#pendingChars += line.length;
    if (!this.#inFlight && !this.#scheduled) this.#schedule();
    return true;
  }

  /** Writes what is pending now, synchronously (at exit, or before a process hands over its fd). */
  flushSync(): void {
    if (this.#broken || this.#pending.length === 0) return;
    const data = Buffer.from(this.#take(), 'utf8');
    let offset = 0;
    while (offset < data.length) {
      try {
        offset += fs.writeSync(this.#fd, data, offset);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        this.#broken = true;
        return;
      }
    }
  }

  /** Stops writing; pending lines are written first. */
  end(): void {
    this.flushSync();
    live.delete(this);
    this.#broken = true;
  }

  /** Unref'd: a process with nothing else to do exits, and the exit hook writes what is pending. */
  #schedule(): void {
    this.#scheduled = true;
    setTimeout(this.#flush, BATCH_MS).unref();
  }

  #take(): string {
    const text = this.#pending.length === 1 ? this.#pending[0]! : this.#pending.join('');
    this.#pending = [];
    this.#pendingChars = 0;
    return text;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#inFlight || this.#broken || this.#pending.length === 0) return;
    this.#send(Buffer.from(this.#take(), 'utf8'), 0);
  };

  #send(data: Buffer, offset: number): void {
    this.#inFlight = true;
    fs.write(this.#fd, data, offset, data.length - offset, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.#send(data, offset), EAGAIN_RETRY_MS);
          return;
        }
        // EPIPE, EBADF: nobody reads these lines any more.
        this.#inFlight = false;
        this.#broken = true;
        return;
      }
      if (offset + written < data.length) {
        this.#send(data, offset + written);
        return;
      }
      this.#inFlight = false;
      if (this.#pending.length > 0 && !this.#scheduled) this.#schedule();
    });
  }
}
