import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../../../endpoint-picker/scheduling/presets.ts';
import { Scheduler } from '../../../../endpoint-picker/scheduling/scheduler.ts';
import {
  podNameFromSessionToken,
  SESSION_COOKIE_NAME,
  SESSION_TOKEN_HEADER,
  sessionAffinityScorer,
  sessionTokenFor,
  sessionTokenFromHeaders,
} from '../../../../endpoint-picker/scheduling/scorers/session-affinity.ts';
import type { PodState, SchedulingRequest } from '../../../../endpoint-picker/scheduling/types.ts';
import { pod, promptOf, request, scores } from '../fixtures.ts';

const pool = (): PodState[] =>
  ['a1', 'b2', 'c3', 'd4'].map((n) => pod(n, { waitingQueueSize: 1, kvCacheUsage: 0.3 }));

function primaryOf(scheduler: Scheduler, req: SchedulingRequest, pods: readonly PodState[]): string {
  const result = scheduler.schedule(req, pods);
  if (result.kind !== 'picked') throw new Error(`expected a pick, got ${result.kind}`);
  return result.primary;
}

describe('session tokens', () => {
  it('are the pod name in standard base64, as upstream encodes them', () => {
    expect(sessionTokenFor(pod('a1'))).toBe(Buffer.from('default/a1').toString('base64'));
    expect(sessionTokenFor('ns/pod-7')).toBe('bnMvcG9kLTc=');
    expect(podNameFromSessionToken('bnMvcG9kLTc=')).toBe('ns/pod-7');
  });

  it('that are not base64 designate no pod', () => {
    expect(podNameFromSessionToken('not a token!')).toBeUndefined();
    expect(podNameFromSessionToken('')).toBeUndefined();
    expect(podNameFromSessionToken('abc')).toBeUndefined();
  });

  it('are read from the x-session-token header, else from the llm-d-session cookie', () => {
    expect(SESSION_TOKEN_HEADER).toBe('x-session-token');
    expect(sessionTokenFromHeaders({ 'x-session-token': ' abc= ' })).toBe('abc=');
    expect(sessionTokenFromHeaders({ cookie: `theme=dark; ${SESSION_COOKIE_NAME}=ZGVm; x=1` })).toBe('ZGVm');
    expect(sessionTokenFromHeaders({ cookie: 'theme=dark' })).toBeUndefined();
    expect(sessionTokenFromHeaders({})).toBeUndefined();
  });
});

describe('session-affinity scorer', () => {
  it('scores 1 for the pod named by the token and 0 for the others', () => {
    const pods = pool();
    const req = request({ sessionToken: sessionTokenFor(pods[2]!) });
    expect(scores(sessionAffinityScorer(), req, pods)).toEqual([0, 0, 1, 0]);
  });

  it('falls back to the request headers when the token field is absent', () => {
    const pods = pool();
    const req = request({ headers: { 'x-session-token': sessionTokenFor(pods[1]!) } });
    expect(scores(sessionAffinityScorer(), req, pods)).toEqual([0, 1, 0, 0]);
  });

  it('scores 0 everywhere without a token, or with a token for a pod that is gone', () => {
    const pods = pool();
    expect(scores(sessionAffinityScorer(), request(), pods)).toEqual([0, 0, 0, 0]);
    expect(
      scores(sessionAffinityScorer(), request({ sessionToken: sessionTokenFor('default/gone') }), pods),
    ).toEqual([0, 0, 0, 0]);
  });
});

describe('session affinity with the ours profile', () => {
  it('keeps a session on its pod while the pod is healthy', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 3 });
    const pods = pool();
    const token = sessionTokenFor(pods[2]!);
    for (let turn = 0; turn < 20; turn++) {
      const req = request({
        requestId: `t${turn}`,
        prompt: promptOf(`turn-${turn}`, 3),
        sessionToken: token,
      });
      expect(primaryOf(scheduler, req, pods)).toBe('default/c3');
    }
  });

  it('keeps a conversation on its pod when that pod has a somewhat longer queue (prefix + session)', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 5 });
    let pods = pool();
    let conversation = promptOf('system', 6);
    const home = primaryOf(scheduler, request({ prompt: conversation }), pods);
    // The home pod now queues two more requests than the others.
    pods = pods.map((p) =>
      p.name === home ? pod(home.slice(8), { waitingQueueSize: 3, kvCacheUsage: 0.3 }) : p,
    );
    for (let turn = 0; turn < 5; turn++) {
      conversation += promptOf(`turn-${turn}`, 1);
      const req = request({
        requestId: `t${turn}`,
        prompt: conversation,
        sessionToken: sessionTokenFor(home),
      });
      expect(primaryOf(scheduler, req, pods)).toBe(home);
    }
  });

  it('moves the session when its pod goes stale, then keeps it on the new pod', () => {
    const scheduler = new Scheduler(PRESETS.ours, { seed: 4 });
    const pods = pool();
    pods[2] = pod('c3', { waitingQueueSize: 1, kvCacheUsage: 0.3 }, { stale: true });
    const moved = primaryOf(scheduler, request({ sessionToken: sessionTokenFor('default/c3') }), pods);
    expect(moved).not.toBe('default/c3');
    const token = sessionTokenFor(moved);
    for (let turn = 0; turn < 10; turn++) {
      const req = request({
        requestId: `t${turn}`,
        prompt: promptOf(`turn-${turn}`, 2),
        sessionToken: token,
      });
      expect(primaryOf(scheduler, req, pods)).toBe(moved);
    }
  });

  it('is stable across independently built schedulers (picker restarts and replicas)', () => {
    const pods = pool();
    const replicaA = new Scheduler(PRESETS.ours, { seed: 11 });
    const first = primaryOf(replicaA, request({ prompt: promptOf('hello', 3) }), pods);
    const token = sessionTokenFor(first);
    for (const seed of [12, 13, 14, 15]) {
      const replica = new Scheduler(PRESETS.ours, { seed }); // empty prefix index, other tie-breaks
      const req = request({
        requestId: `r${seed}`,
        prompt: promptOf(`follow-up-${seed}`, 3),
        sessionToken: token,
      });
      expect(primaryOf(replica, req, pods)).toBe(first);
    }
  });
});
