import { describe, expect, it } from 'vitest';
import { loadAwareScorer } from '../../../../endpoint-picker/scheduling/scorers/load-aware.ts';
import { pod, request, scores } from '../fixtures.ts';

describe('load-aware scorer', () => {
  it('scores 0.5 for an empty queue, falling linearly to 0 at the threshold', () => {
    const pods = [
      pod('a', { waitingQueueSize: 0 }),
      pod('b', { waitingQueueSize: 64 }),
      pod('c', { waitingQueueSize: 128 }),
      pod('d', { waitingQueueSize: 500 }),
    ];
    expect(scores(loadAwareScorer(), request(), pods)).toEqual([0.5, 0.25, 0, 0]);
  });

  it('takes its threshold from params', () => {
    expect(
      scores(loadAwareScorer({ threshold: 10 }), request(), [pod('a', { waitingQueueSize: 5 })]),
    ).toEqual([0.25]);
  });
});
