/**
 * A measured server in its own process (bench/servers/child.ts), driven over IPC: the parent asks for
 * CPU and memory readings so it can bracket exactly the window it measures.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledEntry } from './compiled.ts';
import type { ChildMessage, ParentMessage, ServerKind } from './servers/child.ts';

const CHILD = fileURLToPath(new URL('./servers/child.ts', import.meta.url));
/** The ext-proc servers' manifest unless a benchmark names its own. */
const DEFAULT_CONFIG = fileURLToPath(new URL('../examples/local.yaml', import.meta.url));

export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #pending: { resolve(message: ChildMessage): void; reject(error: Error): void }[] = [];
  #exit: Error | undefined;
  readonly ready: Promise<number>;

  constructor(
    readonly kind: ServerKind,
    cpuProfDir: string | undefined,
    /** Manifest file for an ext-proc server (default: examples/local.yaml). */
    config?: string,
  ) {
    // One folder per server, so each profile is found by its server's name.
    const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(cpuProfDir, kind)}`] : [];
    const manifest = config ?? (kind === 'ext-proc' ? DEFAULT_CONFIG : undefined);
    // Compiled as shipped, not through tsx (bench/compiled.ts says why).
    this.#child = fork(compiledEntry(CHILD), manifest ? [kind, manifest] : [kind], {
      execArgv: ['--expose-gc', ...profile],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = new Error(`${kind} server exited (${signal ?? code})`);
        reject(this.#exit);
        for (const waiter of this.#pending.splice(0)) waiter.reject(this.#exit);
      });
      this.#child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') resolve(message.grpcPort);
        else if (message.type === 'failed') {
          // Before 'ready' this fails the start; after it, the request being answered.
          const error = new Error(`${kind} server failed:\n${message.message}`);
          reject(error);
          this.#pending.shift()?.reject(error);
        } else this.#pending.shift()?.resolve(message);
      });
    });
  }

  /** The child's cumulative CPU time in µs; `collect` runs a full GC first so the window starts clean. */
  async cpuMicros(collect: boolean): Promise<number> {
    const answer = await this.#ask({ type: 'cpu', collect });
    if (answer.type !== 'cpu') throw new Error(`${this.kind}: expected a CPU reading, got ${answer.type}`);
    return answer.user + answer.system;
  }

  /** Resident set size now and its peak since the last `reset` (Linux /proc), in bytes. */
  async memory(reset: boolean): Promise<{ rssBytes: number; peakRssBytes: number }> {
    const answer = await this.#ask({ type: reset ? 'memory-reset' : 'memory-peak' });
    if (answer.type !== 'memory')
      throw new Error(`${this.kind}: expected a memory reading, got ${answer.type}`);
    return answer;
  }

  /** A kind-specific request (see ParentMessage), answered in order with the child's message. */
  request(message: ParentMessage): Promise<ChildMessage> {
    return this.#ask(message);
  }

  #ask(message: ParentMessage): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      if (this.#exit) return reject(this.#exit);
      this.#pending.push({ resolve, reject });
      this.#child.send(message);
    });
  }

  /** Asks the server to shut down and exit (which writes its CPU profile, when profiling). */
  stop(): Promise<void> {
    if (this.#exit) return Promise.resolve();
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.send({ type: 'stop' } satisfies ParentMessage);
    });
  }

  kill(): void {
    if (!this.#exit) this.#child.kill();
  }
}
