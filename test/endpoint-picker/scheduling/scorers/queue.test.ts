import { describe, expect, it } from 'vitest';
import { queueScorer } from '../../../../endpoint-picker/scheduling/scorers/queue.ts';
import { pod, request, scores } from '../fixtures.ts';

describe('queue scorer', () => {
  it('orders pods by waiting queue, fewest first', () => {
    const pods = [
      pod('a', { waitingQueueSize: 7 }),
      pod('b', { waitingQueueSize: 0 }),
      pod('c', { waitingQueueSize: 3 }),
    ];
    const s = scores(queueScorer(), request(), pods);
    expect(s[1]).toBeGreaterThan(s[2]!);
    expect(s[2]).toBeGreaterThan(s[0]!);
  });

  it('normalises min–max across the candidates: (max − q) / (max − min), as the upstream queue scorer', () => {
    const pods = [
      pod('a', { waitingQueueSize: 10 }),
      pod('b', { waitingQueueSize: 2 }),
      pod('c', { waitingQueueSize: 4 }),
    ];
    expect(scores(queueScorer(), request(), pods)).toEqual([0, 1, (10 - 4) / 8]);
  });

  it('depends only on the spread, not on the absolute queue lengths', () => {
    const low = [pod('a', { waitingQueueSize: 0 }), pod('b', { waitingQueueSize: 1 })];
    const high = [pod('a', { waitingQueueSize: 100 }), pod('b', { waitingQueueSize: 101 })];
    expect(scores(queueScorer(), request(), low)).toEqual(scores(queueScorer(), request(), high));
  });

  it('gives every pod 1 when all queues are equal', () => {
    const pods = [pod('a', { waitingQueueSize: 5 }), pod('b', { waitingQueueSize: 5 })];
    expect(scores(queueScorer(), request(), pods)).toEqual([1, 1]);
  });

  it('scores a pod without metrics 0 and leaves it out of the range', () => {
    const pods = [pod('a', { waitingQueueSize: 4 }), pod('b', null), pod('c', { waitingQueueSize: 2 })];
    expect(scores(queueScorer(), request(), pods)).toEqual([0, 0, 1]);
  });
});
