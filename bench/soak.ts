/**
 * `npm run soak`: a bounded soak of the local stack. Runs the real stack (examples/local.yaml: dev
 * gateway, ext-proc, endpoint picker) in its own process, its simulated backends and vLLM pods on loopback
 * in another, drives a seeded mix of buffered and streaming chat completions through it with the `openai`
 * SDK for a set time, then prints a table and one JSON line per figure; memory figures are the stack's. Exits 1 if any request failed: a non-2xx, an SDK error, or a stream that ended without its
 * finish chunk, its usage chunk (when asked for) or [DONE].
 * Options: `--duration S` (default 300), `--concurrency N` (16), `--stream-ratio R` (0.5),
 * `--warmup S` (10% of the duration, at least 15 s if that is under half of it), `--seed N` (1),
 * `--heap-snapshots DIR` (write the stack's heap at the start and end of the measured window there).
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type BenchResult, report } from './report.ts';
import { Load } from './soak/load.ts';
import { type ChildMemory, SoakProcess, soakConfigs } from './soak/processes.ts';
import { SOAK_STORE_ENV } from './soak/store-env.ts';
import { Traffic } from './soak/traffic.ts';

/** Wait before each memory reading once the load is drained, so closing sockets and log writes settle. */
const SETTLE_MS = 500;
const MB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
    'stream-ratio': { type: 'string', default: '0.5' },
    warmup: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'heap-snapshots': { type: 'string' },
    // The stack also writes every request record to a SQLite store in a temporary directory, as
    // `npm start` does; the stack process reads it from the environment it inherits.
    store: { type: 'string', default: 'none' },
  },
});
if (values.store !== 'none' && values.store !== 'sqlite') {
  console.error(`--store must be none or sqlite, got ${values.store}`);
  process.exit(2);
}
process.env[SOAK_STORE_ENV] = values.store;

function option(name: string, text: string, valid: (n: number) => boolean, what: string): number {
  const value = Number(text);
  if (text.trim() === '' || !valid(value)) {
    console.error(`--${name} must be ${what}, got ${text}`);
    process.exit(2);
  }
  return value;
}

const durationS = option('duration', values.duration, (n) => n > 0, 'a positive number of seconds');
const concurrency = option(
  'concurrency',
  values.concurrency,
  (n) => Number.isInteger(n) && n > 0,
  'a positive integer',
);
const streamRatio = option(
  'stream-ratio',
  values['stream-ratio'],
  (n) => n >= 0 && n <= 1,
  'between 0 and 1',
);
const seed = option('seed', values.seed, Number.isInteger, 'an integer');
const warmupS =
  values.warmup === undefined
    ? Math.max(durationS / 10, Math.min(15, durationS / 2))
    : option('warmup', values.warmup, (n) => n >= 0 && n < durationS, 'at least 0 and under --duration');
const snapshotDir = values['heap-snapshots'];

const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-soak-'));
const subnet = [randomInt(100, 255), randomInt(1, 255)] as const;
const configs = soakConfigs(subnet);
const sims = new SoakProcess('sims', dir, configs.sims);
let stack: SoakProcess | undefined;
function killChildren(): void {
  stack?.kill();
  sims.kill();
}
process.once('SIGINT', () => {
  killChildren();
  process.exit(130);
});

/** Drains the load, lets it settle, then reads (and optionally snapshots) the stack's memory. */
async function measure(child: SoakProcess, load: Load, label: string): Promise<ChildMemory> {
  await load.drain();
  await sleep(SETTLE_MS);
  const memory = await child.memory();
  if (snapshotDir !== undefined) {
    const file = await child.heapSnapshot(path.resolve(snapshotDir, `soak-${label}.heapsnapshot`));
    console.error(`heap snapshot (${label}): ${file}`);
  }
  return memory;
}

/** Request log lines, and lines at warn level or above, in the stack's log (pino levels: warn is 40). */
function logSummary(file: string): { requests: number; warnings: number; firstWarning: string | undefined } {
  let requests = 0;
  let warnings = 0;
  let firstWarning: string | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.includes('"event":"request"')) requests++;
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= 40) {
      warnings++;
      firstWarning ??= line.slice(0, 300);
    }
  }
  return { requests, warnings, firstWarning };
}

async function main(): Promise<number> {
  console.error(`starting the simulated model servers and the local stack (configs and logs in ${dir})…`);
  await sims.ready;
  stack = new SoakProcess('stack', dir, configs.stack);
  const gatewayUrl = await stack.ready;
  const traffic = new Traffic(gatewayUrl, seed, streamRatio);
  console.error(`soaking for ${durationS} s at concurrency ${concurrency} (warm-up ${warmupS} s)…`);
  let loadMs = 0;
  let started = performance.now();
  const load = new Load(() => traffic.send(), concurrency);
  await sleep(warmupS * 1000);
  loadMs += performance.now() - started;
  const start = await measure(stack, load, 'start');
  started = performance.now();
  load.resume();
  await sleep((durationS - warmupS) * 1000);
  await load.stop();
  loadMs += performance.now() - started;
  const end = await measure(stack, load, 'end');
  await stack.stop();
  await sims.stop();
  const log = logSummary(stack.logPath);

  const results: BenchResult[] = [
    { name: 'soak.requests', value: load.requests, unit: 'requests' },
    { name: 'soak.errors', value: load.errors, unit: 'requests' },
    { name: 'soak.requests-per-s', value: load.requests / (loadMs / 1000), unit: 'requests/s' },
    { name: 'soak.p50-ms', value: load.latency.quantile(0.5), unit: 'ms' },
    { name: 'soak.p99-ms', value: load.latency.quantile(0.99), unit: 'ms' },
    { name: 'soak.rss-start-mb', value: start.rssBytes / MB, unit: 'MB' },
    { name: 'soak.rss-end-mb', value: end.rssBytes / MB, unit: 'MB' },
    { name: 'soak.heap-start-mb', value: start.heapUsedBytes / MB, unit: 'MB' },
    { name: 'soak.heap-end-mb', value: end.heapUsedBytes / MB, unit: 'MB' },
    { name: 'soak.heap-growth-ratio', value: end.heapUsedBytes / start.heapUsedBytes, unit: 'ratio' },
  ];
  const header = [
    `soak: ${durationS} s of mixed chat completions (stream ratio ${streamRatio}, seed ${seed}) at concurrency ` +
      `${concurrency}: openai SDK -> dev gateway -> ext-proc -> simulated backends or endpoint-picked vLLM pods ` +
      `(examples/local.yaml on 127.${subnet[0]}.${subnet[1]}.0/24)`,
    'latency: per successful request, until the last byte of its body or stream, over the whole run ' +
      '(fixed log-spaced histogram, within 1%)',
    `memory: the stack's process alone (gateway, ext-proc, picker; the load generator and the model servers run ` +
      `in others), RSS and heapUsed after a full GC with no request in flight: start after a ${warmupS} s ` +
      'warm-up, end after the last request',
    `stack log: ${log.requests} request lines for ${load.requests} requests, ${log.warnings} at warn or above` +
      (log.firstWarning === undefined ? '' : `; first: ${log.firstWarning}`),
    ...[...load.failures].map(([kind, count]) => `failed: ${count} × ${kind}`),
  ];
  console.log(`${header.join('\n')}\n\n${report(results)}`);
  if (load.errors === 0 && log.warnings === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`kept the stack's config and log in ${dir}`);
  return load.errors === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    killChildren();
    process.exit(1);
  },
);
