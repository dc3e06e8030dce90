/**
 * A console over a temporary copy of examples/local.yaml, as the CLI wires it in file mode: the real
 * file writer, the real file watch feeding a SnapshotStore, a SQLite request store, real HTTP on
 * loopback, and a capturing logger, so tests see the audit lines exactly as printed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import { loadSnapshot, watchConfig } from '../../config/file-source.ts';
import { fileConfigWriter } from '../../config/file-writer.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import { SnapshotStore } from '../../config/store.ts';
import { fixedToken } from '../../console/auth.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

export const EXAMPLE = fileURLToPath(new URL('../../examples/local.yaml', import.meta.url));
export const ADMIN_TOKEN = 'console-admin-token-for-write-tests-7f3a';

export interface WriteHarness {
  url: string;
  file: string;
  config: SnapshotStore;
  logs: ReturnType<typeof capturingLogger>;
  text(): string;
  /** Waits until the running configuration satisfies `check` (the hot reload applied a write). */
  applied(check: (snapshot: Snapshot) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWriteHarness(
  options: { token?: string | null; readOnly?: boolean } = {},
): Promise<WriteHarness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-console-writes-'));
  const file = path.join(dir, 'local.yaml');
  copyFileSync(EXAMPLE, file);
  const config = new SnapshotStore(loadSnapshot(file, { supportedProviders }));
  const logs = capturingLogger();
  const watcher = watchConfig(
    file,
    { supportedProviders },
    {
      onSnapshot: (s) => config.replace(s),
      onRejected: (e) => logs.logger.error({ event: 'config_rejected' }, e.message),
    },
    { debounceMs: 20, settleMs: 50 },
  );
  const store: RequestStore = await openSqliteStore({ dataDir: path.join(dir, 'data') });
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  let server: ConsoleServer;
  try {
    server = await startConsole({
      host: '127.0.0.1',
      port: 0,
      store,
      config,
      adminToken: token === null ? undefined : fixedToken(token, 'test'),
      logger: logs.logger,
      writer: fileConfigWriter(file, { supportedProviders }),
      readOnly: options.readOnly === true,
    });
  } catch (error) {
    watcher.close();
    await store.close();
    throw error;
  }
  return {
    url: server.url,
    file,
    config,
    logs,
    text: () => readFileSync(file, 'utf8'),
    async applied(check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(config.current)) {
        if (Date.now() > deadline) throw new Error('the running configuration did not follow the write');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      watcher.close();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Call {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read fields of the JSON answers they assert on
  body: any;
}

/** One request; `json` is sent as the body with the JSON content type unless headers say otherwise. */
export async function call(
  url: string,
  method: string,
  options: { json?: unknown; headers?: Record<string, string>; body?: string } = {},
): Promise<Call> {
  const headers: Record<string, string> = {
    ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  const response = await fetch(url, {
    method,
    headers,
    ...(options.json !== undefined
      ? { body: JSON.stringify(options.json) }
      : options.body !== undefined
        ? { body: options.body }
        : {}),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export const bearer = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });
