/**
 * The soak's server processes (bench/soak/child.ts), driven over IPC: the simulated model servers in
 * one, the local stack in another, so the heap the stack reports is its own. Their config is
 * examples/local.yaml moved onto a loopback /24 of its own, so it never meets a running `npm start` or a
 * test suite's fixed addresses.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, parseAllDocuments } from 'yaml';
import { SIMULATED_ANNOTATION } from '../../config/manifests.ts';
import type { ChildAnswer, ChildRequest, ChildRole } from './child.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/local.yaml', import.meta.url));
/**
 * Backends on 127.0.0.11-14, pods on 127.0.0.21-24 and MCP servers on 127.0.0.18-19 in
 * examples/local.yaml. The soak sends no MCP traffic: neither process starts the demo MCP servers.
 */
const EXAMPLE_ADDRESSES = 10;

/**
 * examples/local.yaml with every 127.0.0.x address moved to 127.<a>.<b>.x: the realistic mix (a sticky
 * 50/50 A/B split with a fallback, a 95/5 canary, a header-matched compliance route, an InferencePool of
 * four vLLM pods behind the endpoint picker) on addresses nobody else binds. `sims` is that file; `stack`
 * is the same without the simulated annotations, so the stack starts no model server itself.
 */
export function soakConfigs(subnet: readonly [number, number]): { sims: string; stack: string } {
  let moved = 0;
  const sims = readFileSync(EXAMPLE, 'utf8').replace(/\b127\.0\.0\.(\d+)\b/g, (_, host: string) => {
    moved++;
    return `127.${subnet[0]}.${subnet[1]}.${host}`;
  });
  if (moved !== EXAMPLE_ADDRESSES) {
    throw new Error(`expected ${EXAMPLE_ADDRESSES} loopback addresses in ${EXAMPLE}, found ${moved}`);
  }
  let simulated = 0;
  const documents = parseAllDocuments(sims);
  if (!Array.isArray(documents)) throw new Error(`${EXAMPLE} holds no YAML documents`);
  for (const document of documents) {
    const annotations = document.getIn(['metadata', 'annotations']);
    if (isMap(annotations) && annotations.delete(SIMULATED_ANNOTATION)) simulated++;
  }
  if (simulated !== EXAMPLE_ADDRESSES) {
    throw new Error(
      `expected ${EXAMPLE_ADDRESSES} simulated backends and pods in ${EXAMPLE}, found ${simulated}`,
    );
  }
  return { sims, stack: documents.map((d) => d.toString({ directives: false })).join('---\n') };
}

export interface ChildMemory {
  rssBytes: number;
  heapUsedBytes: number;
}

export class SoakProcess {
  readonly #child: ChildProcess;
  readonly #pending: { resolve(message: ChildAnswer): void; reject(error: Error): void }[] = [];
  #exit: Error | undefined;
  /** The stack's gateway URL, or the first model server's, once listening. */
  readonly ready: Promise<string>;
  readonly logPath: string;

  constructor(
    readonly role: ChildRole,
    dir: string,
    config: string,
  ) {
    const configPath = path.join(dir, `${role}.yaml`);
    this.logPath = path.join(dir, `${role}.log`);
    writeFileSync(configPath, config);
    this.#child = fork(CHILD, [role, configPath, this.logPath], {
      execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = new Error(`the ${role} process exited (${signal ?? code})`);
        reject(this.#exit);
        for (const waiter of this.#pending.splice(0)) waiter.reject(this.#exit);
      });
      this.#child.on('message', (message: ChildAnswer) => {
        if (message.type === 'ready') resolve(message.url);
        else if (message.type === 'failed') {
          const error = new Error(`the ${role} process failed:\n${message.message}`);
          reject(error);
          this.#pending.shift()?.reject(error);
        } else this.#pending.shift()?.resolve(message);
      });
    });
    // Awaited by the caller; this only keeps an early exit from being an unhandled rejection meanwhile.
    this.ready.catch(() => {});
  }

  /** RSS and heap used, both read right after a full GC in the child. */
  async memory(): Promise<ChildMemory> {
    const answer = await this.#ask({ type: 'memory' });
    if (answer.type !== 'memory') throw new Error(`expected a memory reading, got ${answer.type}`);
    return { rssBytes: answer.rssBytes, heapUsedBytes: answer.heapUsedBytes };
  }

  /** Writes a heap snapshot of the child (after a full GC) and returns its path. */
  async heapSnapshot(file: string): Promise<string> {
    const answer = await this.#ask({ type: 'heap-snapshot', path: file });
    if (answer.type !== 'heap-snapshot') throw new Error(`expected a heap snapshot, got ${answer.type}`);
    return answer.path;
  }

  #ask(message: ChildRequest): Promise<ChildAnswer> {
    return new Promise((resolve, reject) => {
      if (this.#exit) return reject(this.#exit);
      this.#pending.push({ resolve, reject });
      this.#child.send(message);
    });
  }

  /** Closes the child's servers (and flushes its log), then waits for the process to exit. */
  stop(): Promise<void> {
    if (this.#exit) return Promise.resolve();
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.send({ type: 'stop' } satisfies ChildRequest);
    });
  }

  kill(): void {
    if (!this.#exit) this.#child.kill();
  }
}
