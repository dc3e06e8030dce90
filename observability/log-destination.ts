/**
 * Where log lines go: a file descriptor (stdout by default) or a file, written asynchronously, the lines
 * of a short window (BATCH_MS) in one write(2). Written one by one, each line costs a write call and a
 * thread-pool round trip of its own: about 5% of ext-proc's CPU per request on the benchmark, where
 * requests finish one or two per event-loop turn, so batching by turn alone hardly helped. A line waits
 * at most BATCH_MS, nothing for a log pipeline; a byte threshold instead would hold a quiet process's
 * lines indefinitely.
 *
 * Lines are encoded into a pending chunk as they arrive, and a write sends the chunk's new bytes: no
 * string of the whole window is built. Joining the window's lines and encoding the join was 5% of
 * ext-proc's in-process CPU per request: each line is a rope of the record's JSON and its frame, and the
 * join walked them into one large string only to copy it once more into a Buffer.
 *
 * Bounded: beyond `maxBytes` not yet written (a stalled pipe to the container runtime), lines are
 * dropped and counted rather than growing the heap. A full non-blocking pipe (EAGAIN) is retried; a
 * closed one (EPIPE) ends logging. What is still pending when the process exits is written
 * synchronously; a write already handed to the thread pool is left to finish, as pino's own
 * destination does.
 */
import fs from 'node:fs';

const EAGAIN_RETRY_MS = 10;
/** Pending lines are written into chunks of this size; a line that does not fit starts the next. */
const CHUNK_BYTES = 64 * 1024;
/** UTF-8 needs at most 3 bytes per UTF-16 code unit (a surrogate pair, two units, takes 4). */
const MAX_UTF8_BYTES_PER_UNIT = 3;
/** How long a line may wait for others to share its write. */
export const BATCH_MS = 10;
const live = new Set<LineDestination>();
let exitHooked = false;

export class LineDestination {
  readonly #fd: number;
  readonly #maxBytes: number;
  /** Chunks filled up before the next write, each cut to its unsent bytes. */
  #full: Buffer[] = [];
  /** The chunk lines are written into: [#start, #used) is pending, what is before it sent or sending. */
  #chunk: Buffer | undefined;
  #start = 0;
  #used = 0;
  /** Bytes pending (not yet handed to a write). */
  #pendingBytes = 0;
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
    const room = line.length * MAX_UTF8_BYTES_PER_UNIT;
    let chunk = this.#chunk;
    if (chunk === undefined || chunk.length - this.#used < room) chunk = this.#nextChunk(room);
    // Never truncated: the room is there for the longest encoding of the line.
    const bytes = chunk.write(line, this.#used, 'utf8');
    if (this.#pendingBytes + bytes > this.#maxBytes) {
      this.dropped++;
      return true;
    }
    this.#used += bytes;
    this.#pendingBytes += bytes;
    if (!this.#inFlight && !this.#scheduled) this.#schedule();
    return true;
  }

  /** Puts the current chunk's pending bytes aside and starts a chunk with at least `room` bytes. */
  #nextChunk(room: number): Buffer {
    if (this.#chunk !== undefined && this.#used > this.#start)
      this.#full.push(this.#chunk.subarray(this.#start, this.#used));
    this.#chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, room));
    this.#start = 0;
    this.#used = 0;
    return this.#chunk;
  }

  /** Writes what is pending now, synchronously (at exit, or before a process hands over its fd). */
  flushSync(): void {
    if (this.#broken || this.#pendingBytes === 0) return;
    const data = this.#take();
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

  /**
   * The pending bytes, handed over: later lines go after them in the chunk (or in a new one), so a
   * write in flight never sees its bytes change.
   */
  #take(): Buffer {
    const tail = this.#chunk!.subarray(this.#start, this.#used);
    this.#start = this.#used;
    this.#pendingBytes = 0;
    if (this.#full.length === 0) return tail;
    const parts = [...this.#full, tail];
    this.#full = [];
    return Buffer.concat(parts);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#inFlight || this.#broken || this.#pendingBytes === 0) return;
    this.#send(this.#take(), 0);
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
      if (this.#pendingBytes > 0 && !this.#scheduled) this.#schedule();
    });
  }
}
