/**
 * The stack the console's browser tests drive: examples/local.yaml copied to a temp dir with its
 * simulated backends and pods moved to loopback addresses of the caller's (so each test file runs beside
 * the others), the real local stack over it (ext-proc and the dev gateway over real gRPC, a SQLite request
 * store), and the console over the same store and file with the file writer, as `agent-router start`
 * wires them, requiring the admin token. The web app is built first, into this stack's own temp dir (so
 * test files running at once never build over each other's console/web/dist), and a targeted run
 * tests the sources as they are.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { openSqliteStore } from '../../../analytics/store/sqlite.ts';
import { type LocalStack, startLocalStack } from '../../../cli/local-stack.ts';
import { fileConfigWriter } from '../../../config/file-writer.ts';
import { fixedToken } from '../../../console/auth.ts';
import { type RolloutRun, runRollouts } from '../../../console/rollout/run.ts';
import { type ConsoleOptions, type ConsoleServer, startConsole } from '../../../console/server.ts';
import { loadConsoleApp } from '../../../console/static.ts';
import { buildConsoleApp } from '../../../console/web/build.ts';
import { supportedProviders } from '../../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../../helpers/log-capture.ts';
import { refusedPort } from '../../helpers/stack.ts';

export const ADMIN_TOKEN = 'console-browser-test-admin-token-5d21';
export const TEAM_A = 'sk-agent-router-team-a';

export interface ConsoleStack {
  stack: LocalStack;
  console: ConsoleServer;
  configPath: string;
  logs: ReturnType<typeof capturingLogger>;
  /** The console's log lines of requests it failed (5xx), for a test to show when a page met one. */
  consoleFailures(): string[];
  /**
   * A second console over the same store and file: open (no admin token: loopback only) and read-only,
   * as a GitOps user runs it. Closed with the stack.
   */
  readOnlyConsole(): Promise<ConsoleServer>;
  /** A client of the gateway with `apiKey` (team-a's by default). */
  gateway(apiKey?: string): OpenAI;
  /** Sends `count` chat completions to `model`, 8 at a time; the resolved model of each, once stored. */
  chat(model: string, count: number, headers?: (i: number) => Record<string, string>): Promise<string[]>;
  close(): Promise<void>;
}

export interface ConsoleStackOptions extends Pick<ConsoleOptions, 'rollouts'> {
  /**
   * Runs the real rollout controller over the stack's store and file, ticking every `intervalMs`, as
   * `agent-router start` does; the console reports its view. Takes the place of `rollouts`.
   */
  liveRollouts?: { intervalMs: number };
  /** Changes the copied examples/local.yaml before the stack reads it. */
  editConfig?: (yaml: string) => string;
}

/**
 * `options.rollouts`: what the console reports as the rollout controller's view (GET /api/v1/rollouts).
 * `backends` and `pods`: the address prefixes replacing 127.0.0.1 (backends at 127.0.0.1x) and
 * 127.0.0.2 (pods at 127.0.0.2x), e.g. '127.0.0.7' puts the backends at 127.0.0.71–74. Their port is
 * a free one instead of 8000, so even two runs of the same file at once do not collide.
 */
export async function startConsoleStack(
  addresses: { backends: string; pods: string },
  options: ConsoleStackOptions = {},
): Promise<ConsoleStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-web-'));
  const app = loadConsoleApp((await buildConsoleApp(path.join(dir, 'app'))).outDir);
  const configPath = path.join(dir, 'local.yaml');
  const [backendPort, podPort] = [await refusedPort(), await refusedPort()];
  const example = readFileSync('examples/local.yaml', 'utf8');
  const copy = example
    .replace(/127\.0\.0\.1(\d):8000/g, `${addresses.backends}$1:${backendPort}`)
    .replace(/podIP: 127\.0\.0\.2(\d)/g, `podIP: ${addresses.pods}$1`)
    .replace('targetPorts: [{ number: 8000 }]', `targetPorts: [{ number: ${podPort} }]`);
  if (copy.includes(':8000') || copy.includes('number: 8000'))
    throw new Error('examples/local.yaml names port 8000 where this helper does not expect it: teach it');
  writeFileSync(configPath, options.editConfig ? options.editConfig(copy) : copy);
  const logs = capturingLogger();
  const store = openSqliteStore({ dataDir: path.join(dir, 'data') });
  const stack = await startLocalStack({
    configPath,
    logger: logs.logger,
    gatewayPort: 0,
    grpcPort: 0,
    store,
  });
  const writer = fileConfigWriter(configPath, { supportedProviders });
  // Started after the stack watches the file, as `agent-router start` orders them.
  const rolloutRun: RolloutRun | undefined = options.liveRollouts
    ? runRollouts({ writer, store, logger: logs.logger, intervalMs: options.liveRollouts.intervalMs })
    : undefined;
  const consoleServer = await startConsole({
    host: '127.0.0.1',
    port: 0,
    store,
    config: stack.extProc.store,
    adminToken: fixedToken(ADMIN_TOKEN, 'test'),
    logger: logs.logger,
    writer,
    app,
    ...(rolloutRun ? { rollouts: { status: () => rolloutRun.status() } } : {}),
    ...(options.rollouts && !rolloutRun ? { rollouts: options.rollouts } : {}),
  });
  const extra: ConsoleServer[] = [];
  const gateway = (apiKey = TEAM_A) =>
    new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 });
  return {
    stack,
    console: consoleServer,
    configPath,
    logs,
    consoleFailures: () => logs.lines.filter((l) => l.includes('"console_failed"')),
    gateway,
    async readOnlyConsole() {
      const server = await startConsole({
        host: '127.0.0.1',
        port: 0,
        store,
        config: stack.extProc.store,
        adminToken: undefined,
        logger: logs.logger,
        writer: fileConfigWriter(configPath, { supportedProviders }),
        readOnly: true,
        app,
      });
      extra.push(server);
      return server;
    },
    async chat(model, count, headers = () => ({})) {
      const client = gateway();
      const resolved: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < count; i = next++) {
            const { response } = await client.chat.completions
              .create(
                { model, messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 4 },
                { headers: headers(i) },
              )
              .withResponse();
            resolved.push(response.headers.get('x-agent-router-resolved-model') ?? '');
          }
        }),
      );
      await stack.writer!.flush();
      return resolved;
    },
    async close() {
      await Promise.all(extra.map((c) => c.close()));
      await rolloutRun?.stop();
      await consoleServer.close();
      await stack.close();
    },
  };
}
