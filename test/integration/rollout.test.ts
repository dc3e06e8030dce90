/**
 * Automated canary progression end to end: the local stack (dev gateway, ext-proc over gRPC, simulated
 * model servers, SQLite store, console) with its rollout controller ticking every 200 ms, traffic from
 * the official OpenAI SDK in sticky sessions. A healthy candidate is stepped 20 → 50 → 100 in the YAML
 * file (the hot reload makes the split follow); a candidate whose model server is five times slower to
 * the first token is rolled back to 0 on its first step.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { openSqliteStore } from '../../analytics/store/sqlite.ts';
import type { RolloutStatus } from '../../console/rollout/controller.ts';
import { eventually } from '../helpers/log-capture.ts';
import { backendYaml, COMMON_YAML, startTestStack, type TestStack } from '../helpers/stack.ts';

interface RolloutsAnswer {
  data: RolloutStatus[];
}

const stacks: TestStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

async function stack(candidateTtftMs: number): Promise<TestStack> {
  const t = await startTestStack(
    {
      stable: { apiKey: 'provider-secret', ttftMs: 20 },
      candidate: { apiKey: 'provider-secret', ttftMs: candidateTtftMs },
    },
    (urls) =>
      [
        COMMON_YAML,
        backendYaml('sim-stable', urls.stable!),
        backendYaml('sim-candidate', urls.candidate!),
        `
---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  routes:
    # The version in service.
    - { name: summarize-stable, model: summarize-model, backendRef: { name: sim-stable }, modelNameOverride: v1, weight: 100 }
    # The candidate, rolled out by the controller.
    - { name: summarize-canary, model: summarize-model, backendRef: { name: sim-candidate }, modelNameOverride: v2, weight: 0 }
  rollouts:
    - model: summarize-model
      steps: [20, 50, 100]
      stepDuration: 1s
      minRequests: 40
      gates: { errorRate: 5, ttftP90: 50 }
`,
      ].join(''),
    {
      store: openSqliteStore({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'agent-router-rollout-e2e-')) }),
      console: { port: 0, rollouts: { intervalMs: 200 } },
    },
  );
  stacks.push(t);
  return t;
}

/** Waits for the candidate's weight in the file, telling the controller's last word when it does not come. */
async function weightBecomes(t: TestStack, weight: number, timeoutMs: number): Promise<void> {
  try {
    await eventually(() => (canaryWeight(t) === weight ? true : undefined), timeoutMs);
  } catch {
    const status = await (await fetch(`${t.stack.console!.url}/api/v1/rollouts`)).json();
    const config = [...new Set(t.lines.map((l) => String(JSON.parse(l).event)))];
    throw new Error(
      `the canary's weight is ${canaryWeight(t)}, not ${weight}: ${JSON.stringify(status)}\n${config.join('\n')}`,
    );
  }
}

const canaryWeight = (t: TestStack) => {
  const docs = parseAllDocuments(readFileSync(t.configPath, 'utf8')).map((d) => d.toJS());
  const routes = docs.find((d) => d?.kind === 'RouteConfig').spec.routes as {
    name: string;
    weight: number;
  }[];
  return routes.find((r) => r.name === 'summarize-canary')!.weight;
};

/** `count` requests over 300 sticky sessions, 16 at a time, then the records into the store. */
async function traffic(t: TestStack, count: number): Promise<void> {
  const client = t.client();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++)
      await client.chat.completions.create(
        { model: 'summarize-model', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 2 },
        { headers: { 'x-session-id': `user-${i % 300}` } },
      );
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await t.stack.writer!.flush();
}

const rolloutEvents = (t: TestStack) =>
  t.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l.event).startsWith('rollout_'))
    .map((l) => `${l.event} ${l.to}`);

describe('automated canary progression through the local stack', () => {
  it('steps a healthy candidate 20 → 50 → 100 in the file, and the split follows each step', async () => {
    const t = await stack(20);
    await weightBecomes(t, 20, 10_000);
    // Traffic until the rollout completes: a step may pass while a wave is still under way.
    for (let wave = 0; wave < 10 && canaryWeight(t) < 100; wave++) await traffic(t, 300);
    await weightBecomes(t, 100, 10_000);
    expect(rolloutEvents(t)).toEqual(['rollout_advanced 20', 'rollout_advanced 50', 'rollout_completed 100']);
    // Each step was taken on requests the split of that step had sent to the candidate.
    const canaryShare = (from: number, to: number) => {
      const lines = t.requestLogs().slice(from, to);
      return lines.filter((l) => l.routeEntry === 'summarize-canary').length / lines.length;
    };
    expect(canaryShare(0, 300)).toBeGreaterThan(0.05);
    // The split in force is the file's: every request now goes to the candidate.
    await eventually(async () => {
      const { response } = await t
        .client()
        .chat.completions.create({
          model: 'summarize-model',
          messages: [{ role: 'user', content: 'x' }],
          max_tokens: 1,
        })
        .withResponse();
      const line = await t.logFor(response);
      return line.routeEntry === 'summarize-canary' ? true : undefined;
    }, 10_000);
    const status = (await (await fetch(`${t.stack.console!.url}/api/v1/rollouts`)).json()) as RolloutsAnswer;
    expect(status.data[0]).toMatchObject({ model: 'summarize-model', stage: 100, phase: 'completed' });
  }, 90_000);

  it('rolls a candidate five times slower to the first token back to 0 on its first step', async () => {
    const t = await stack(100);
    await weightBecomes(t, 20, 10_000);
    for (let wave = 0; wave < 6 && canaryWeight(t) > 0; wave++) await traffic(t, 300);
    await weightBecomes(t, 0, 10_000);
    expect(rolloutEvents(t)).toEqual(['rollout_advanced 20', 'rollout_rolled_back 0']);
    const status = (await (await fetch(`${t.stack.console!.url}/api/v1/rollouts`)).json()) as RolloutsAnswer;
    // The tick that rolled back, or a later one that keeps it there: either way with the gate's reason.
    expect(status.data[0]).toMatchObject({ stage: 0, phase: 'rolled-back' });
    expect(status.data[0]!.reason).toContain('ttftP90 of summarize-canary');
  }, 90_000);
});
