/**
 * Entry of a measured server process: `child.ts <kind> [config]` (kinds: ServerKind; `ext-proc` takes
 * its manifest and `picker` its pool manifest as config). It runs compiled, from outside the source
 * tree (bench/compiled.ts), so it finds no file by its own location. Reports its port over IPC, then
 * answers CPU-usage requests so the parent can bracket exactly its measured window. Run under
 * `--expose-gc` so a window can start from a collected heap, leaving garbage from warm-up or an
 * earlier round out of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadSnapshot } from '../../config/file-source.ts';
import { startExtProc } from '../../ext-proc/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { createLogger, logDestination } from '../../observability/logger.ts';
import { startNoopExtProc } from './noop.ts';
import { startNoopHttp2 } from './noop-http2.ts';
import { startNoopLean } from './noop-lean.ts';
import { startNoopPicker } from './noop-picker.ts';
import { type PickerAnswer, type PickerRequest, startBenchPicker } from './picker.ts';

const SERVER_KINDS = [
  'ext-proc',
  'noop',
  'noop-http2',
  'noop-lean',
  'passthrough',
  'picker',
  'noop-picker',
] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export type ParentMessage =
  | { type: 'cpu'; collect: boolean }
  | { type: 'memory-reset' }
  | { type: 'memory-peak' }
  | { type: 'stop' }
  | PickerRequest;
export type ChildMessage =
  | { type: 'ready'; grpcPort: number }
  | { type: 'cpu'; user: number; system: number }
  | { type: 'memory'; rssBytes: number; peakRssBytes: number }
  | { type: 'failed'; message: string }
  | PickerAnswer;

interface Started {
  grpcPort: number;
  shutdown(): Promise<void>;
  /** Kind-specific requests (the picker's); a kind without them answers `failed`. */
  handle?(message: PickerRequest): Promise<ChildMessage>;
}

async function start(kind: ServerKind, config: string | undefined): Promise<Started> {
  if (kind === 'noop') return startNoopExtProc();
  if (kind === 'noop-http2') return startNoopHttp2();
  if (kind === 'noop-lean') return startNoopLean();
  if (kind === 'passthrough') return startNoopExtProc('127.0.0.1:0', true);
  if (kind === 'noop-picker') return startNoopPicker();
  if (kind === 'picker') {
    if (config === undefined) throw new Error('the picker needs its pool manifest');
    return startBenchPicker(config);
  }
  if (config === undefined) throw new Error('ext-proc needs its manifest');
  const server = await startExtProc({
    snapshot: loadSnapshot(config, { supportedProviders }),
    // The per-request log line is real work: write it, to a sink nobody reads.
    logger: createLogger({ level: 'info', destination: logDestination('/dev/null') }),
    grpcAddress: '127.0.0.1:0',
  });
  return { grpcPort: server.grpcPort!, shutdown: () => server.shutdown(1000) };
}

/** Current and peak resident set size from /proc/self/status (VmRSS, VmHWM; kB). */
function residentSet(): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

function send(message: ChildMessage): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind ${kind}`);
  const server = await start(kind, process.argv[3]);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cpu') {
      if (message.collect) globalThis.gc?.();
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', user, system });
    } else if (message.type === 'memory-reset') {
      globalThis.gc?.();
      // Linux: writing 5 to clear_refs resets the peak-RSS high-water mark (proc(5), VmHWM).
      writeFileSync('/proc/self/clear_refs', '5');
      send({ type: 'memory', ...residentSet() });
    } else if (message.type === 'memory-peak') {
      send({ type: 'memory', ...residentSet() });
    } else if (message.type === 'stop') {
      // process.exit, not a drained event loop: --cpu-prof profiles are written on exit either way.
      void server.shutdown().finally(() => process.exit(0));
    } else if (server.handle) {
      server.handle(message).then(send, (error: Error) => {
        send({ type: 'failed', message: error.stack ?? error.message });
      });
    } else {
      send({ type: 'failed', message: `${kind} server does not answer ${message.type}` });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', grpcPort: server.grpcPort });
}

main().catch((error: Error) => {
  send({ type: 'failed', message: error.stack ?? error.message });
  process.exit(1);
});
