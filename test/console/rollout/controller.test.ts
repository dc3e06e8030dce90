/**
 * The rollout controller over real parts: the file ConfigWriter editing a temporary copy of a YAML
 * configuration (comments kept, whole file validated), a real SQLite request store holding the step's
 * requests, and the experiment statistics. The clock is the test's, so a step "lasts" without waiting;
 * the records are written straight to the store, as ext-proc would after each request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { RequestRecord } from '../../../analytics/record.ts';
import { openSqliteStore, type SqliteStore } from '../../../analytics/store/sqlite.ts';
import { fileConfigWriter } from '../../../config/file-writer.ts';
import { RolloutController } from '../../../console/rollout/controller.ts';
import { supportedProviders } from '../../../ext-proc/translate/registry.ts';
import { capturingLogger } from '../../helpers/log-capture.ts';

const CONFIG = `# The canary of chat-model, driven by the rollout controller.
apiVersion: v1
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
  defaultForKeyless: true
  routes:
    # The version in service.
    - name: chat-old
      model: chat-model
      backendRef: { name: openai }
      modelNameOverride: gpt-old
      weight: 100
    # The candidate, not yet serving.
    - name: chat-new
      model: chat-model
      backendRef: { name: openai }
      modelNameOverride: gpt-new
      weight: 0
  rollouts:
    - model: chat-model
      steps: [5, 20, 50, 100]
      stepDuration: 10m
      minRequests: 100
      gates: { errorRate: 2, ttftP90: 20 }
`;

const T0 = Date.UTC(2026, 11, 2, 12);
const MINUTE = 60_000;
const temps: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setUp() {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-router-rollout-'));
  temps.push(dir);
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, CONFIG);
  const store = openSqliteStore({ dataDir: dir });
  stores.push(store);
  let now = T0;
  const logs = capturingLogger();
  const options = {
    writer: fileConfigWriter(file, { supportedProviders }),
    store,
    logger: logs.logger,
    stateFile: path.join(dir, 'rollouts.json'),
    now: () => now,
  };
  const controller = new RolloutController(options);
  const weights = () => {
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
    const routes = docs.find((d) => d.kind === 'RouteConfig').spec.routes as {
      name: string;
      weight: number;
    }[];
    return Object.fromEntries(routes.map((r) => [r.name, r.weight]));
  };
  let n = 0;
  /** `count` requests of each variant in the minute before now, the candidate's TTFT × `slower`. */
  const traffic = async (count: number, slower = 1, candidateErrors = 0) => {
    const records: RequestRecord[] = [];
    for (let i = 0; i < 2 * count; i++) {
      const candidate = i % 2 === 1;
      const j = n++;
      const ttft = 200 + ((j * 37) % 100);
      records.push({
        id: `r${j}`,
        time: now - MINUTE + (i * MINUTE) / (2 * count),
        routeConfig: 'default/main',
        routeEntry: candidate ? 'chat-new' : 'chat-old',
        decision: 'sticky-split',
        logicalModel: 'chat-model',
        resolvedModel: candidate ? 'gpt-new' : 'gpt-old',
        sessionHash: `s${j % 400}-${candidate ? 'n' : 'o'}`,
        attempts: [{ backend: 'default/openai', status: 200 }],
        status: candidate && i < 2 * candidateErrors ? 502 : 200,
        stream: true,
        cancelled: false,
        latencyMs: ttft * 3,
        ttftMs: candidate ? ttft * slower : ttft,
      });
    }
    await store.write(records);
  };
  return {
    file,
    controller,
    options,
    logs,
    weights,
    traffic,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('the rollout controller', () => {
  it('steps a healthy candidate 5 → 20 → 50 → 100 through the file, one step per stepDuration with its sample', async () => {
    const t = setUp();
    await t.controller.tick();
    expect(t.weights()).toEqual({ 'chat-old': 95, 'chat-new': 5 });
    expect(readFileSync(t.file, 'utf8')).toContain('# The candidate, not yet serving.');

    for (const [from, to] of [
      [5, 20],
      [20, 50],
      [50, 100],
    ] as const) {
      t.advance(5 * MINUTE);
      await t.traffic(300);
      const [waiting] = await t.controller.tick();
      expect(waiting).toMatchObject({ stage: from, decision: 'wait' });
      expect(waiting!.reason).toContain('holding');
      t.advance(6 * MINUTE);
      await t.traffic(300);
      const [advanced] = await t.controller.tick();
      expect(advanced, advanced?.reason).toMatchObject({ decision: 'advance', stage: to });
      expect(t.weights()['chat-new']).toBe(to);
    }
    const [done] = await t.controller.tick();
    expect(done).toMatchObject({ phase: 'completed', decision: 'complete', stage: 100 });
    // Every step the controller took, oldest first, for a console that polls slower than it steps.
    expect(done!.transitions.map((s) => [s.decision, s.from, s.to])).toEqual([
      ['advance', 0, 5],
      ['advance', 5, 20],
      ['advance', 20, 50],
      ['advance', 50, 100],
    ]);
    expect(done!.transitions.every((s) => s.reason.length > 0)).toBe(true);
    // The old variant is marked baseline, so it stays the one compared with after it lost the majority.
    expect(readFileSync(t.file, 'utf8')).toMatch(/name: chat-old[\s\S]*baseline: true/);
    const events = t.logs.records().filter((r) => String(r.event).startsWith('rollout_'));
    expect(events.map((e) => [e.event, e.to])).toEqual([
      ['rollout_advanced', 5],
      ['rollout_advanced', 20],
      ['rollout_advanced', 50],
      ['rollout_completed', 100],
    ]);
  });

  it('rolls a failing candidate back to 0 at once, and leaves it there, across a restart', async () => {
    const t = setUp();
    await t.controller.tick();
    t.advance(2 * MINUTE);
    await t.traffic(400, 1.8);
    const [rolledBack] = await t.controller.tick();
    expect(rolledBack).toMatchObject({ decision: 'rollback', phase: 'rolled-back', stage: 0 });
    expect(rolledBack!.reason).toContain('ttftP90 of chat-new');
    expect(rolledBack!.transitions.at(-1)).toMatchObject({ decision: 'rollback', from: 5, to: 0 });
    expect(rolledBack!.transitions.at(-1)!.reason).toBe(rolledBack!.reason);
    expect(t.weights()).toEqual({ 'chat-old': 100, 'chat-new': 0 });

    // A restarted controller reads the state file: the candidate at 0 stays there.
    const restarted = new RolloutController(t.options);
    t.advance(20 * MINUTE);
    const [still] = await restarted.tick();
    expect(still).toMatchObject({ decision: 'wait', phase: 'rolled-back', stage: 0 });
    expect(t.weights()['chat-new']).toBe(0);
  });

  it("takes a rolled-back state from its reporter's restore (a new leader), and leaves the candidate at 0", async () => {
    const t = setUp();
    writeFileSync(
      t.file,
      readFileSync(t.file, 'utf8').replace('weight: 100', 'weight: 100\n      baseline: true'),
    );
    const restored = new RolloutController({
      ...t.options,
      stateFile: undefined,
      reporter: {
        statuses: async () => {},
        transition: async () => {},
        restore: async () =>
          new Map([
            [
              'default/main',
              new Map([
                [
                  'chat-model',
                  { stage: 0, since: T0 - MINUTE, phase: 'rolled-back' as const, reason: 'slow' },
                ],
              ]),
            ],
          ]),
      },
    });
    const [status] = await restored.tick();
    expect(status).toMatchObject({ decision: 'wait', phase: 'rolled-back', reason: 'rolled back: slow' });
    expect(t.weights()['chat-new']).toBe(0);
  });

  it('decides nothing while its last state cannot be read', async () => {
    const t = setUp();
    const blind = new RolloutController({
      ...t.options,
      stateFile: undefined,
      reporter: {
        statuses: async () => {},
        transition: async () => {},
        restore: async () => {
          throw new Error('API server unavailable');
        },
      },
    });
    expect(await blind.tick()).toEqual([]);
    expect(t.weights()['chat-new']).toBe(0);
    expect(t.logs.records().some((r) => r.event === 'rollout_restore_failed')).toBe(true);
  });

  it('starts a new step from a weight set by hand', async () => {
    const t = setUp();
    await t.controller.tick();
    writeFileSync(
      t.file,
      readFileSync(t.file, 'utf8').replace('weight: 95', 'weight: 70').replace('weight: 5', 'weight: 30'),
    );
    t.advance(MINUTE);
    const [moved] = await t.controller.tick();
    expect(moved).toMatchObject({ stage: 30, decision: 'wait', stepStartedAt: T0 + MINUTE });
    t.advance(11 * MINUTE);
    await t.traffic(300);
    const [next] = await t.controller.tick();
    expect(next).toMatchObject({ decision: 'advance', stage: 50 });
  });
});
