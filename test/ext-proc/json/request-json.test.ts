import { describe, expect, it } from 'vitest';
import { AgentRouterError } from '../../../ext-proc/errors.ts';
import { requestJson } from '../../../ext-proc/json/request-json.ts';
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
