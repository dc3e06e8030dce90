/**
 * Two console replicas in Kubernetes mode against the list/watch test server: only the one holding the
 * rollouts Lease runs the controller, and when it stops the other takes over. The controllers write
 * through a file writer here (the writer is not what is under test), so a rollout's first step shows
 * who led.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../../analytics/store/sqlite.ts';
import { fileConfigWriter } from '../../../config/file-writer.ts';
import { type RolloutRun, runRollouts } from '../../../console/rollout/run.ts';
import { supportedProviders } from '../../../ext-proc/translate/registry.ts';
import { eventually } from '../../helpers/log-capture.ts';
import { FakeApiServer } from '../../kube/fake-api-server.ts';
import { NS, silentLogger } from '../../kube/objects.ts';

const CONFIG = `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { provider: sk-provider-secret }
---
apiVersion: agentrouter.dev/v1alpha1
kind: ProviderBackend
metadata: { name: openai }
spec:
  provider: OpenAI
  credentials: { secretRef: { name: keys, key: provider } }
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    - { name: old, model: chat-model, backendRef: { name: openai }, weight: 100 }
    - { name: new, model: chat-model, backendRef: { name: openai }, weight: 0 }
  rollouts:
    - { model: chat-model, steps: [10, 100], gates: { errorRate: 1 } }
`;
const TIMING = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 50 };

let fake: FakeApiServer;
let dir: string;
let store: SqliteStore;
const runs: RolloutRun[] = [];
beforeEach(async () => {
  fake = await FakeApiServer.start();
  dir = mkdtempSync(path.join(tmpdir(), 'agent-router-rollout-run-'));
  store = openSqliteStore({ dataDir: dir });
});
afterEach(async () => {
  await Promise.all(runs.splice(0).map((r) => r.stop()));
  await store.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function replica(identity: string, file: string): RolloutRun {
  const run = runRollouts({
    writer: fileConfigWriter(file, { supportedProviders }),
    store,
    logger: silentLogger,
    intervalMs: 50,
    kubernetes: {
      kubeConfig: fake.kubeConfig(identity),
      leaseNamespace: NS,
      identity,
      leaseName: 'ar-agent-router-rollouts',
      timing: TIMING,
    },
  });
  runs.push(run);
  return run;
}

describe('rollout controller replicas', () => {
  it('runs on the Lease holder only, and moves to the other replica when the holder stops', async () => {
    // One file per replica: whichever controller runs takes its file's rollout to its first step.
    const files = ['a', 'b'].map((name) => {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, CONFIG);
      return file;
    });
    const stepped = (file: string) => /name: new, .*weight: 10\b/.test(readFileSync(file, 'utf8'));
    const a = replica('console-a', files[0]!);
    await eventually(() => (stepped(files[0]!) ? true : undefined));
    const b = replica('console-b', files[1]!);
    // b cannot lead while a holds the Lease: its rollout does not move.
    await new Promise((r) => setTimeout(r, 500));
    expect(stepped(files[1]!)).toBe(false);
    expect(b.status()).toEqual([]);
    expect(a.status()).toHaveLength(1);
    expect(fake.get('Lease', NS, 'ar-agent-router-rollouts')?.spec).toMatchObject({
      holderIdentity: 'console-a',
    });

    await a.stop();
    runs.splice(runs.indexOf(a), 1);
    await eventually(() => (stepped(files[1]!) ? true : undefined));
    expect(fake.get('Lease', NS, 'ar-agent-router-rollouts')?.spec).toMatchObject({
      holderIdentity: 'console-b',
    });
    await eventually(() => (b.status().length === 1 ? true : undefined));
  });
});
