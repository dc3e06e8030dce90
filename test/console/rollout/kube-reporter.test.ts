/**
 * The rollout controller's Kubernetes reporting against the list/watch test server (test/kube): the
 * rollouts' state merge-patched into status.rollouts beside the conditions ext-proc keeps there, and an
 * Event per transition; the status as stored passes the RouteConfig CRD's schema.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../../console/rollout/controller.ts';
import { kubeRolloutReporter } from '../../../console/rollout/kube-reporter.ts';
import { KubeApi } from '../../../kube/api.ts';
import { RESOURCES } from '../../../kube/resources.ts';
import { validatorFor } from '../../crds/project-crds.ts';
import { FakeApiServer } from '../../kube/fake-api-server.ts';
import { NS, route, routeConfig } from '../../kube/objects.ts';

const T0 = Date.UTC(2026, 11, 2, 12);
let fake: FakeApiServer;
beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.apply(
    routeConfig('chat', [
      { ...route('old', 'chat-model', 'openai'), weight: 80 },
      { ...route('new', 'chat-model', 'openai'), weight: 20 },
    ]),
  );
});
afterEach(async () => {
  await fake.close();
});

const status = (extra: Partial<RolloutStatus> = {}): RolloutStatus => ({
  routeConfig: `${NS}/chat`,
  model: 'chat-model',
  baseline: 'old',
  candidate: 'new',
  stage: 20,
  steps: [5, 20, 50, 100],
  phase: 'progressing',
  stepStartedAt: T0,
  decision: 'wait',
  reason: 'holding 20% for 300 s more',
  decidedAt: T0 + 1000,
  transitions: [],
  ...extra,
});

describe('Kubernetes rollout reporting', () => {
  it('merge-patches status.rollouts beside the conditions already there, once per change', async () => {
    const api = new KubeApi(fake.kubeConfig());
    await api.patchStatus(RESOURCES.RouteConfig, NS, 'chat', {
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'ok',
          lastTransitionTime: '2026-12-02T11:00:00Z',
        },
      ],
    });
    const reporter = kubeRolloutReporter(api);
    await reporter.statuses([status()]);
    // The next tick decides again (a new decidedAt) but nothing else changed: no write.
    await reporter.statuses([status({ decidedAt: T0 + 16_000 })]);
    expect(fake.statusWrites().length).toBe(2);
    const stored = fake.get('RouteConfig', NS, 'chat')!;
    expect(stored.status).toMatchObject({
      conditions: [{ type: 'Accepted' }],
      rollouts: [
        {
          model: 'chat-model',
          baseline: 'old',
          candidate: 'new',
          stage: 20,
          phase: 'Progressing',
          stepStartedAt: '2026-12-02T12:00:00Z',
          decision: 'wait',
          reason: 'holding 20% for 300 s more',
        },
      ],
    });
    expect(validatorFor(stored)!.admit(stored).errors).toEqual([]);
    await reporter.statuses([status({ stage: 50, decision: 'advance', reason: 'gates hold at 20%' })]);
    expect(fake.statusWrites().length).toBe(3);
  });

  it('reads back what it wrote, so a new leader knows a rollback and when the step began', async () => {
    const api = new KubeApi(fake.kubeConfig());
    await kubeRolloutReporter(api).statuses([
      status({ stage: 0, phase: 'rolled-back', decision: 'rollback', reason: 'ttftP90 +45% beyond 20%' }),
    ]);
    const restored = await kubeRolloutReporter(api).restore!();
    expect(restored.get(`${NS}/chat`)?.get('chat-model')).toEqual({
      stage: 0,
      since: T0,
      phase: 'rolled-back',
      reason: 'ttftP90 +45% beyond 20%',
    });
  });

  it('records a Normal event per step and a Warning per rollback, on the RouteConfig', async () => {
    const reporter = kubeRolloutReporter(new KubeApi(fake.kubeConfig()), () => T0);
    await reporter.transition(status({ stage: 50, decision: 'advance', reason: 'gates hold at 20%' }), 20);
    await reporter.transition(
      status({ stage: 0, phase: 'rolled-back', decision: 'rollback', reason: 'ttftP90 +45% beyond 20%' }),
      50,
    );
    const events = fake.all('Event');
    expect(events.map((e) => [e.type, e.reason, e.message])).toEqual([
      ['Normal', 'RolloutAdvanced', 'chat-model: new 20% → 50%: gates hold at 20%'],
      ['Warning', 'RolloutRolledBack', 'chat-model: new 50% → 0%: ttftP90 +45% beyond 20%'],
    ]);
    expect(events[0]).toMatchObject({
      metadata: { namespace: NS },
      involvedObject: {
        kind: 'RouteConfig',
        name: 'chat',
        namespace: NS,
        apiVersion: 'agentrouter.dev/v1alpha1',
      },
      reportingComponent: 'agent-router-console',
    });
  });
});
