import { describe, expect, it } from 'vitest';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { MAX_DEPTH } from '../../../ext-proc/json/large-json.ts';
import { DEFAULT_REQUEST_JSON_OPTIONS, requestJson } from '../../../ext-proc/json/request-json.ts';
import { MARK_OPEN } from '../../../ext-proc/json/stand-ins.ts';

const LARGE = { largeBodyBytes: 1000, longStringBytes: 100 };
const text = 'Ligne « première » — "quoted" \\ 😀\n'.repeat(50);
const body = { model: 'm', messages: [{ role: 'user', content: text }] };
const raw = Buffer.from(JSON.stringify(body));

describe('a request body as JSON', () => {
  it('parses a small body the plain way', () => {
    const json = requestJson(raw, { largeBodyBytes: raw.length + 1, longStringBytes: 100 });
    expect(json.value()).toEqual(body);
    expect(json.encode(json.value()).toString()).toBe(JSON.stringify(body));
  });

  it('gives a large body stand-ins and encodes them back to the client’s bytes', () => {
    const json = requestJson(raw, LARGE);
    const value = json.value() as typeof body;
    expect(value.messages[0]!.content).toContain(MARK_OPEN);
    expect(value.messages[0]!.content.length).toBeLessThan(text.length);
    const out = json.encode({ ...value, model: 'provider-model' });
    expect(JSON.parse(out.toString())).toEqual({ ...body, model: 'provider-model' });
    expect(json.leaksStandIn(out)).toBe(false);
  });

  it('tells when a body built from stand-ins was serialised without encode', () => {
    const json = requestJson(raw, LARGE);
    const leaked = Buffer.from(JSON.stringify(json.value()));
    expect(json.leaksStandIn(leaked)).toBe(true);
  });

  it('parses only once, and refuses a body that is not JSON with a 400 invalid_json', () => {
    const json = requestJson(raw, LARGE);
    expect(json.value()).toBe(json.value());
    for (const options of [LARGE, undefined]) {
      const broken = requestJson(Buffer.concat([raw, Buffer.from('}')]), options);
      expect(() => broken.value()).toThrow(AgentRouterError);
      try {
        broken.value();
      } catch (error) {
        expect(error).toMatchObject({ status: 400, code: 'invalid_json' });
      }
    }
  });
});

/** The AgentRouterError parsing `raw` throws, or undefined when it parses. */
function refusal(body: Buffer, options?: Parameters<typeof requestJson>[1]): AgentRouterError | undefined {
  try {
    requestJson(body, options).value();
    return undefined;
  } catch (error) {
    if (error instanceof AgentRouterError) return error;
    throw error;
  }
}

/** A body of at least 256 KiB, the default large-body threshold: parsed with stand-ins. */
const LONG = 'A long user message with "quotes", \\ and é. '.repeat(6000);
const withMembers = (members: string) =>
  Buffer.from(`{${members},"messages":[{"role":"user","content":${JSON.stringify(LONG)}}]}`);

describe('a request body naming a top-level key twice', () => {
  const PATHS = [
    ['a small body', undefined],
    ['a large body', DEFAULT_REQUEST_JSON_OPTIONS],
  ] as const;

  it('is refused with a 400 duplicate_key on both parsing paths, keys compared after decoding', () => {
    const members = [
      ['"model":"chat-model","mod\\u0065l":"chat-model"', 'model'],
      ['"m\\u006Fdel":"a","model":"b"', 'model'],
      ['"model":"a","model":"b"', 'model'],
      ['"model":"m","stream":false,"\\u0073tream":true', 'stream'],
      ['"model":"m","a/b":1,"a\\/b":2', 'a/b'],
      ['"model":"m","\\ud83d\\ude00":1,"😀":2', '😀'],
    ] as const;
    for (const [label] of PATHS) {
      for (const [text, key] of members) {
        const body = label === 'a small body' ? Buffer.from(`{${text},"messages":[]}`) : withMembers(text);
        if (label === 'a large body') expect(body.length).toBeGreaterThanOrEqual(256 * 1024);
        const error = refusal(body);
        expect(error, `${label}: ${text}`).toMatchObject({
          status: 400,
          type: 'invalid_request_error',
          code: 'duplicate_key',
          param: key,
        });
      }
    }
    // A body that is also malformed is invalid_json, on either path, as JSON.parse alone would say.
    for (const body of [
      Buffer.from('{"model":"a","mod\\u0065l":"b",'),
      withMembers('"model":"a","model":"b"}'),
    ]) {
      expect(refusal(body)).toMatchObject({ status: 400, code: 'invalid_json' });
    }
  });

  it('is refused on the large path’s plain fallback too (a body the stand-ins cannot serve)', () => {
    // A noncharacter the stand-in markers use sends a large body through JSON.parse (large-json.ts).
    const body = withMembers(`"model":"chat-model","note":"\uFDD0","mod\\u0065l":"chat-model"`);
    expect(refusal(body)).toMatchObject({ status: 400, code: 'duplicate_key', param: 'model' });
  });
});

describe('a request body nested very deep', () => {
  /** A body whose messages[0].content is nested `levels` deep, counting the top-level object as 1. */
  const nested = (levels: number, pad = 0) => {
    const inner = levels - 4; // the object, messages, messages[0] and content's own bracket
    const content = `${'['.repeat(inner + 1)}"deep"${']'.repeat(inner + 1)}`;
    return Buffer.from(
      `{"model":"m","pad":${JSON.stringify('p'.repeat(pad))},"messages":[{"role":"user","content":${content}}]}`,
    );
  };

  it(`is refused past ${MAX_DEPTH} levels with a 400 invalid_json on both paths, as no serialiser could send it on (found by fuzzing)`, () => {
    for (const pad of [0, 300 * 1024]) {
      const label = pad === 0 ? 'small' : 'large';
      expect(refusal(nested(MAX_DEPTH + 1, pad)), label).toMatchObject({
        status: 400,
        code: 'invalid_json',
        message: `Request body is not valid JSON: JSON nested deeper than ${MAX_DEPTH} levels`,
      });
      const json = requestJson(nested(MAX_DEPTH, pad));
      expect(() => json.encode(json.value()), label).not.toThrow();
    }
    // What the fuzz sent: JSON.parse takes it, JSON.stringify of it overflowed the stack (a 500).
    expect(refusal(nested(6_000))).toMatchObject({ status: 400, code: 'invalid_json' });
  });
});
