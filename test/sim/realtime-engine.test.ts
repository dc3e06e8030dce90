import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../sim/engine/engine.ts';
import { RealTimeEngine } from '../../sim/realtime-engine.ts';

function collect(engine: RealTimeEngine, id: string, prompt: number[], maxTokens: number) {
  const events: EngineEvent[] = [];
  const done = new Promise<EngineEvent[]>((resolve) => {
    engine.submit(
      { id, promptTokens: prompt, maxTokens },
      {
        onEngineEvent(event) {
          events.push(event);
          if (event.type === 'finished') resolve(events);
        },
      },
    );
  });
  return done;
}

describe('RealTimeEngine', () => {
  it('runs steps back to back on its own timer, keeping the engine’s exact step times', async () => {
    const engine = new RealTimeEngine({
      prefillMsBase: 2,
      prefillMsPerToken: 0,
      decodeMsPerStepBase: 3,
      decodeMsPerStepPerSeq: 0,
    });
    try {
      const events = await collect(engine, 'a', [1, 2, 3], 4);
      expect(events.map((e) => e.type)).toEqual(['first_token', 'token', 'token', 'token', 'finished']);
      // However late the timer fires, each step starts when the last one ended, in engine time.
      const firstAt = events[0]!.atMs;
      const offsets = events.map((e) => Math.round((e.atMs - firstAt) * 1000) / 1000);
      expect(offsets).toEqual([0, 3, 6, 9, 9]);
      expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 0, finishedRequests: 1 });
    } finally {
      engine.close();
    }
  });

  it('delivers nothing more to a cancelled request, even from a listener mid-delivery', async () => {
    const engine = new RealTimeEngine({
      prefillMsBase: 0,
      prefillMsPerToken: 0,
      decodeMsPerStepBase: 0,
      decodeMsPerStepPerSeq: 0,
    });
    try {
      const seen: string[] = [];
      // Zero-cost steps: the whole answer is produced inside submit, so the cancel re-enters the engine.
      engine.submit(
        { id: 'a', promptTokens: [1], maxTokens: 10 },
        {
          onEngineEvent(event) {
            seen.push(event.type);
            if (event.outputTokens === 2) engine.cancel('a');
          },
        },
      );
      expect(seen).toEqual(['first_token', 'token']);
      const other = await collect(engine, 'b', [1], 2);
      expect(other.map((e) => e.type)).toEqual(['first_token', 'token', 'finished']);
    } finally {
      engine.close();
    }
  });
});
