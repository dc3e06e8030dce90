/**
 * Entry of a measured server process: `child.ts ext-proc|noop`. Reports its port over IPC, then answers
 * CPU-usage requests so the parent can bracket exactly its measured window. Run under `--expose-gc` so a
 * window can start from a collected heap, leaving garbage from warm-up or an earlier round out of it.
 */
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadSnapshot } from '../../config/file-source.ts';
import { startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { createLogger } from '../../observability/logger.ts';
import { startNoopExtProc } from './noop.ts';

export type ServerKind = 'ext-proc' | 'noop';

export type ParentMessage = { type: 'cpu'; collect: boolean } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; grpcPort: number }
  | { type: 'cpu'; user: number; system: number }
  | { type: 'failed'; message: string };

const CONFIG = fileURLToPath(new URL('../../examples/local.yaml', import.meta.url));

async function start(kind: ServerKind): Promise<{ grpcPort: number; shutdown(): Promise<void> }> {
  if (kind === 'noop') return startNoopExtProc();
  const server = await startExtProc({
    snapshot: loadSnapshot(CONFIG, { supportedProviders }),
    // The per-request log line is real work: write it, to a sink nobody reads.
    logger: createLogger({ level: 'info', destination: pino.destination('/dev/null') }),
    grpcAddress: '127.0.0.1:0',
  });
  return { grpcPort: server.grpcPort, shutdown: () => server.shutdown(1000) };
}

function send(message: ChildMessage): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (kind !== 'ext-proc' && kind !== 'noop') throw new Error(`unknown server kind ${kind}`);
  const server = await start(kind);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cpu') {
      if (message.collect) globalThis.gc?.();
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', user, system });
    } else {
      // process.exit, not a drained event loop: --cpu-prof profiles are written on exit either way.
      void server.shutdown().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', grpcPort: server.grpcPort });
}

main().catch((error: Error) => {
  send({ type: 'failed', message: error.stack ?? error.message });
  process.exit(1);
});
