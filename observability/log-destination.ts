/**
 * Where log lines go: a file descriptor (stdout by default) or a file, written asynchronously with the
 * lines of one event-loop turn in one write(2). Under load a request's line is one of many finished in
 * the same turn; written one by one, each costs a write call and a thread-pool round trip of its own,
 * which on the benchmark was about 5% of ext-proc's CPU per request. A quiet process still logs at
 * once: the write starts when the turn ends (setImmediate), not after a timer or a byte threshold.
 *
 * Bounded: beyond `maxBytes` not yet written (a stalled pipe to the container runtime), lines are
 * dropped and counted rather than growing the heap. A full non-blocking pipe (EAGAIN) is retried; a
 * closed one (EPIPE) ends logging. What is still pending when the process exits is written
 * synchronously; a write already handed to the thread pool is left to finish, as pino's own
 * destination does.
 */
import fs from 'node:fs';

const EAGAIN_RETRY_MS = 10;
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
    if (!this.#inFlight && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
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
      if (this.#pending.length > 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }
}
