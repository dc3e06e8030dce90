import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SseEvent, SseParser } from '../../../ext-proc/translate/sse.ts';
import { cuts, splitAt } from '../../fixtures/openai/chat-request.arbitrary.ts';

function parseAll(parts: Buffer[]): SseEvent[] {
  const parser = new SseParser();
  return [...parts.flatMap((p) => parser.push(p)), ...parser.end()];
}

const STREAM = Buffer.from(
  'event: message_start\r\ndata: {"a":1}\r\n\r\n: comment\r\ndata: line one\r\ndata: line two\r\n\r\nevent: ping\ndata: {}\n\ndata:no-space\r\rdata: é ✓\n\n',
);

describe('SSE parser', () => {
  it('parses events with CRLF, CR and LF line ends, comments and multi-line data', () => {
    expect(parseAll([STREAM])).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: 'message', data: 'line one\nline two' },
      { event: 'ping', data: '{}' },
      { event: 'message', data: 'no-space' },
      { event: 'message', data: 'é ✓' },
    ]);
  });

  it('gives the same events however the bytes are split, including between \\r and \\n and inside UTF-8', () => {
    const whole = parseAll([STREAM]);
    fc.assert(
      fc.property(cuts, (c) => {
        expect(parseAll(splitAt(STREAM, c))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
    expect(parseAll([...STREAM].map((b) => Buffer.from([b])))).toEqual(whole);
  });
});
