import { describe, expect, it } from 'vitest';
import { EndedSessions } from '../../../ext-proc/mcp/ended-sessions.ts';

describe('ended MCP sessions', () => {
  it('remembers ended ids and forgets the oldest once full', () => {
    const ended = new EndedSessions(2);
    expect(ended.has('id-a')).toBe(false);
    ended.add('id-a');
    ended.add('id-b');
    expect(ended.has('id-a') && ended.has('id-b')).toBe(true);
    ended.add('id-c');
    expect(ended.size).toBe(2);
    expect(ended.has('id-a')).toBe(false);
    expect(ended.has('id-b') && ended.has('id-c')).toBe(true);
  });

  it('keeps an id ended again as the newest', () => {
    const ended = new EndedSessions(2);
    ended.add('id-a');
    ended.add('id-b');
    ended.add('id-a');
    ended.add('id-c');
    expect(ended.has('id-a')).toBe(true);
    expect(ended.has('id-b')).toBe(false);
  });

  it('refuses a capacity below one', () => {
    expect(() => new EndedSessions(0)).toThrow(RangeError);
  });
});
