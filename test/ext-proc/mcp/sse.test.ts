import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser, sseMessage } from '../../../ext-proc/mcp/sse.ts';

const STREAM =
  ': keepalive\n\n' +
  'id: weather#1\r\nevent: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"Zürich ☀"}}\r\n\r\n' +
  'id: weather#2\ndata: \n\n' + // a priming event: an id, no data
  'data: {"a":\ndata: 1}\r\r' +
  'retry: 1500\nid: weather#3\ndata: last\n\n' +
  'data: never dispatched, the stream ends mid-event';

const EXPECTED = [
  {
    event: 'message',
    data: '{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"Zürich ☀"}}',
    id: 'weather#1',
    hasId: true,
  },
  { event: 'message', data: '', id: 'weather#2', hasId: true },
  { event: 'message', data: '{"a":\n1}', id: 'weather#2', hasId: false },
  { event: 'message', data: 'last', id: 'weather#3', hasId: true, retry: 1500 },
];

function parseInChunks(bytes: Buffer, cuts: number[]) {
  const parser = new SseParser();
  const events = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    events.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...parser.push(bytes.subarray(start)));
  parser.end();
  return events;
}

describe('SseParser', () => {
  it('reads events as the WHATWG event-stream algorithm does: CRLF, CR and LF, comments, ids, retry', () => {
    expect(parseInChunks(Buffer.from(STREAM), [])).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are split, inside characters and CRLFs too', () => {
    const bytes = Buffer.from(STREAM);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }), (cuts) => {
        expect(parseInChunks(bytes, cuts)).toEqual(EXPECTED);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a CR at the end of a chunk waiting for its LF across an empty chunk', () => {
    const bytes = Buffer.from('data: a\r\ndata: b\n\n');
    // Cut after the first CR, twice: the empty chunk in between must not forget the pending CR, or
    // its LF would read as a blank line and end the event after "a".
    expect(parseInChunks(bytes, [8, 8])).toEqual([
      { event: 'message', data: 'a\nb', id: undefined, hasId: false },
    ]);
  });

  it('round-trips what the gateway writes', () => {
    const text = sseMessage('{"x":1}', 'token-1') + sseMessage('{"y":2}');
    expect(parseInChunks(Buffer.from(text), [5, 17])).toEqual([
      { event: 'message', data: '{"x":1}', id: 'token-1', hasId: true },
      { event: 'message', data: '{"y":2}', id: 'token-1', hasId: false },
    ]);
  });
});
