/**
 * Entry of the soak's two server processes, `child.ts <role> <config> <log file>`:
 * - `sims`: the simulated backends and vLLM pods of the config (what `agent-router sim` runs);
 * - `stack`: the real local stack (dev gateway, ext-proc, endpoint picker) on a config whose backends and
 *   pods are not annotated as simulated, so it starts no model server of its own.
 * Apart, the stack's heap holds only the stack: not the load generator (the parent), and not the model
 * servers, whose prefix caches fill for as long as new prompts arrive. Each reports readiness over IPC,
 * then answers memory readings taken after a full GC (run under `--expose-gc`) and heap-snapshot requests.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import pino from 'pino';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import { startLocalStack } from '../../cli/local-stack.ts';
import { readManifests } from '../../config/file-source.ts';
import { ConfigError } from '../../config/problems.ts';
import { secretLookup } from '../../config/secrets.ts';
import { createLogger, type Logger } from '../../observability/logger.ts';
import { simulatedBackends, simulatedPods, startFleet, startSimulatedPods } from '../../sim/fleet.ts';
import { SOAK_STORE_ENV } from './store-env.ts';

export type ChildRole = 'sims' | 'stack';
export type ChildRequest = { type: 'memory' } | { type: 'heap-snapshot'; path: string } | { type: 'stop' };
export type ChildAnswer =
  | { type: 'ready'; url: string }
  | { type: 'memory'; rssBytes: number; heapUsedBytes: number }
  | { type: 'heap-snapshot'; path: string }
  | { type: 'failed'; message: string };

interface Started {
  /** The stack's gateway URL; for the sims, the first server's. */
  url: string;
  close(): Promise<void>;
}

function send(message: ChildAnswer): void {
  process.send!(message);
}

function fail(error: Error): void {
  send({ type: 'failed', message: error.stack ?? error.message });
}

async function startSims(configPath: string): Promise<Started> {
  const { manifests, problems } = readManifests(configPath);
  if (problems.length > 0) throw new ConfigError(problems);
  const sims = await startFleet(simulatedBackends(manifests, secretLookup(manifests)));
  sims.push(...(await startSimulatedPods(simulatedPods(manifests))));
  if (sims.length === 0) throw new Error(`${configPath} annotates no backend or pod as simulated`);
  return { url: sims[0]!.url, close: () => Promise.all(sims.map((s) => s.close())).then(() => undefined) };
}

async function startStack(configPath: string, logger: Logger): Promise<Started> {
  const store =
    process.env[SOAK_STORE_ENV] === 'sqlite'
      ? openSqliteStore({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'agent-router-soak-store-')) })
      : undefined;
  const stack = await startLocalStack({
    configPath,
    logger,
    gatewayPort: 0,
    grpcPort: 0,
    ...(store ? { store } : {}),
  });
  return { url: stack.gatewayUrl, close: () => stack.close() };
}

/**
 * Two full collections with a turn of the event loop between them: the first can leave garbage that only
 * becomes unreachable once finalizers and closed handles' callbacks have run.
 */
async function collect(): Promise<void> {
  if (globalThis.gc === undefined) throw new Error('the soak child needs --expose-gc');
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}

async function main(): Promise<void> {
  const [role, configPath, logPath] = process.argv.slice(2);
  if ((role !== 'sims' && role !== 'stack') || configPath === undefined || logPath === undefined) {
    throw new Error('usage: child.ts <sims|stack> CONFIG LOG');
  }
  // Every request log line is real work: written, asynchronously, to a file read only if something failed.
  const logger = createLogger({
    level: 'info',
    destination: pino.destination({ dest: logPath, sync: false }),
  });
  const started = role === 'sims' ? await startSims(configPath) : await startStack(configPath, logger);
  process.on('message', (message: ChildRequest) => {
    if (message.type === 'memory') {
      void collect().then(() => {
        const { rss, heapUsed } = process.memoryUsage();
        send({ type: 'memory', rssBytes: rss, heapUsedBytes: heapUsed });
      }, fail);
    } else if (message.type === 'heap-snapshot') {
      void collect().then(() => send({ type: 'heap-snapshot', path: writeHeapSnapshot(message.path) }), fail);
    } else if (message.type === 'stop') {
      void started
        .close()
        .then(() => new Promise<void>((resolve) => logger.flush(() => resolve())))
        .finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: started.url });
}

main().catch((error: Error) => {
  fail(error);
  process.exit(1);
});
