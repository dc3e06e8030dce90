import { describe, expect, it } from 'vitest';
import { inferencePool } from '../../bench/routing/pool.ts';
import { figures, routingReport } from '../../bench/routing/report.ts';
import { simulate } from '../../bench/routing/simulate.ts';
import { defaultSweepConfig, runSweep, type SweepConfig } from '../../bench/routing/sweep.ts';
import { type ChatTurn, generateWorkload, type WorkloadConfig } from '../../bench/routing/workload.ts';
import { PRESETS, Scheduler } from '../../endpoint-picker/scheduling/index.ts';
import { tokenize } from '../../sim/tokens.ts';

/** Small enough to simulate in a blink, with the benchmark's shape: long shared system prompts, many turns. */
const SMALL: WorkloadConfig = {
  seed: 7,
  systemPrompts: 3,
  systemPromptTokens: { min: 300, max: 600 },
  activeConversations: 24,
  turns: { min: 2, max: 5 },
  userTokens: { min: 10, max: 40 },
  answerTokens: { min: 5, max: 30 },
  ratePerSec: 20,
  requests: 200,
  warmupRequests: 24,
};

function byConversation(requests: readonly ChatTurn[]): Map<number, ChatTurn[]> {
  const out = new Map<number, ChatTurn[]>();
  for (const request of requests) {
    const turns = out.get(request.conversation) ?? [];
    turns.push(request);
    out.set(request.conversation, turns);
  }
  return out;
}

function sharedTokens(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

describe('routing workload', () => {
  it('is the same for the same seed, token for token, and differs for another seed', () => {
    const a = generateWorkload(SMALL);
    const b = generateWorkload(SMALL);
    expect(b.systemPrompts).toEqual(a.systemPrompts);
    expect(b.requests.map((r) => [r.id, r.arrivalMs, r.conversation, r.turn, r.prompt, r.maxTokens])).toEqual(
      a.requests.map((r) => [r.id, r.arrivalMs, r.conversation, r.turn, r.prompt, r.maxTokens]),
    );
    for (const [i, r] of b.requests.entries()) {
      expect(Array.from(r.promptTokens)).toEqual(Array.from(a.requests[i]!.promptTokens));
    }

    const other = generateWorkload({ ...SMALL, seed: 8 });
    expect(other.requests.map((r) => r.prompt)).not.toEqual(a.requests.map((r) => r.prompt));
  });

  it('gives each request the token ids of its prompt text', () => {
    for (const request of generateWorkload(SMALL).requests) {
      expect(Array.from(request.promptTokens)).toEqual(tokenize(request.prompt));
    }
  });

  it("extends each turn's prompt with the previous answer and a new user message", () => {
    const { requests, systemPrompts } = generateWorkload(SMALL);
    const conversations = byConversation(requests);
    let followUps = 0;
    for (const turns of conversations.values()) {
      const system = systemPrompts[turns[0]!.systemPrompt]!;
      for (const [k, turn] of turns.entries()) {
        expect(turn.prompt.startsWith(system)).toBe(true);
        if (k === 0) continue;
        const previous = turns[k - 1]!;
        expect(turn.turn).toBe(previous.turn + 1);
        expect(turn.prompt.startsWith(previous.prompt)).toBe(true);
        const added = turn.promptTokens.length - previous.promptTokens.length;
        // The previous answer (exactly its maxTokens) plus one user message.
        expect(added - previous.maxTokens).toBeGreaterThanOrEqual(SMALL.userTokens.min);
        expect(added - previous.maxTokens).toBeLessThanOrEqual(SMALL.userTokens.max);
        expect(sharedTokens(turn.promptTokens, previous.promptTokens)).toBe(previous.promptTokens.length);
        followUps++;
      }
    }
    expect(followUps).toBeGreaterThan(requests.length / 2);
  });

  it('shares exactly the system prompt between conversations on the same one', () => {
    const { requests, systemPrompts } = generateWorkload(SMALL);
    const firsts = [...byConversation(requests).values()].map((turns) => turns[0]!);
    const lengths = systemPrompts.map((text) => tokenize(text).length);
    for (const length of lengths) {
      expect(length).toBeGreaterThanOrEqual(SMALL.systemPromptTokens.min);
      expect(length).toBeLessThanOrEqual(SMALL.systemPromptTokens.max);
    }
    let pairs = 0;
    for (let i = 1; i < firsts.length; i++) {
      const a = firsts[i - 1]!;
      const b = firsts[i]!;
      const shared = sharedTokens(a.promptTokens, b.promptTokens);
      if (a.systemPrompt === b.systemPrompt) {
        // Then the user messages diverge within their header `<|user|> [<conversation>.<turn>]`, whose
        // first 8 characters (2 tokens) are the same for everyone.
        expect(shared - lengths[a.systemPrompt]!).toBeGreaterThanOrEqual(0);
        expect(shared - lengths[a.systemPrompt]!).toBeLessThanOrEqual(2);
        pairs++;
      } else {
        expect(shared).toBeLessThan(Math.min(...lengths));
      }
    }
    expect(pairs).toBeGreaterThan(0);
  });

  it('arrives as a Poisson process, each conversation a turn about every N arrivals', () => {
    const config = { ...SMALL, requests: 4000, activeConversations: 40 };
    const { requests } = generateWorkload(config);
    for (let i = 1; i < requests.length; i++) {
      expect(requests[i]!.arrivalMs).toBeGreaterThan(requests[i - 1]!.arrivalMs);
    }
    const meanGapMs = requests[requests.length - 1]!.arrivalMs / requests.length;
    expect(meanGapMs).toBeGreaterThan((1000 / config.ratePerSec) * 0.93);
    expect(meanGapMs).toBeLessThan((1000 / config.ratePerSec) * 1.07);
    // Exponential gaps: as many above the mean as e^-1 of them (0.368), not half as a regular clock would.
    let above = 0;
    for (let i = 1; i < requests.length; i++) {
      if (requests[i]!.arrivalMs - requests[i - 1]!.arrivalMs > meanGapMs) above++;
    }
    expect(above / requests.length).toBeGreaterThan(0.33);
    expect(above / requests.length).toBeLessThan(0.41);

    for (const turns of byConversation(requests).values()) {
      for (let k = 1; k < turns.length; k++) {
        expect(turns[k]!.index - turns[k - 1]!.index).toBeGreaterThanOrEqual((3 * 40) / 4);
      }
    }
    expect(requests.filter((r) => !r.measured)).toHaveLength(config.warmupRequests);
  });
});

describe('routing simulation', () => {
  const pods = inferencePool(3, true);
  const workload = generateWorkload({ ...SMALL, ratePerSec: 40 });
  const run = (preset: keyof typeof PRESETS) =>
    simulate({
      pods,
      scheduler: new Scheduler(PRESETS[preset], { seed: 1 }),
      requests: workload.requests,
      model: 'm',
    });

  it('finishes every submitted request with all its tokens, and leaves the engines empty', () => {
    for (const preset of ['round-robin', 'ours'] as const) {
      const result = run(preset);
      expect(result.outcomes).toHaveLength(workload.requests.length);
      for (const outcome of result.outcomes) {
        expect(Number.isFinite(outcome.firstTokenMs)).toBe(true);
        expect(outcome.finishedMs).toBeGreaterThanOrEqual(outcome.firstTokenMs);
        expect(outcome.outputTokens).toBe(outcome.request.maxTokens);
      }
      expect(result.atEnd.reduce((n, s) => n + s.finishedRequests, 0)).toBe(workload.requests.length);
      for (const snapshot of result.atEnd) expect(snapshot).toMatchObject({ running: 0, waiting: 0 });
    }
  });

  it('submits requests in arrival order, at their arrival time, and each pod serves them first come first served', () => {
    const result = run('ours');
    result.outcomes.forEach((outcome, i) => {
      expect(outcome.request).toBe(workload.requests[i]);
      expect(outcome.submittedMs).toBe(outcome.request.arrivalMs);
      expect(outcome.firstTokenMs).toBeGreaterThan(outcome.request.arrivalMs);
    });
    for (let pod = 0; pod < pods.length; pod++) {
      const firstTokens = result.outcomes.filter((o) => o.pod === pod).map((o) => o.firstTokenMs);
      expect(firstTokens.length).toBeGreaterThan(0);
      expect(firstTokens).toEqual([...firstTokens].sort((a, b) => a - b));
    }
  });

  it('sends round-robin to every pod in turn', () => {
    const result = run('round-robin');
    expect(result.outcomes.map((o) => o.pod)).toEqual(result.outcomes.map((_, i) => i % pods.length));
  });
});

describe('routing sweep', () => {
  const tiny = (seed: number): SweepConfig => ({
    ...defaultSweepConfig(seed, false),
    podCount: 2,
    heterogeneous: false,
    loadSteps: [0.4, 0.8],
    calibrationRounds: 2,
    workload: { ...SMALL, activeConversations: 10, requests: 50, warmupRequests: 10 },
  });

  it('gives identical results for the same seed', () => {
    const a = runSweep(tiny(3));
    const b = runSweep(tiny(3));
    expect(b.calibration).toEqual(a.calibration);
    expect(b.steps).toEqual(a.steps);
    expect(routingReport(b)).toBe(routingReport(a));
    expect(runSweep(tiny(4)).steps).not.toEqual(a.steps);
  });

  it('reports the p90 TTFT ratios against round-robin and the GIE default as JSON lines', () => {
    const sweep = runSweep(tiny(3));
    const report = routingReport(sweep);
    const lines = report
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { bench: string; value: number; unit: string });
    const names = lines.map((line) => line.bench);
    expect(names).toContain('routing.p90-ttft-vs-round-robin');
    expect(names).toContain('routing.p90-ttft-vs-gie-default');
    expect(lines).toEqual(figures(sweep).map((f) => ({ bench: f.name, value: f.value, unit: f.unit })));
    const step = sweep.steps.find((s) => s.fraction === 0.8)!;
    const p90 = (policy: string) => step.runs.find((r) => r.policy === policy)!.summary.ttftP90Ms;
    expect(lines.find((l) => l.bench === 'routing.p90-ttft-vs-gie-default')).toEqual({
      bench: 'routing.p90-ttft-vs-gie-default',
      value: p90('ours') / p90('gie-default'),
      unit: 'x',
    });
    expect(report).toMatch(/^(met {4}|NOT met) {2}p90 TTFT at 80% load: ours \/ round-robin <= 0\.6/m);
  });
});
