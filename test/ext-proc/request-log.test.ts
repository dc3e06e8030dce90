import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../analytics/record.ts';
import { requestLineWriter, requestMembers } from '../../ext-proc/request-log.ts';
import { isRedactedName } from '../../observability/logger.ts';
import { capturingLogger } from '../helpers/log-capture.ts';

/** Every field of the record, so a field added to RequestRecord must be added here (Required<>). */
const full: Required<RequestRecord> = {
  id: 'b3e1c0de-0000-4000-8000-00000000002a',
  time: 1_700_000_000_123,
  keyId: 'default/team-a',
  method: 'POST',
  path: '/v1/chat/completions',
  operation: 'chat.completions',
  routeConfig: 'default/default',
  routeEntry: 'chat-v1',
  decision: 'sticky-split',
  logicalModel: 'chat-model',
  resolvedModel: 'llama-3.1-8b-instruct',
  // A quote, a backslash, control and non-ASCII characters must survive the rename untouched.
  responseModel: 'quote " backslash \\ newline \n é 😀 \u0001',
  backend: 'default/sim-llama-v1',
  provider: 'openai',
  endpoint: '127.0.0.10:8000',
  attempts: [
    {
      backend: 'default/sim-llama-v1',
      status: 200,
      endpoint: '127.0.0.10:8000',
      picker: { total: 0.5, scores: { queue: 1 }, weights: { queue: 1 } },
      startMs: 1_700_000_000_124,
      endMs: 1_700_000_000_200,
    },
  ],
  status: 200,
  errorCode: 'none',
  stream: true,
  cancelled: false,
  latencyMs: 81.25,
  ttftMs: 12.5,
  tpotMs: 0.75,
  tokens: { prompt: 412, completion: 389, cached: 12, reasoning: 3 },
  costUsd: 0.000123,
  sessionHash: 'a1b2c3',
  traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  traceState: 'vendor=1',
};

/** What the line was before it was built from the record's JSON: a renamed copy, through pino. */
function viaPino(record: RequestRecord): Record<string, unknown> {
  const { logger, records } = capturingLogger();
  const { id, time, ...fields } = record;
  logger.info({ event: 'request', requestId: id, startedAt: time, ...fields }, 'request');
  return records()[0]!;
}

const withoutTime = (line: Record<string, unknown>) => {
  const { time: _time, ...rest } = line;
  return rest;
};

describe('the request log line', () => {
  it('has the members pino writes for the renamed record, in the same order', () => {
    const { logger, records } = capturingLogger();
    requestLineWriter(logger)(full);
    const [line] = records();
    const expected = viaPino(full);
    expect(withoutTime(line!)).toEqual(withoutTime(expected));
    expect(Object.keys(line!)).toEqual(Object.keys(expected));
    expect(Object.keys(line!).slice(0, 5)).toEqual(['level', 'time', 'event', 'requestId', 'startedAt']);
    expect(line).not.toHaveProperty('id');
  });

  it('writes a minimal record (no optional field) the same way', () => {
    const minimal: RequestRecord = {
      id: 'r1',
      time: 1,
      attempts: [],
      status: 499,
      stream: false,
      cancelled: true,
      latencyMs: 0,
    };
    const { logger, records } = capturingLogger();
    requestLineWriter(logger)(minimal);
    expect(withoutTime(records()[0]!)).toEqual(withoutTime(viaPino(minimal)));
  });

  it('copies a record whose members come in another order, rather than misreading its JSON', () => {
    const { status, ...rest } = full;
    const reordered: RequestRecord = { status, ...rest };
    const members = JSON.parse(`{${requestMembers(reordered)}}`) as Record<string, unknown>;
    expect(members.requestId).toBe(full.id);
    expect(members.startedAt).toBe(full.time);
    expect(members).not.toHaveProperty('id');
    expect(members).not.toHaveProperty('time');
    expect(Object.keys(members).slice(0, 3)).toEqual(['event', 'requestId', 'startedAt']);
  });

  it('has no field a redaction path names, which is why the line skips the redaction pass', () => {
    const names = [...Object.keys(full), 'event', 'requestId', 'startedAt'];
    expect(names.filter(isRedactedName)).toEqual([]);
    // The check itself sees the names it must.
    expect(['authorization', 'key', 'headers'].every(isRedactedName)).toBe(true);
  });

  it('goes through logger.info for a logger createLogger did not make', () => {
    const { logger, records } = capturingLogger();
    const child = logger.child({ component: 'c' });
    requestLineWriter(child)(full);
    expect(records()[0]).toMatchObject({ component: 'c', event: 'request', requestId: full.id });
  });
});
