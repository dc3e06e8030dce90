/**
 * A console in Kubernetes mode for tests: the list/watch test server (test/kube/fake-api-server.ts, the
 * API server's semantics; no real one can run here) holding the base objects plus a 95/5 split `ab`,
 * a real KubeSource watching it, and the console writing through server-side apply with its own field
 * manager. `app` serves a built web app (browser tests); without it the API alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import type { RequestStore } from '../../analytics/store/store.ts';
import { fixedToken } from '../../console/auth.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import type { ConsoleApp } from '../../console/static.ts';
import { supportedProviders } from '../../ext-proc/translate/registry.ts';
import { kubeConfigWriter } from '../../kube/config-writer.ts';
import { DEFAULT_SECRET_SELECTOR, type KubeSource, startKubeSource } from '../../kube/source.ts';
import type { Logger } from '../../observability/logger.ts';
import { FakeApiServer } from '../kube/fake-api-server.ts';
import { backend, baseObjects, FAST, NS, route, routeConfig } from '../kube/objects.ts';

/** The `ab` RouteConfig's routes: v1 the baseline at 95, v2 at 5 on its own backend. */
export const AB_SPLIT = () => [
  route('v1', 'ab-model', 'openai', { weight: 95, baseline: true }),
  route('v2', 'ab-model', 'openai-b', { weight: 5 }),
];

export interface KubeConsole {
  fake: FakeApiServer;
  source: KubeSource;
  server: ConsoleServer;
  store: RequestStore;
  close(): Promise<void>;
}

export async function startKubeConsole(options: {
  token: string;
  logger: Logger;
  app?: (dir: string) => Promise<ConsoleApp>;
}): Promise<KubeConsole> {
  const fake = await FakeApiServer.start();
  for (const o of baseObjects()) fake.apply(o);
  fake.apply(backend('openai-b'));
  fake.apply(routeConfig('ab', AB_SPLIT()));
  const source = await startKubeSource({
    kubeConfig: fake.kubeConfig(),
    namespaces: [NS],
    ...FAST,
    compile: { supportedProviders },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-kube-console-'));
  const store = openSqliteStore({ dataDir: dir });
  const server = await startConsole({
    host: '127.0.0.1',
    port: 0,
    store,
    config: source,
    adminToken: fixedToken(options.token, 'test'),
    logger: options.logger,
    ...(options.app ? { app: await options.app(path.join(dir, 'app')) } : {}),
    writer: kubeConfigWriter({
      kubeConfig: fake.kubeConfig('console'),
      namespaces: [NS],
      secretLabelSelector: DEFAULT_SECRET_SELECTOR,
      compile: { supportedProviders },
    }),
  });
  return {
    fake,
    source,
    server,
    store,
    async close() {
      await server.close();
      await source.close();
      await store.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
